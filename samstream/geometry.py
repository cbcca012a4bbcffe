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

__all__ = ["mask_iou", "mask_box", "interior_point", "grow_box", "box_iou", "box_nms"]


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


def box_iou(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """IoU matrix ``(N, M)`` of ``x1, y1, x2, y2`` boxes (``x2``/``y2`` exclusive)."""
    a = np.asarray(boxes_a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(boxes_b, dtype=np.float64).reshape(-1, 4)
    area_a = np.clip(a[:, 2] - a[:, 0], 0, None) * np.clip(a[:, 3] - a[:, 1], 0, None)
    area_b = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    iw = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = iw * ih
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def box_nms(boxes: np.ndarray, scores: np.ndarray, iou_thresh: float) -> np.ndarray:
    """Greedy box NMS: indices of the kept boxes, highest score first.

    A box is dropped when its IoU with an already kept, higher-scoring box is above
    ``iou_thresh``. Ties in score keep the input order. Memory is ``O(N)`` (one row of IoUs
    per kept box), so thousands of boxes are fine.
    """
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if b.shape[0] != s.shape[0]:
        raise ValueError(f"{b.shape[0]} boxes but {s.shape[0]} scores: give one score per box.")
    order = np.argsort(-s, kind="stable")
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        if order.size == 1:
            break
        rest = order[1:]
        ious = box_iou(b[i], b[rest])[0]
        order = rest[ious <= iou_thresh]
    return np.asarray(keep, dtype=np.int64)


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
    # a one-pixel background border, so pixels on the frame edge count as boundary
    framed = cv2.copyMakeBorder(small, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    dist = cv2.distanceTransform(framed, cv2.DIST_L2, precise)[1:-1, 1:-1]
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


def affine_points(points: np.ndarray, m: np.ndarray) -> np.ndarray:
    """``(N, 2)`` pixel ``(x, y)`` points moved by a 2x3 affine matrix ``m`` (source -> target).

    Returns ``(N, 2)`` float32.
    """
    p = np.asarray(points, np.float64).reshape(-1, 2)
    return (p @ np.asarray(m, np.float64)[:, :2].T + np.asarray(m, np.float64)[:, 2]).astype(np.float32)


def affine_box(box: np.ndarray, m: np.ndarray, width: int, height: int) -> Optional[np.ndarray]:
    """The axis-aligned box around ``box`` (``x1, y1, x2, y2`` pixels) moved by the 2x3 affine ``m``,
    clipped to a ``width`` x ``height`` frame; ``None`` when less than a pixel of it stays inside.

    Returns ``(4,)`` float32 ``x1, y1, x2, y2``.
    """
    x1, y1, x2, y2 = (float(v) for v in box)
    c = affine_points(np.array([[x1, y1], [x2, y1], [x1, y2], [x2, y2]]), m)
    out = np.array([max(0.0, c[:, 0].min()), max(0.0, c[:, 1].min()),
                    min(float(width), c[:, 0].max()), min(float(height), c[:, 1].max())], np.float32)
    return out if out[2] - out[0] >= 1 and out[3] - out[1] >= 1 else None
