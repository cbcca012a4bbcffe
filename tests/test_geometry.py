"""samstream.geometry: the one home of IoU, mask -> box, interior point, box growth, NMS and affine moves."""

import numpy as np
import pytest

from samstream.geometry import (affine_box, affine_points, box_iou, box_nms, grow_box, interior_point, mask_box,
                                mask_iou)


def test_mask_iou_counts_overlap_and_empty_convention():
    a = np.zeros((10, 10), bool)
    b = np.zeros((10, 10), bool)
    assert mask_iou(a, b) == 1.0 and mask_iou(a, b, empty=0.0) == 0.0
    a[0:5, 0:4] = True  # 20 px
    b[0:5, 2:6] = True  # 20 px, 10 shared
    assert mask_iou(a, b) == pytest.approx(10 / 30)
    with pytest.raises(ValueError, match="different shapes"):
        mask_iou(a, np.zeros((5, 5), bool))


def test_mask_box_is_exclusive_and_none_when_empty():
    m = np.zeros((20, 30), bool)
    assert mask_box(m) is None
    m[3:7, 10:12] = True
    assert mask_box(m).tolist() == [10, 3, 12, 7]


def test_interior_point_is_deepest_pixel_full_and_downscaled():
    m = np.zeros((200, 400), bool)
    m[50:150, 100:300] = True
    x, y = interior_point(m)
    assert 140 <= x <= 260 and 95 <= y <= 105
    xs, ys = interior_point(m, max_side=100)
    assert m[int(ys), int(xs)] and abs(ys - 100) <= 6
    assert interior_point(np.zeros((5, 5), bool)) is None


def test_grow_box_scales_about_centre_and_clips():
    assert grow_box(np.array([10, 10, 20, 20]), 2.0, 100, 100).tolist() == [5, 5, 25, 25]
    assert grow_box(np.array([0, 0, 10, 10]), 3.0, 12, 12).tolist() == [0, 0, 12, 12]


def test_box_iou_matrix_and_nms():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]], float)
    iou = box_iou(boxes, boxes)
    assert iou.shape == (3, 3) and np.allclose(np.diag(iou), 1.0)
    assert iou[0, 1] == pytest.approx(81 / 100) and iou[0, 2] == 0.0
    keep = box_nms(boxes, [0.5, 0.9, 0.1], iou_thresh=0.5)
    assert keep.tolist() == [1, 2]
    with pytest.raises(ValueError, match="one score per box"):
        box_nms(boxes, [0.5], 0.5)


def test_affine_points_and_box_move_and_clip():
    shift = np.array([[1.0, 0.0, 30.0], [0.0, 1.0, -5.0]])
    assert affine_points(np.array([[10, 10], [0, 0]]), shift).tolist() == [[40, 5], [30, -5]]
    assert affine_box(np.array([10, 10, 20, 30]), shift, 100, 100).tolist() == [40, 5, 50, 25]
    # clipped to the frame; None once it has left it
    assert affine_box(np.array([60, 0, 80, 10]), shift, 100, 100).tolist() == [90, 0, 100, 5]
    assert affine_box(np.array([80, 50, 95, 60]), shift, 100, 100) is None
    rot = np.array([[0.0, -1.0, 50.0], [1.0, 0.0, 0.0]])  # 90 degrees: the box around the turned corners
    assert affine_box(np.array([0, 0, 20, 10]), rot, 100, 100).tolist() == [40, 0, 50, 20]
