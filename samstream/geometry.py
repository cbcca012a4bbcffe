"""Mask and box geometry: the one home for IoU, mask -> box, interior point and box growth.

Used by the tracker, evaluation, sinks, UIs and tests. Conventions (see :mod:`samstream.types`):
masks are ``(H, W)`` bool in frame pixels; boxes are ``(4,)`` float32 ``x1, y1, x2, y2`` with
``x2``/``y2`` exclusive (``x2 = last column + 1``); points are ``(x, y)`` pixels.

Only numpy is imported at module level (OpenCV is imported inside the functions that need it),
so :mod:`samstream.types` can use :func:`mask_box` and stay light.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

__all__ = ["mask_iou", "mask_box", "interior_point", "grow_box", "box_iou"]


def mask_iou(a: np.ndarray, b: np.ndarray, empty: float = 1.0) -> float:
    """Intersection over union of two ``(H, W)`` masks (any dtype; non-zero = inside).

    Args:
        a, b: masks of the same shape.
        empty: the value returned when both masks are empty (DAVIS counts that as a match: 1.0).

    Raises ``ValueError`` when the shapes differ.
    """
    a = np.asarray(a, dtype=bool)
    b = np.asarray(b, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"mask_iou: masks have different shapes {a.shape} and {b.shape}.")
    union = np.count_nonzero(a | b)
    return float(np.count_nonzero(a & b)) / union if union else float(empty)


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two ``(4,)`` ``x1, y1, x2, y2`` boxes (pixels); 0.0 when both are empty."""
    ax1, ay1, ax2, ay2 = (float(v) for v in a)
    bx1, by1, bx2, by2 = (float(v) for v in b)
    iw = max(0.0, min(ax2, bx2) - max(ax1, bx1))
    ih = max(0.0, min(ay2, by2) - max(ay1, by1))
    inter = iw * ih
    union = max(0.0, ax2 - ax1) * max(0.0, ay2 - ay1) + max(0.0, bx2 - bx1) * max(0.0, by2 - by1) - inter
    return inter / union if union > 0 else 0.0


def mask_box(mask: np.ndarray) -> Optional[np.ndarray]:
    """``(4,)`` float32 ``x1, y1, x2, y2`` around a ``(H, W)`` mask (``x2``/``y2`` exclusive), or
    ``None`` when the mask is empty."""
    m = np.asarray(mask, dtype=bool)
    ys = np.flatnonzero(m.any(axis=1))
    if ys.size == 0:
        return None
    xs = np.flatnonzero(m.any(axis=0))
    return np.array([xs[0], ys[0], xs[-1] + 1, ys[-1] + 1], dtype=np.float32)


def interior_point(mask: np.ndarray, max_side: Optional[int] = None) -> Optional[np.ndarray]:
    """``(2,)`` float32 ``(x, y)``: the mask pixel farthest from the mask's edge, or ``None`` if empty.

    Euclidean distance transform; the image border counts as an edge (the mask is padded with
    background); ties go to the first pixel in row-major order.

    Args:
        mask: ``(H, W)`` mask.
        max_side: when given, the distance transform runs on a copy downscaled so its longer
            side is at most this many pixels (fast, for per-frame use); the point is mapped back
            to full-resolution pixels (the centre of the downscaled cell).
    """
    import cv2

    m = np.asarray(mask, dtype=bool)
    h, w = m.shape
    s = 1.0 if max_side is None else min(1.0, float(max_side) / max(h, w))
    if s < 1.0:
        small = cv2.resize(m.astype(np.uint8), (max(1, int(w * s)), max(1, int(h * s))),
                           interpolation=cv2.INTER_NEAREST)
    else:
        small = m.astype(np.uint8)
    if not small.any():
        return None
    precise = cv2.DIST_MASK_PRECISE if s == 1.0 else 3
    dist = cv2.distanceTransform(np.pad(small, 1), cv2.DIST_L2, precise)[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    if s == 1.0:
        return np.array([x, y], dtype=np.float32)
    return np.array([min(w - 1, (x + 0.5) / s), min(h - 1, (y + 0.5) / s)], dtype=np.float32)


def grow_box(box: np.ndarray, factor: float, width: int, height: int) -> np.ndarray:
    """Scale a box about its centre by ``factor`` and clip it to a ``width`` x ``height`` frame.

    Returns ``(4,)`` float32 ``x1, y1, x2, y2``.
    """
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    bw, bh = (box[2] - box[0]) * factor, (box[3] - box[1]) * factor
    return np.array([max(0, cx - bw / 2), max(0, cy - bh / 2), min(width, cx + bw / 2), min(height, cy + bh / 2)],
                    np.float32)
