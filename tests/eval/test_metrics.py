"""J and F against hand-computed values (samstream.eval.metrics)."""

from __future__ import annotations

import numpy as np
import pytest

from evalhelpers import square

from samstream.eval import boundary_f, boundary_map, boundary_prf, boundary_tolerance, region_similarity


def test_region_similarity_hand_computed():
    gt = square(0, 3, 0, 3)  # 16 px
    pred = square(2, 5, 2, 5)  # 16 px, overlap rows 2..3 x cols 2..3 = 4 px
    assert region_similarity(pred, gt) == pytest.approx(4 / 28)
    assert region_similarity(gt, gt) == 1.0
    assert region_similarity(square(0, 1, 0, 1), square(5, 6, 5, 6)) == 0.0
    # pred inside gt: 4 / 16
    assert region_similarity(square(1, 2, 1, 2), gt) == pytest.approx(0.25)


def test_empty_conventions():
    empty = np.zeros((10, 10), bool)
    obj = square(2, 5, 2, 5)
    assert region_similarity(empty, empty) == 1.0  # both empty: J = 1
    assert boundary_prf(empty, empty) == (1.0, 1.0, 1.0)
    assert region_similarity(empty, obj) == 0.0  # object missed
    assert boundary_prf(empty, obj) == (1.0, 0.0, 0.0)
    assert region_similarity(obj, empty) == 0.0  # false positive on an empty frame
    assert boundary_prf(obj, empty) == (0.0, 1.0, 0.0)


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="differ in size"):
        region_similarity(np.zeros((4, 4)), np.zeros((4, 5)))


def test_boundary_map_is_the_seg2bmap_ring():
    # rows/cols 2..5 filled -> the boundary is the ring rows/cols 1..5 (16 pixels)
    b = boundary_map(square(2, 5, 2, 5))
    ring = square(1, 5, 1, 5) & ~square(2, 4, 2, 4)
    assert np.array_equal(b, ring)
    assert b.sum() == 16
    # the image border is not a boundary: a full mask has none
    assert not boundary_map(np.ones((6, 7), bool)).any()


def test_boundary_tolerance():
    assert boundary_tolerance((480, 854)) == 8  # ceil(0.008 * 979.6)
    assert boundary_tolerance((10, 10)) == 1  # ceil(0.113)
    assert boundary_tolerance((10, 10), bound_th=3) == 3  # >= 1: pixels


def test_boundary_f_identical_disjoint_and_shift():
    a = square(2, 5, 2, 5)
    assert boundary_f(a, a) == 1.0
    # far apart (tolerance is 1 px on 10x10): nothing matches, P = R = 0
    assert boundary_prf(square(0, 1, 0, 1), square(7, 8, 7, 8)) == (0.0, 0.0, 0.0)
    # a 1-pixel shift is within the 1-pixel tolerance
    assert boundary_f(square(2, 5, 3, 6), a) == 1.0
    assert boundary_f(square(3, 6, 2, 5), a) == 1.0


def test_boundary_prf_outside_tolerance_hand_computed():
    # tolerance 1 px (disk radius 1 = the 4-neighbours). GT rows/cols 2..5: ring rows/cols 1..5
    # (16 px). Prediction rows 2..5, cols 2..7: ring rows 1..5 x cols 1..7 (20 px).
    gt = square(2, 5, 2, 5)
    pred = square(2, 5, 2, 7)
    # precision: the top/bottom rows cols 1..6 (6 + 6) and the left column rows 2..4 (3)
    # are within 1 px of the GT ring; cols 7 of rows 1 and 5 and the right column
    # rows 2..4 (col 7, two columns from GT col 5) are not -> 15 / 20
    # recall: all GT ring pixels lie on the prediction ring except the right column
    # rows 2..4 (col 5); of these (2,5) and (4,5) touch (1,5) and (5,5) -> only (3,5) fails -> 15 / 16
    p, r, f = boundary_prf(pred, gt)
    assert p == pytest.approx(15 / 20)
    assert r == pytest.approx(15 / 16)
    assert f == pytest.approx(5 / 6)  # 2 * 0.75 * 0.9375 / 1.6875
