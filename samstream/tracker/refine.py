"""Boundary refinement of propagated masks: a guided filter that snaps soft masks to image edges."""

from __future__ import annotations

import cv2
import numpy as np

from ..geometry import mask_box

__all__ = ["guided_snap"]


def guided_snap(grey: np.ndarray, prob: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """The soft mask ``prob`` (float32 ``(H, W)`` in ``[0, 1]``) filtered by the guided filter
    (He et al.) with the ``uint8 (H, W)`` grey frame as guide, so that its 0.5 level follows image
    edges near the current boundary. Only a box around the mask (grown by ``4 * radius`` pixels)
    is filtered (cost scales with the object, not the frame). ``eps``: regularisation, intensity
    variance with the image scaled to ``[0, 1]``.
    """
    box = mask_box(prob >= 0.5)
    if box is None:
        return prob
    h, w = prob.shape
    x1, y1, x2, y2 = box
    pad = 4 * radius
    x1, y1 = max(0, int(x1) - pad), max(0, int(y1) - pad)
    x2, y2 = min(w, int(x2) + pad), min(h, int(y2) + pad)
    I = grey[y1:y2, x1:x2].astype(np.float32) * (1.0 / 255.0)
    p = prob[y1:y2, x1:x2]
    k = (2 * radius + 1, 2 * radius + 1)
    mean = lambda a: cv2.boxFilter(a, -1, k, borderType=cv2.BORDER_REFLECT)  # noqa: E731
    mi, mp = mean(I), mean(p)
    cov = mean(I * p) - mi * mp
    var = mean(I * I) - mi * mi
    a = cov / (var + eps)
    b = mp - a * mi
    q = mean(a) * I + mean(b)
    out = prob.copy()
    out[y1:y2, x1:x2] = np.clip(q, 0.0, 1.0)
    return out
