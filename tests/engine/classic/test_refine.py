"""Band refinement helpers: trimaps, GrabCut fallback, speck/hole cleaning."""

from __future__ import annotations

import cv2
import numpy as np

from samstream.engine.classic.refine import band_trimap, clean, grabcut


def _disc(h=64, w=64, r=20):
    m = np.zeros((h, w), np.uint8)
    cv2.circle(m, (w // 2, h // 2), r, 1, -1)
    return m > 0


def test_band_trimap_labels():
    base = _disc()
    tri = band_trimap(base, 3)
    assert tri[32, 32] == cv2.GC_FGD and tri[0, 0] == cv2.GC_BGD
    assert set(np.unique(tri[base])) <= {cv2.GC_FGD, cv2.GC_PR_FGD}
    assert (tri == cv2.GC_PR_BGD).any() and (tri == cv2.GC_PR_FGD).any()
    assert not ((tri == cv2.GC_PR_BGD) & base).any()


def test_grabcut_falls_back_to_the_trimap():
    img = np.zeros((32, 32, 3), np.uint8)
    tri = np.full((32, 32), cv2.GC_BGD, np.uint8)
    tri[:4, :4] = cv2.GC_FGD  # no unknown pixels: nothing to decide
    np.testing.assert_array_equal(grabcut(img, tri, 1), tri == cv2.GC_FGD)


def test_clean_drops_specks_and_fills_small_holes():
    seg = _disc()
    tri = np.where(seg, cv2.GC_FGD, cv2.GC_BGD).astype(np.uint8)
    noisy = seg.copy()
    noisy[2, 2] = True  # a speck
    noisy[32, 32] = False  # a one-pixel hole
    np.testing.assert_array_equal(clean(noisy, tri), seg)
    assert not clean(np.zeros_like(seg), tri).any()
