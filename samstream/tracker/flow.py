"""Dense optical flow (OpenCV DIS) on a downscaled grey frame, used to carry masks forward."""

from __future__ import annotations

import functools
from typing import Optional

import cv2
import numpy as np

__all__ = ["FlowField", "FlowEstimator", "grey_small", "warp_affine", "compose", "chain", "IDENTITY"]


def grey_small(image: np.ndarray, width: int) -> np.ndarray:
    """``uint8 (h, w)`` grey copy of a BGR frame, resized so its width is at most ``width``."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    h, w = grey.shape
    if w <= width:
        return grey.copy()
    return cv2.resize(grey, (width, max(1, int(round(h * width / w)))), interpolation=cv2.INTER_AREA)


@functools.lru_cache(maxsize=8)
def pixel_grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Read-only ``(h, w)`` float32 x and y pixel coordinates (cached: built once per frame size,
    not once per frame)."""
    gx = np.broadcast_to(np.arange(w, dtype=np.float32)[None, :], (h, w))
    gy = np.broadcast_to(np.arange(h, dtype=np.float32)[:, None], (h, w))
    return gx, gy


class FlowField:
    """Backward flow from a target frame to a source frame, at low resolution.

    ``warp(mask_in_source)`` returns the mask moved into the target frame: each target pixel
    takes the value at the position it came from.
    """

    def __init__(self, flow_small: np.ndarray, full_hw: tuple[int, int]):
        self.flow_small = flow_small
        self.full_hw = full_hw
        self._maps = None

    def _full_maps(self) -> tuple[np.ndarray, np.ndarray]:
        if self._maps is None:
            h, w = self.full_hw
            sh, sw = self.flow_small.shape[:2]
            flow = cv2.resize(self.flow_small, (w, h), interpolation=cv2.INTER_LINEAR)
            flow[..., 0] *= w / sw
            flow[..., 1] *= h / sh
            gx, gy = pixel_grid(h, w)
            self._maps = (gx + flow[..., 0], gy + flow[..., 1])
        return self._maps

    def release(self) -> None:
        """Drop the cached full-resolution maps (the low-res flow is kept)."""
        self._maps = None

    def warp_prob(self, prob: np.ndarray) -> np.ndarray:
        """Move a ``(H, W)`` float32 map (e.g. a soft mask in ``[0, 1]``) from the source frame into
        the target frame (bilinear; outside the source frame = 0)."""
        mx, my = self._full_maps()
        return cv2.remap(prob.astype(np.float32, copy=False), mx, my, cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=0)

    def warp(self, mask: np.ndarray) -> np.ndarray:
        """Move a ``(H, W)`` bool mask from the source frame into the target frame."""
        mx, my = self._full_maps()
        out = cv2.remap(mask.astype(np.uint8) * 255, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                        borderValue=0)
        return out >= 128

    def warp_rigid(self, mask: np.ndarray) -> tuple[np.ndarray, Optional[np.ndarray]]:
        """Move a mask with :meth:`rigid_transform`; ``(moved mask, 2x3 matrix or None)``.

        Falls back to the dense :meth:`warp` (matrix ``None``) when no transform is found.
        """
        m = self.rigid_transform(mask)
        if m is None:
            return self.warp(mask), None
        return warp_affine(mask, m), m

    def rigid_transform(self, mask: np.ndarray, max_points: int = 600) -> Optional[np.ndarray]:
        """The similarity transform (RANSAC, 2x3, full-res pixels, source -> target) that best
        explains the flow inside ``mask``; ``None`` if too few reliable points.

        Dense flow is smoothed across object boundaries, so a dense warp drags background along and
        lags behind fast objects; the flow *inside* the object is reliable.
        """
        h, w = self.full_hw
        sh, sw = self.flow_small.shape[:2]
        sx, sy = sw / w, sh / h
        small = cv2.resize(mask.astype(np.uint8), (sw, sh), interpolation=cv2.INTER_NEAREST)
        small = cv2.erode(small, np.ones((3, 3), np.uint8))
        # target pixels whose source position falls inside the (eroded) object
        fx, fy = self.flow_small[..., 0], self.flow_small[..., 1]
        gx, gy = pixel_grid(sh, sw)
        srcx, srcy = gx + fx, gy + fy
        ix = np.clip(np.round(srcx).astype(np.int32), 0, sw - 1)
        iy = np.clip(np.round(srcy).astype(np.int32), 0, sh - 1)
        inside = small[iy, ix] > 0
        ys, xs = np.nonzero(inside)
        if ys.size < 12:
            return None
        if ys.size > max_points:
            pick = np.linspace(0, ys.size - 1, max_points).astype(np.int64)
            ys, xs = ys[pick], xs[pick]
        src = np.stack([srcx[ys, xs] / sx, srcy[ys, xs] / sy], 1).astype(np.float32)
        dst = np.stack([xs / sx, ys / sy], 1).astype(np.float32)
        m, inl = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=2.0 / min(sx, sy))
        if m is None or inl is None or inl.sum() < 8:
            return None
        # per-frame scale/rotation are small and noisy; shrink them toward identity so they do not
        # compound into drift over many frames (translation is kept exactly at the object centre)
        scale = float(np.hypot(m[0, 0], m[1, 0]))
        angle = float(np.arctan2(m[1, 0], m[0, 0]))
        scale, angle = 1.0 + DAMPING * (scale - 1.0), DAMPING * angle
        c = src[inl[:, 0] > 0].mean(0)
        tc = m[:, :2] @ c + m[:, 2]
        r = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        return np.hstack([r, (tc - r @ c)[:, None]])


