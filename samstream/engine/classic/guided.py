"""Colour guided filter (He et al. 2010) and the guided upsampling of fine-scale masks.

Images here are three float32 planes in ``[0, 1]`` (see :func:`planes`); masks and alphas are
``(h, w)`` float32.
"""

from __future__ import annotations

import cv2
import numpy as np

from .prompts import Rect

__all__ = ["planes", "guided_coeffs", "apply_guided", "upsample"]


def planes(img: np.ndarray) -> list[np.ndarray]:
    """``uint8 (h, w, 3)`` -> three contiguous float32 planes in ``[0, 1]``."""
    return list(cv2.split(img.astype(np.float32) * (1.0 / 255.0)))


def guided_coeffs(g: list[np.ndarray], p: np.ndarray, r: int, eps: float) -> tuple[list[np.ndarray], np.ndarray]:
    """Colour guided filter: box-averaged coefficients ``a`` (3 planes) and ``b``, each ``(h, w)`` float32.

    ``g``: guide as three float32 planes in ``[0, 1]``; ``p``: ``(h, w)`` float32 input; ``r``:
    box radius in pixels; ``eps``: regularisation. The filtered output is
    ``a0 g0 + a1 g1 + a2 g2 + b`` (:func:`apply_guided`), also on an upsampled guide.
    """
    k = (2 * r + 1, 2 * r + 1)

    def box(x):
        return cv2.boxFilter(x, -1, k, borderType=cv2.BORDER_REFLECT)

    g0, g1, g2 = g
    m0, m1, m2 = box(g0), box(g1), box(g2)
    mp = box(p)
    c0 = box(g0 * p) - m0 * mp
    c1 = box(g1 * p) - m1 * mp
    c2 = box(g2 * p) - m2 * mp
    v00 = box(g0 * g0) - m0 * m0 + eps
    v01 = box(g0 * g1) - m0 * m1
    v02 = box(g0 * g2) - m0 * m2
    v11 = box(g1 * g1) - m1 * m1 + eps
    v12 = box(g1 * g2) - m1 * m2
    v22 = box(g2 * g2) - m2 * m2 + eps
    # inverse of the symmetric 3x3 covariance by cofactors
    i00 = v11 * v22 - v12 * v12
    i01 = v02 * v12 - v01 * v22
    i02 = v01 * v12 - v02 * v11
    i11 = v00 * v22 - v02 * v02
    i12 = v01 * v02 - v00 * v12
    i22 = v00 * v11 - v01 * v01
    inv_det = 1.0 / np.maximum(v00 * i00 + v01 * i01 + v02 * i02, 1e-12)
    a0 = (i00 * c0 + i01 * c1 + i02 * c2) * inv_det
    a1 = (i01 * c0 + i11 * c1 + i12 * c2) * inv_det
    a2 = (i02 * c0 + i12 * c1 + i22 * c2) * inv_det
    b = mp - a0 * m0 - a1 * m1 - a2 * m2
    return [box(a0), box(a1), box(a2)], box(b)


def apply_guided(a: list[np.ndarray], b: np.ndarray, g: list[np.ndarray]) -> np.ndarray:
    """The guided filter's output ``a0 g0 + a1 g1 + a2 g2 + b``, ``(h, w)`` float32."""
    return a[0] * g[0] + a[1] * g[1] + a[2] * g[2] + b


def upsample(
    img: np.ndarray, roi: Rect, fine_img: np.ndarray, seg: np.ndarray, radius: int, eps: float,
    smooth_only: bool = False,
) -> np.ndarray:
    """Fine-scale mask -> soft alpha ``(roi_h, roi_w)`` float32 in ``[0, 1]`` at full resolution.

    Colour guided filter: coefficients at the fine scale (``fine_img``, ``uint8 (gh, gw, 3)``,
    ``seg`` ``(gh, gw)`` bool), applied to the full-resolution ROI of ``img`` (``uint8 (H, W, 3)``
    BGR; ``roi`` in frame pixels). ``radius`` is in fine pixels; ``radius == 0`` or
    ``smooth_only`` gives a plain bilinear upsampling.
    """
    x0, y0, x1, y1 = roi
    rw, rh = x1 - x0, y1 - y0
    p = seg.astype(np.float32)
    if smooth_only or radius == 0:
        return np.clip(cv2.resize(p, (rw, rh), interpolation=cv2.INTER_LINEAR), 0.0, 1.0)
    guide = planes(fine_img)
    a, b = guided_coeffs(guide, p, radius, eps)
    if (rh, rw) != p.shape:
        a = [cv2.resize(c, (rw, rh), interpolation=cv2.INTER_LINEAR) for c in a]
        b = cv2.resize(b, (rw, rh), interpolation=cv2.INTER_LINEAR)
        guide = planes(img[y0:y1, x0:x1])
    return np.clip(apply_guided(a, b, guide), 0.0, 1.0)
