"""Segmentation <-> supervision.Detections (masks, boxes, scores, ids) round trip, with an annotator."""

from __future__ import annotations

import numpy as np
import pytest

from samstream.types import Segmentation

sv = pytest.importorskip("supervision")


def _seg():
    m = np.zeros((3, 40, 60), bool)
    m[0, 5:15, 10:30] = True
    m[1, 20:35, 40:55] = True
    return Segmentation(m, [0.9, 0.7, 0.1], [4, 9, 12], frame_index=7, timestamp=1.5, lost=[False, False, True])


def test_to_supervision_and_back():
    seg = _seg()
    det = seg.to_supervision()
    assert len(det) == 2 and det.mask.shape == (2, 40, 60)
    assert det.tracker_id.tolist() == [4, 9] and np.allclose(det.confidence, [0.9, 0.7])
    assert det.xyxy[0].tolist() == [10, 5, 30, 15]
    back = Segmentation.from_supervision(det, frame_index=7, timestamp=1.5)
    assert back.object_ids.tolist() == [4, 9] and np.array_equal(back.masks, seg.masks[:2])
    assert np.allclose(back.scores, [0.9, 0.7]) and back.frame_index == 7
    assert len(seg.to_supervision(include_lost=True)) == 3


def test_supervision_annotators_take_it():
    det = _seg().to_supervision()
    out = sv.MaskAnnotator().annotate(np.zeros((40, 60, 3), np.uint8), det)
    assert out[10, 20].any() and not out[2, 2].any()


def test_detections_without_masks_name_the_fix():
    det = sv.Detections(xyxy=np.array([[0, 0, 5, 5]], np.float32))
    with pytest.raises(ValueError, match="no masks"):
        Segmentation.from_supervision(det)
    empty = Segmentation.from_supervision(sv.Detections.empty(), image_size=(4, 6))
    assert len(empty) == 0 and empty.image_size == (4, 6)