# fraction of each frame's estimated scale change and rotation that is applied (see rigid_transform)
DAMPING = 0.5


def warp_affine(mask: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Move a ``(H, W)`` bool mask by a 2x3 affine matrix (source -> target pixels)."""
    h, w = mask.shape
    out = cv2.warpAffine(mask.astype(np.uint8) * 255, m, (w, h), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return out >= 128


def compose(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The 2x3 affine ``a`` after ``b``."""
    return (np.vstack([a, [0, 0, 1]]) @ np.vstack([b, [0, 0, 1]]))[:2]


IDENTITY = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


def chain(fields: list["FlowField"]) -> "FlowField":
    """One backward flow equal to following ``fields`` in turn, newest first.

    ``fields[0]`` maps frame ``n`` back to ``n-1``, ``fields[1]`` maps ``n-1`` back to ``n-2``, ...
    The result maps frame ``n`` straight back to the oldest frame, so a mask of that frame is moved
    to ``n`` with a single interpolation (no blur or rounding build-up over the chain). Composed at
    the flows' low resolution (all must share it).
    """
    if not fields:
        raise ValueError("chain() needs at least one FlowField.")
    total = fields[0].flow_small.copy()
    sh, sw = total.shape[:2]
    gx, gy = pixel_grid(sh, sw)
    for f in fields[1:]:
        if f.flow_small.shape != total.shape:
            raise ValueError("chain(): flows of different sizes cannot be composed.")
        # position reached so far, then the older flow sampled there
        step = cv2.remap(f.flow_small, gx + total[..., 0], gy + total[..., 1], cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE)
        total += step
    return FlowField(total, fields[0].full_hw)


class FlowEstimator:
    """One DIS instance (not thread-safe: one per tracker) computing :class:`FlowField` objects."""

    def __init__(self, preset: int = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM, params: Optional[dict] = None):
        """``preset``: an OpenCV DIS preset; ``params`` overrides its settings by name
        (``finest_scale``, ``patch_size``, ``patch_stride``, ``gd_iterations``, ``vr_iterations``)."""
        self._dis = cv2.DISOpticalFlow_create(preset)
        setters = {"finest_scale": self._dis.setFinestScale, "patch_size": self._dis.setPatchSize,
                   "patch_stride": self._dis.setPatchStride, "gd_iterations": self._dis.setGradientDescentIterations,
                   "vr_iterations": self._dis.setVariationalRefinementIterations}
        for k, v in (params or {}).items():
            if k not in setters:
                raise ValueError(f"unknown DIS setting {k!r}; use one of {sorted(setters)}.")
            setters[k](int(v))
        self._last: Optional[np.ndarray] = None

    def __call__(self, target_small: np.ndarray, source_small: np.ndarray, full_hw: tuple[int, int],
                 warm_start: bool = False) -> FlowField:
        """Flow from ``target`` back to ``source`` (grey, same low-res size).

        ``warm_start`` starts from the previous consecutive-frame flow (motion continues), which
        lets the fast presets follow large, steady motion.
        """
        init = None
        if warm_start and self._last is not None and self._last.shape[:2] == target_small.shape:
            init = self._last.copy()
        flow = self._dis.calc(target_small, source_small, init)
        if warm_start:
            self._last = flow
        return FlowField(flow, full_hw)
