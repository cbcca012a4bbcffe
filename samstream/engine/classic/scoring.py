"""The classic backend's mask confidence: a documented heuristic in ``[0, 1]``, not a learned IoU.

``score = (0.35 stability + 0.35 edge + 0.3 separation) * clicks`` with the terms of
:class:`ScoreTerms` (see :func:`score_terms`); click-prompt candidates are further multiplied by
the predictor's extent prior. An empty mask scores 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import cv2
import numpy as np

from ...geometry import mask_iou
from .prompts import Rect, inside

__all__ = ["ScoreTerms", "SCORE_WEIGHTS", "score_terms", "score"]

#: weights of the confidence terms (the fields of :class:`ScoreTerms` but ``clicks``); they sum to 1
SCORE_WEIGHTS = {"stability": 0.35, "edge": 0.35, "separation": 0.3}


@dataclass(frozen=True)
class ScoreTerms:
    """The terms of the confidence heuristic for one non-empty mask, each a float in ``[0, 1]``.

    Attributes:
        stability: IoU(alpha > 0.75, alpha > 0.25) -- 1 when the guided filter found crisp
            image edges along the whole outline, lower where the outline crosses flat texture.
        edge: ``1 - 1 / r``, ``r`` = mean grey-gradient magnitude on the outline over the mean
            in the ROI (an outline no stronger than its surroundings gives 0).
        separation: ``1 -`` the histogram intersection of the colours just inside and just
            outside the outline (1 = object and surroundings share no colour).
        clicks: the fraction of clicks the mask obeys (include points inside, exclude points
            outside); 1 without clicks.
    """

    stability: float
    edge: float
    separation: float
    clicks: float

    @property
    def score(self) -> float:
        """``sum(SCORE_WEIGHTS[k] * term k) * clicks``, clipped to ``[0, 1]``."""
        s = sum(w * getattr(self, k) for k, w in SCORE_WEIGHTS.items()) * self.clicks
        return float(np.clip(s, 0.0, 1.0))


def score_terms(
    img: np.ndarray, roi: Rect, alpha: np.ndarray, pos: np.ndarray, neg: np.ndarray
) -> Optional[ScoreTerms]:
    """The :class:`ScoreTerms` of one mask, or ``None`` for an empty mask.

    Args:
        img: ``uint8 (H, W, 3)`` BGR frame.
        roi: the :data:`~.prompts.Rect` (frame pixels) that ``alpha`` covers.
        alpha: ``(roi_h, roi_w)`` float32 soft mask in ``[0, 1]`` (inside: ``> 0.5``).
        pos, neg: ``(P, 2)`` / ``(N, 2)`` include / exclude clicks ``(x, y)``, frame pixels.
    """
    hard = alpha > 0.5
    if not hard.any():
        return None
    stability = mask_iou(alpha > 0.75, alpha > 0.25)
    x0, y0, x1, y1 = roi
    step = max(1, int(max(x1 - x0, y1 - y0) // 192))
    sub_img = np.ascontiguousarray(img[y0:y1:step, x0:x1:step])
    sub = np.ascontiguousarray(hard[::step, ::step]).astype(np.uint8)
    grey = cv2.cvtColor(sub_img, cv2.COLOR_BGR2GRAY).astype(np.float32)
    mag = cv2.magnitude(cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3))
    outline = cv2.morphologyEx(sub, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
    edge = 0.0
    if outline.any():
        r = float(mag[outline].mean()) / (float(mag.mean()) + 1e-3)
        edge = max(0.0, 1.0 - 1.0 / max(r, 1e-3))
    k = max(1, int(round(0.08 * np.sqrt(float(sub.sum())))))
    ker = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1))
    inner = (sub > 0) & ~(cv2.erode(sub, ker, borderType=cv2.BORDER_CONSTANT, borderValue=0) > 0)
    outer = (cv2.dilate(sub, ker) > 0) & (sub == 0)
    separation = 0.0
    if inner.any() and outer.any():
        q = (sub_img.astype(np.int32) >> 5)
        idx = (q[..., 0] * 8 + q[..., 1]) * 8 + q[..., 2]
        hi_ = np.bincount(idx[inner], minlength=512).astype(np.float64)
        ho_ = np.bincount(idx[outer], minlength=512).astype(np.float64)
        separation = 1.0 - float(np.minimum(hi_ / hi_.sum(), ho_ / ho_.sum()).sum())
    clicks = [inside(hard, roi, p) for p in pos] + [not inside(hard, roi, p) for p in neg]
    clicks_ok = float(np.mean(clicks)) if clicks else 1.0
    return ScoreTerms(stability=stability, edge=edge, separation=separation, clicks=clicks_ok)


def score(img: np.ndarray, roi: Rect, alpha: np.ndarray, pos: np.ndarray, neg: np.ndarray) -> float:
    """Confidence in ``[0, 1]`` of one mask (arguments as :func:`score_terms`); 0 for an empty mask."""
    t = score_terms(img, roi, alpha, pos, neg)
    return 0.0 if t is None else t.score
