"""Box and click prompts of the classic backend: GrabCut on a downscaled ROI, guided upsampling.

A **box** (``x1, y1, x2, y2`` frame pixels, end exclusive) is answered by OpenCV GrabCut
initialised like ``GC_INIT_WITH_RECT`` (outside the box certain background, inside probable
object) on the ROI around the box (the box grown by ``box_margin`` of its longest side) resampled
so that its longest side is ``box_side`` pixels. Only the ROI's ring is the background sample: a
local background model separates better than the whole frame (measured on DAVIS frames, see
docs/classic.md). Include clicks are certain object, exclude clicks and the colour region grown
around them (:func:`.prompts.carve_region`) certain background. The low-resolution GrabCut mask
is upsampled to full resolution with a colour guided filter (:func:`.guided.upsample`).

A **click** without a box has no extent: :func:`click_boxes` makes square boxes centred on the
click with half-sides ``click_scales * sqrt(H * W)``, each answered as above with the click as
certain object and only the mask component that holds the click kept.

Finally :func:`enforce_points` makes the answer obey the clicks: an exclude click's pixel (and
the part of the mask connected to it inside its colour region) is removed, and with include
clicks only the components that hold one are kept.

Arrays: images ``uint8 (H, W, 3)`` BGR; alphas ``(roi_h, roi_w)`` float32 in ``[0, 1]`` over a
:data:`~.prompts.Rect` ROI (frame pixels); points ``(N, 2)`` float32 ``(x, y)`` frame pixels.
"""

from __future__ import annotations

from typing import Optional

import cv2
import numpy as np

from .config import ClassicConfig
from .guided import upsample
from .prompts import Grid, PromptSeeds, Rect, apply_hard, grid_for
from .refine import clean, colour_prob, grabcut, ring

__all__ = ["box_roi", "box_cut", "click_boxes", "enforce_points"]


def box_roi(rect: Rect, margin: float, w: int, h: int) -> Rect:
    """``rect`` grown by ``margin`` times its longest side plus 4 px on each side, clipped to ``w`` x ``h``."""
    m = int(margin * max(rect[2] - rect[0], rect[3] - rect[1])) + 4
    roi = (max(0, rect[0] - m), max(0, rect[1] - m), min(w, rect[2] + m), min(h, rect[3] + m))
    if roi[2] - roi[0] < 4 or roi[3] - roi[1] < 4:
        raise ValueError(f"the frame ({w}x{h}) is too small to segment: give an image of at least 4x4 pixels.")
    return roi


def box_cut(
    cfg: ClassicConfig, img: np.ndarray, lab_small: np.ndarray, seeds: PromptSeeds, clip_to_box: bool = True,
) -> tuple[Rect, np.ndarray, Grid, np.ndarray]:
    """GrabCut of the box ``seeds.box`` (+ clicks) on a downscaled ROI.

    Returns ``(roi, alpha, grid, seg)``: the ROI (frame pixels), the full-resolution soft mask
    ``(roi_h, roi_w)`` float32 in ``[0, 1]`` (inside: ``> 0.5``; zero outside the box when
    ``clip_to_box``), the working :class:`~.prompts.Grid` and its bool ``(gh, gw)`` mask.
    """
    rect = seeds.box
    roi = box_roi(rect, cfg.box_margin, seeds.w, seeds.h)
    grid = grid_for(roi, cfg.box_side, img)
    crop = grid.crop(img)
    gh, gw = crop.shape[:2]
    tri = np.full((gh, gw), cv2.GC_PR_FGD, np.uint8)
    # outside the box and the clicks are certain; the exclude clicks' colour regions are not
    # (they may hold similar-coloured object parts): enforce_points removes what they touch
    hard = PromptSeeds(seeds.pos, seeds.neg, [], seeds.box, seeds.prior, seeds.w, seeds.h)
    apply_hard(tri, grid, hard, lab_small, 0)
    if ((tri == cv2.GC_BGD) | (tri == cv2.GC_PR_BGD)).sum() < 16:
        # the box is the whole frame: nothing outside it to learn the background from
        ring(tri, 1, cv2.GC_BGD)
    seg = grabcut(crop, tri, cfg.box_iters)
    seg = clean(seg, tri, connected_only=len(seeds.pos) > 0)
    inbox = tri == cv2.GC_PR_FGD
    if seg.sum() < MIN_BOX_FILL * max(int(inbox.sum()), 1) and (~inbox).sum() >= 16:
        seg = _seeded_retry(crop, tri, inbox, cfg.box_iters, connected_only=len(seeds.pos) > 0)
    alpha = upsample(img, roi, crop, seg, cfg.guide_radius, cfg.guide_eps)
    if clip_to_box:
        x0, y0, x1, y1 = rect
        keep = np.zeros_like(alpha, bool)
        keep[max(0, y0 - roi[1]):y1 - roi[1], max(0, x0 - roi[0]):x1 - roi[0]] = True
        alpha[~keep] = 0.0
    return roi, alpha, grid, seg


