"""Prompt handling of the classic backend: points / box / mask -> seeds on a working grid.

A checked prompt (frame pixels) becomes :class:`PromptSeeds`: include / exclude clicks, the
colour regions carved out around exclude clicks, a box rectangle and a mask prior. A
:class:`Grid` is a region of interest (ROI) of the frame resampled to a working size; seeds are
written into GrabCut trimaps on such a grid by :func:`apply_hard`.

Conventions: ``Rect`` is ``(x0, y0, x1, y1)`` int frame pixels, end exclusive; points are
``(x, y)`` float32 frame pixels; the embedding's "small grid" is the ``small_lab`` image of
:func:`small_lab` (longest side ``<= SMALL_SIDE``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import cv2
import numpy as np

from ...geometry import mask_box

__all__ = ["Rect", "SMALL_SIDE", "FLOOD_TOL", "PromptSeeds", "Grid", "small_lab", "box_rect", "mask_rect",
           "point_rect", "inside", "roi_around", "grid_for", "apply_hard", "click_region", "carve_region"]

Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 in frame pixels, end exclusive

#: side (pixels) of the smoothed Lab copy stored in the embedding (for click regions)
SMALL_SIDE = 256
#: Lab flood-fill tolerances (L, a, b in OpenCV's 8-bit Lab) of the tight / medium click regions
FLOOD_TOL = ((8, 5, 5), (14, 8, 8))


@dataclass
class PromptSeeds:
    """The checked prompt of one object, in frame pixels.

    Attributes:
        pos: ``(P, 2)`` float32 include clicks ``(x, y)``.
        neg: ``(N, 2)`` float32 exclude clicks ``(x, y)``.
        neg_carve: per exclude click, the bool ``(h_s, w_s)`` region (small grid) it excludes,
            or ``None`` (only the click itself is excluded).
        box: the box prompt as a :data:`Rect`, or ``None``.
        prior: ``(H, W)`` bool mask prior (from ``mask_input``), or ``None``.
        w, h: frame width and height, pixels.
    """

    pos: np.ndarray
    neg: np.ndarray
    neg_carve: list
    box: Optional[Rect]
    prior: Optional[np.ndarray]
    w: int
    h: int


class Grid:
    """A ROI of the frame resampled by ``scale`` (<= 1): grid pixel ``g`` covers frame ``x0 + g / sx``."""

    def __init__(self, roi: Rect, scale: float, frame_wh: tuple[int, int]) -> None:
        self.roi = roi
        self.frame_wh = frame_wh
        x0, y0, x1, y1 = roi
        self.gw = max(1, int(round((x1 - x0) * scale)))
        self.gh = max(1, int(round((y1 - y0) * scale)))
        self.sx = self.gw / float(x1 - x0)
        self.sy = self.gh / float(y1 - y0)
        self.scale = min(self.sx, self.sy)

    @property
    def size(self) -> tuple[int, int]:
        """``(gw, gh)``: grid width and height (OpenCV's ``dsize`` order)."""
        return (self.gw, self.gh)

    def crop(self, img: np.ndarray) -> np.ndarray:
        """The ROI of ``img`` (``(H, W, ...)``) resampled to ``(gh, gw, ...)`` (area interpolation)."""
        x0, y0, x1, y1 = self.roi
        c = img[y0:y1, x0:x1]
        if (self.gw, self.gh) == (x1 - x0, y1 - y0):
            return np.ascontiguousarray(c)
        return cv2.resize(c, (self.gw, self.gh), interpolation=cv2.INTER_AREA)

    def crop_small(self, small_mask: np.ndarray, small_shape: tuple) -> np.ndarray:
        """A bool mask on the embedding's small grid ``(h_s, w_s)`` -> float32 ``(gh, gw)`` on this grid."""
        x0, y0 = self.roi[0], self.roi[1]
        sh, sw = small_shape[:2]
        fw, fh = self.frame_wh
        kx, ky = sw / float(fw), sh / float(fh)
        # grid pixel centre (g + 0.5) -> frame x0 + (g + 0.5) / s -> small (.) * k - 0.5
        m = np.array(
            [[kx / self.sx, 0.0, (x0 + 0.5 / self.sx) * kx - 0.5],
             [0.0, ky / self.sy, (y0 + 0.5 / self.sy) * ky - 0.5]],
            np.float64,
        )
        return cv2.warpAffine(
            small_mask.astype(np.float32), m, (self.gw, self.gh),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT, borderValue=0.0,
        )

    def contains(self, p: np.ndarray) -> bool:
        """Whether frame point ``(x, y)`` lies in the ROI."""
        x0, y0, x1, y1 = self.roi
        return x0 <= float(p[0]) <= x1 and y0 <= float(p[1]) <= y1

    def to_grid(self, p: np.ndarray) -> tuple[int, int]:
        """Frame point ``(x, y)`` -> grid pixel ``(gx, gy)``, clipped to the grid."""
        x0, y0 = self.roi[0], self.roi[1]
        gx = int(np.clip((float(p[0]) - x0) * self.sx, 0, self.gw - 1))
        gy = int(np.clip((float(p[1]) - y0) * self.sy, 0, self.gh - 1))
        return gx, gy

    def rect_to_grid(self, r: Rect) -> Rect:
        """Frame :data:`Rect` -> grid rect (floor / ceil, clipped to the grid)."""
        x0, y0 = self.roi[0], self.roi[1]
        return (
            int(np.clip(np.floor((r[0] - x0) * self.sx), 0, self.gw)),
            int(np.clip(np.floor((r[1] - y0) * self.sy), 0, self.gh)),
            int(np.clip(np.ceil((r[2] - x0) * self.sx), 0, self.gw)),
            int(np.clip(np.ceil((r[3] - y0) * self.sy), 0, self.gh)),
        )


def small_lab(img: np.ndarray) -> np.ndarray:
    """``uint8 (H, W, 3)`` BGR -> ``uint8`` bilateral-smoothed Lab, longest side <= :data:`SMALL_SIDE`."""
    h, w = img.shape[:2]
    s = min(1.0, SMALL_SIDE / float(max(h, w)))
    small = img if s >= 1.0 else cv2.resize(
        img, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA
    )
    return cv2.cvtColor(cv2.bilateralFilter(small, 5, 20, 5), cv2.COLOR_BGR2LAB)


def box_rect(box: np.ndarray, w: int, h: int) -> Rect:
    """``(4,)`` float box ``x1, y1, x2, y2`` -> :data:`Rect` (floor / ceil, clipped to a ``w`` x ``h`` frame)."""
    x0 = int(np.clip(np.floor(box[0]), 0, w))
    y0 = int(np.clip(np.floor(box[1]), 0, h))
    x1 = int(np.clip(np.ceil(box[2]), 0, w))
    y1 = int(np.clip(np.ceil(box[3]), 0, h))
    return (x0, y0, x1, y1)


def mask_rect(m: np.ndarray) -> Rect:
    """:data:`Rect` around a non-empty ``(h, w)`` bool mask (:func:`samstream.geometry.mask_box`)."""
    x0, y0, x1, y1 = mask_box(m)
    return (int(x0), int(y0), int(x1), int(y1))


def point_rect(p: np.ndarray, r: int = 3) -> Rect:
    """The ``(2r + 1)``-pixel square :data:`Rect` around point ``(x, y)``."""
    return (int(p[0]) - r, int(p[1]) - r, int(p[0]) + r + 1, int(p[1]) + r + 1)


def inside(hard: np.ndarray, roi: Rect, p: np.ndarray) -> bool:
    """Whether frame point ``p`` falls on a true pixel of ``hard`` (a bool mask of the ROI ``roi``)."""
    x = int(p[0]) - roi[0]
    y = int(p[1]) - roi[1]
    if 0 <= y < hard.shape[0] and 0 <= x < hard.shape[1]:
        return bool(hard[y, x])
    return False


def roi_around(rects: list, seeds: PromptSeeds, frac: float, min_margin: float = 8.0) -> Rect:
    """Union of ``rects`` grown by ``frac`` of its longest side (at least ``min_margin`` px), clipped."""
    x0 = min(r[0] for r in rects)
    y0 = min(r[1] for r in rects)
    x1 = max(r[2] for r in rects)
    y1 = max(r[3] for r in rects)
    m = int(max(frac * max(x1 - x0, y1 - y0), min_margin))
    roi = (max(0, x0 - m), max(0, y0 - m), min(seeds.w, x1 + m), min(seeds.h, y1 + m))
    if roi[2] - roi[0] < 4 or roi[3] - roi[1] < 4:
        raise ValueError(
            f"the frame ({seeds.w}x{seeds.h}) is too small to segment: give an image of at least 4x4 pixels."
        )
    return roi


def grid_for(roi: Rect, side: int, img: np.ndarray) -> Grid:
    """The :class:`Grid` of ``roi`` with its longest side at most ``side`` pixels (never upscaled)."""
    scale = min(1.0, side / float(max(roi[2] - roi[0], roi[3] - roi[1])))
    return Grid(roi, scale, (img.shape[1], img.shape[0]))


def apply_hard(tri: np.ndarray, grid: Grid, seeds: PromptSeeds, lab_small: np.ndarray, band: int) -> None:
    """Write the certain labels (box outside, clicks, exclude regions) into a ``(gh, gw)`` uint8 trimap in place.

    With a mask prior the box's outside starts ``max(1, band // 2)`` grid pixels beyond the box.
    """
    gh, gw = tri.shape
    if seeds.box is not None:
        bx0, by0, bx1, by1 = grid.rect_to_grid(seeds.box)
        m = max(1, band // 2) if seeds.prior is not None else 0
        outside = np.ones((gh, gw), bool)
        outside[max(0, by0 - m):by1 + m, max(0, bx0 - m):bx1 + m] = False
        tri[outside] = cv2.GC_BGD
    r = max(1, int(round(0.015 * max(gh, gw))))
    for carve in seeds.neg_carve:
        if carve is not None:
            tri[grid.crop_small(carve, lab_small.shape) > 0.5] = cv2.GC_BGD
    for pts, label in ((seeds.neg, cv2.GC_BGD), (seeds.pos, cv2.GC_FGD)):
        for p in pts:
            if grid.contains(p):
                cv2.circle(tri, grid.to_grid(p), r, int(label), -1)


def click_region(lab_small: np.ndarray, p: np.ndarray, level: int, w: int, h: int) -> np.ndarray:
    """Colour-similar region grown from click ``p`` (frame pixels) on the small Lab image: bool ``(h_s, w_s)``.

    Flood fill with the tolerances ``FLOOD_TOL[level]`` (0 tight, 1 medium), closed by a 3x3
    kernel; a region leaking over 60% of the image is cut to a local window around the click.
    """
    sh, sw = lab_small.shape[:2]
    sx = min(sw - 1, max(0, int(p[0] * sw / w)))
    sy = min(sh - 1, max(0, int(p[1] * sh / h)))
    tol = FLOOD_TOL[level]
    ff = np.zeros((sh + 2, sw + 2), np.uint8)
    flags = 4 | cv2.FLOODFILL_MASK_ONLY | cv2.FLOODFILL_FIXED_RANGE | (1 << 8)
    cv2.floodFill(lab_small, ff, (sx, sy), 0, tol, tol, flags)
    reg = ff[1:-1, 1:-1] > 0
    reg = cv2.morphologyEx(reg.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8)) > 0
    if reg.sum() > 0.6 * sh * sw:  # leaked into the whole frame: keep a local window
        rr = max(3, int(0.12 * min(sh, sw)))
        win = np.zeros_like(reg)
        win[max(0, sy - rr):sy + rr + 1, max(0, sx - rr):sx + rr + 1] = True
        reg &= win
    return reg


def carve_region(lab_small: np.ndarray, p: np.ndarray, pos: np.ndarray, w: int, h: int) -> Optional[np.ndarray]:
    """Region (bool, small grid) to exclude around exclude click ``p``.

    The medium colour region around the click; the tight one when the medium one reaches an
    include click of ``pos``; ``None`` when even that does (same colour: only the click itself
    is excluded then).
    """
    sh, sw = lab_small.shape[:2]
    for lvl in (1, 0):
        reg = click_region(lab_small, p, lvl, w, h)
        hit = False
        for q in pos:
            qx = min(sw - 1, int(q[0] * sw / w))
            qy = min(sh - 1, int(q[1] * sh / h))
            hit |= bool(reg[max(0, qy - 1):qy + 2, max(0, qx - 1):qx + 2].any())
        if not hit:
            return reg
    return None
