"""The classic backend's segment-everything (colour regions); not the SAM point-grid generator."""

from __future__ import annotations

import numpy as np
import pytest

from samstream.engine.classic import ClassicPredictor
from samstream.geometry import mask_iou

from ._scenes import H, W, scene


def test_everything_finds_the_object():
    img, gt = scene("disc", (300, 220), 90, 0)
    p = ClassicPredictor()
    masks, scores = p.everything(img, max_masks=16)
    assert masks.ndim == 3 and masks.shape[1:] == (H, W) and masks.dtype == bool
    assert 1 <= masks.shape[0] <= 16 and scores.shape == (masks.shape[0],) and scores.dtype == np.float32
    assert np.all((scores >= 0) & (scores <= 1))
    assert masks.sum(axis=0).max() <= 1  # no overlaps
    assert max(mask_iou(m, gt) for m in masks) >= 0.8
    assert np.all(masks.reshape(masks.shape[0], -1).sum(axis=1) >= 0.002 * H * W)


def test_everything_uses_the_current_image_and_checks_arguments():
    img, gt = scene()
    p = ClassicPredictor()
    with pytest.raises(RuntimeError, match="set_image"):
        p.everything()
    p.set_image(img)
    masks, _ = p.everything(max_masks=4)
    assert masks.shape[0] <= 4
    with pytest.raises(ValueError, match="min_area_frac"):
        p.everything(img, min_area_frac=1.5)
    with pytest.raises(ValueError, match="max_masks"):
        p.everything(img, max_masks=0)
