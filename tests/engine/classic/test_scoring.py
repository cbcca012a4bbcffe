"""The classic confidence heuristic: ScoreTerms (a frozen dataclass) and score()."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from samstream.engine.classic.scoring import SCORE_WEIGHTS, ScoreTerms, score, score_terms

from ._scenes import bbox, scene

NONE = np.zeros((0, 2), np.float32)


def _alpha(gt):
    x0, y0, x1, y1 = (int(v) for v in bbox(gt))
    roi = (max(0, x0 - 20), max(0, y0 - 20), x1 + 20, y1 + 20)
    return roi, gt[roi[1]:roi[3], roi[0]:roi[2]].astype(np.float32)


def test_weights_sum_to_one():
    assert sum(SCORE_WEIGHTS.values()) == pytest.approx(1.0)


def test_terms_are_a_frozen_dataclass_in_range():
    img, gt = scene()
    roi, alpha = _alpha(gt)
    t = score_terms(img, roi, alpha, NONE, NONE)
    assert isinstance(t, ScoreTerms)
    for f in dataclasses.fields(ScoreTerms):
        assert 0.0 <= getattr(t, f.name) <= 1.0
    assert t.clicks == 1.0 and t.stability == 1.0  # a hard 0/1 alpha is perfectly stable
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.edge = 0.0
    expected = sum(w * getattr(t, k) for k, w in SCORE_WEIGHTS.items()) * t.clicks
    assert score(img, roi, alpha, NONE, NONE) == pytest.approx(expected)
    # the true outline follows image edges and separates colours: a confident score
    assert t.score > 0.5


def test_clicks_term_counts_obeyed_clicks():
    img, gt = scene()
    roi, alpha = _alpha(gt)
    inside = np.array([[300, 220]], np.float32)
    outside = np.array([[5, 5]], np.float32)
    assert score_terms(img, roi, alpha, inside, outside).clicks == 1.0
    assert score_terms(img, roi, alpha, outside, inside).clicks == 0.0
    assert score_terms(img, roi, alpha, np.concatenate([inside, outside]), NONE).clicks == 0.5
    assert score(img, roi, alpha, outside, inside) == 0.0


def test_empty_mask_scores_zero():
    img, gt = scene()
    roi, alpha = _alpha(gt)
    assert score_terms(img, roi, np.zeros_like(alpha), NONE, NONE) is None
    assert score(img, roi, np.zeros_like(alpha), NONE, NONE) == 0.0
