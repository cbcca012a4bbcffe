"""The DAVIS measures: region similarity J (IoU) and boundary accuracy F.

Masks are ``(H, W)`` arrays in frame pixels (any dtype; non-zero = inside); scores are floats
in ``[0, 1]``. See :func:`boundary_prf` for the exact F definition and the empty-mask conventions.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from ..geometry import mask_iou

__all__ = ["region_similarity", "boundary_map", "boundary_tolerance", "boundary_prf", "boundary_f",
           "DEFAULT_BOUND_TH"]

DEFAULT_BOUND_TH = 0.008


def _as_bool(mask: object, name: str) -> np.ndarray:
    m = np.asarray(mask)
    if m.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (H, W) mask, got shape {m.shape}.")
    return m.astype(bool, copy=False)


def _pair(pred: object, gt: object) -> tuple[np.ndarray, np.ndarray]:
    p, g = _as_bool(pred, "pred"), _as_bool(gt, "gt")
    if p.shape != g.shape:
        raise ValueError(f"prediction {p.shape} and ground truth {g.shape} differ in size.")
    return p, g


def region_similarity(pred: object, gt: object) -> float:
    """DAVIS region similarity J: ``|pred & gt| / |pred | gt|``; 1.0 when both are empty."""
    p, g = _pair(pred, gt)
    return mask_iou(p, g, empty=1.0)


def boundary_map(mask: object) -> np.ndarray:
    """The 1-pixel boundary of a binary mask, as the DAVIS toolkit's ``seg2bmap`` defines it.

    A pixel is on the boundary when it differs from its right, lower or lower-right neighbour
    (so the outline of a filled square ``[a..b]x[a..b]`` is the square ring ``[a-1..b]``). In
    the last column only the lower neighbour counts, in the last row only the right one, and
    the bottom-right pixel is never a boundary: the image border itself is not a boundary.
    """
    s = _as_bool(mask, "mask")
    right = np.zeros_like(s)
    right[:, :-1] = s[:, 1:]
    down = np.zeros_like(s)
    down[:-1, :] = s[1:, :]
    diag = np.zeros_like(s)
    diag[:-1, :-1] = s[1:, 1:]
    b = (s ^ right) | (s ^ down) | (s ^ diag)
    b[-1, :] = s[-1, :] ^ right[-1, :]
    b[:, -1] = s[:, -1] ^ down[:, -1]
    b[-1, -1] = False
    return b


def boundary_tolerance(shape: tuple[int, int], bound_th: float = DEFAULT_BOUND_TH) -> int:
    """Match radius in pixels: ``ceil(bound_th * diagonal)``, or ``bound_th`` itself when ``>= 1``."""
    if bound_th < 0:
        raise ValueError(f"bound_th must be >= 0, got {bound_th}.")
    if bound_th >= 1:
        return int(math.ceil(bound_th))
    return int(math.ceil(bound_th * math.hypot(shape[0], shape[1])))


def _disk(radius: int) -> np.ndarray:
    """Disk structuring element: all offsets with ``dx^2 + dy^2 <= radius^2``."""
    r = int(radius)
    y, x = np.ogrid[-r : r + 1, -r : r + 1]
    return ((x * x + y * y) <= r * r).astype(np.uint8)


def boundary_prf(
    pred: object, gt: object, bound_th: float = DEFAULT_BOUND_TH
) -> tuple[float, float, float]:
    """DAVIS boundary measure: ``(precision, recall, F)``.

    Both boundaries come from :func:`boundary_map`. A predicted boundary pixel counts as
    correct (precision) when a ground-truth boundary pixel lies within the disk of radius
    :func:`boundary_tolerance` around it, and vice versa for recall. ``F = 2PR / (P + R)``
    (0 when ``P + R = 0``). Empty boundaries follow the DAVIS toolkit: both empty -> P = R = 1;
    only the prediction empty -> P = 1, R = 0; only the ground truth empty -> P = 0, R = 1
    (so F = 0 in the last two cases). Note that a mask covering the whole image has an empty
    boundary (the image border is not a boundary).
    """
    p, g = _pair(pred, gt)
    pb, gb = boundary_map(p), boundary_map(g)
    n_p, n_g = int(np.count_nonzero(pb)), int(np.count_nonzero(gb))
    if n_p == 0 and n_g == 0:
        precision, recall = 1.0, 1.0
    elif n_p == 0:
        precision, recall = 1.0, 0.0
    elif n_g == 0:
        precision, recall = 0.0, 1.0
    else:
        kernel = _disk(boundary_tolerance(p.shape, bound_th))
        p_dil = cv2.dilate(pb.astype(np.uint8), kernel).astype(bool)
        g_dil = cv2.dilate(gb.astype(np.uint8), kernel).astype(bool)
        precision = np.count_nonzero(pb & g_dil) / float(n_p)
        recall = np.count_nonzero(gb & p_dil) / float(n_g)
    f = 0.0 if precision + recall == 0 else 2.0 * precision * recall / (precision + recall)
    return float(precision), float(recall), float(f)


def boundary_f(pred: object, gt: object, bound_th: float = DEFAULT_BOUND_TH) -> float:
    """DAVIS boundary accuracy F (see :func:`boundary_prf`)."""
    return boundary_prf(pred, gt, bound_th)[2]
