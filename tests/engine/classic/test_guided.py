"""The colour guided filter and the guided upsampling."""

from __future__ import annotations

import cv2
import numpy as np

from samstream.engine.classic.guided import apply_guided, guided_coeffs, planes, upsample


def test_constant_input_stays_constant():
    rng = np.random.default_rng(0)
    g = planes(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8))
    p = np.full((40, 50), 0.3, np.float32)
    a, b = guided_coeffs(g, p, 2, 1e-3)
    np.testing.assert_allclose(apply_guided(a, b, g), 0.3, atol=1e-4)


def test_upsample_shapes_and_range():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    roi = (20, 10, 140, 110)
    fine_img = cv2.resize(img[10:110, 20:140], (60, 50), interpolation=cv2.INTER_AREA)
    seg = np.zeros((50, 60), bool)
    seg[10:40, 15:45] = True
    for radius in (0, 2):
        alpha = upsample(img, roi, fine_img, seg, radius, 1e-3)
        assert alpha.shape == (100, 120) and alpha.dtype == np.float32
        assert alpha.min() >= 0.0 and alpha.max() <= 1.0
    smooth = upsample(img, roi, fine_img, seg, 2, 1e-3, smooth_only=True)
    np.testing.assert_array_equal(smooth, upsample(img, roi, fine_img, seg, 0, 1e-3))