#: a box answer covering less than this fraction of the box counts as GrabCut collapsing to the
#: background (it happens on textured scenes whose colours repeat inside and outside the box)
MIN_BOX_FILL = 0.03


def _seeded_retry(crop: np.ndarray, tri: np.ndarray, inbox: np.ndarray, iters: int,
                  connected_only: bool) -> np.ndarray:
    """GrabCut again with the box's most object-like colours as certain object.

    ``inbox`` bool ``(gh, gw)``: the unknown pixels of the box. A colour model of the box against
    its ring (:func:`.refine.colour_prob` as a mixture) marks the eroded core of ``p > 0.9`` as
    certain object and ``p <= 0.5`` as probable background, so the cut cannot collapse to empty.
    """
    prob = colour_prob(crop, inbox, ~inbox, mixture=True)
    seeded = tri.copy()
    seeded[inbox & (prob <= 0.5)] = cv2.GC_PR_BGD
    core = cv2.erode((prob > 0.9).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    if not (core & inbox).any():  # no colour stands out: the box's most object-like pixel
        core = np.zeros_like(inbox)
        core.flat[int(np.argmax(np.where(inbox, prob, -1.0)))] = True
    seeded[core & inbox] = cv2.GC_FGD
    return clean(grabcut(crop, seeded, iters), seeded, connected_only=connected_only)


def click_boxes(p: np.ndarray, scales: tuple[float, ...], w: int, h: int) -> list[Rect]:
    """Square :data:`~.prompts.Rect` boxes centred on click ``p`` with half-sides ``s * sqrt(w * h)``, clipped."""
    out = []
    for s in scales:
        r = max(4.0, s * np.sqrt(float(w * h)))
        out.append((max(0, int(p[0] - r)), max(0, int(p[1] - r)), min(w, int(np.ceil(p[0] + r))),
                    min(h, int(np.ceil(p[1] + r)))))
    return out


def enforce_points(
    alpha: np.ndarray, roi: Rect, pos: np.ndarray, neg: np.ndarray, neg_regions: list[Optional[np.ndarray]],
) -> np.ndarray:
    """Make a soft mask obey the clicks (in place and returned).

    ``neg_regions[i]`` is ``None`` or a bool ``(roi_h, roi_w)`` colour region of exclude click
    ``neg[i]`` on the ROI. The mask component connected to an exclude click *inside its region*
    is removed (with a 2-px disc around the click); with include clicks, only the mask
    components that hold one stay.
    """
    x0, y0 = roi[0], roi[1]
    rh, rw = alpha.shape
    hard = (alpha > 0.5).astype(np.uint8)
    for q, reg in zip(neg, neg_regions):
        qx, qy = int(q[0]) - x0, int(q[1]) - y0
        if not (0 <= qx < rw and 0 <= qy < rh):
            continue
        if hard[qy, qx] and reg is not None and reg[qy, qx]:
            part = (hard & reg.astype(np.uint8))
            _, cc = cv2.connectedComponents(part, connectivity=8)
            gone = cc == cc[qy, qx]
            alpha[gone] = 0.0
            hard[gone] = 0
        cv2.circle(alpha, (qx, qy), 2, 0.0, -1)
        cv2.circle(hard, (qx, qy), 2, 0, -1)
    inside = [(int(q[0]) - x0, int(q[1]) - y0) for q in pos]
    inside = [(x, y) for x, y in inside if 0 <= x < rw and 0 <= y < rh and hard[y, x]]
    if inside:
        _, cc = cv2.connectedComponents(hard, connectivity=8)
        other = ~np.isin(cc, sorted({int(cc[y, x]) for x, y in inside}))
        alpha[other] = np.minimum(alpha[other], 0.49)
    return alpha
