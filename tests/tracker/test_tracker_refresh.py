"""Tracker with external (oracle) keyframes: late masks moved forward, loss and re-acquisition,
non-overlap in the label map, predictor-less mode and config validation."""

from __future__ import annotations

import numpy as np
import pytest

from samstream.geometry import mask_iou
from samstream.sources.synthetic import SyntheticScene
from samstream.tracker import Tracker, TrackerConfig
from samstream.types import Frame


def _frames(scene, n):
    for i in range(n):
        img, lab = scene.render(i)
        yield Frame(img, i, i / 30.0), lab


def test_late_refresh_is_moved_to_the_current_frame():
    scene = SyntheticScene(320, 240, num_objects=1, seed=2, speed=4.0)
    frames = list(_frames(scene, 11))
    key = 4  # ground truth of frame 4, delivered before frame 10
    ious = {}
    for refresh in (False, True):
        tr = Tracker(None)
        tr.add_object(1, mask=frames[0][1] == 1)
        for f, _ in frames[:10]:
            tr.track(f)
        if refresh:
            tr.refresh_masks(key, {1: frames[key][1] == 1})
        seg = tr.track(frames[10][0])
        assert seg.keyframe_index == (key if refresh else -1) and not seg.lost[0]
        ious[refresh] = mask_iou(seg.masks[0], frames[10][1] == 1)
    stale = mask_iou(frames[key][1] == 1, frames[10][1] == 1)
    assert ious[True] > 0.8 and ious[True] > stale + 0.3 and ious[True] > ious[False], (ious, stale)


def test_empty_refresh_loses_and_a_later_one_reacquires():
    scene = SyntheticScene(320, 240, num_objects=1, seed=3, speed=1.0)
    tr = Tracker(None)
    frames = list(_frames(scene, 8))
    tr.add_object(1, mask=frames[0][1] == 1)
    tr.track(frames[0][0])
    tr.refresh_masks(0, {1: np.zeros((240, 320), bool)})
    seg = tr.track(frames[1][0])
    assert seg.lost[0] and not seg.masks[0].any()
    tr.track(frames[2][0])
    tr.refresh_masks(2, {1: frames[2][1] == 1})
    seg = tr.track(frames[3][0])
    assert not seg.lost[0] and mask_iou(seg.masks[0], frames[3][1] == 1) > 0.9


def test_objects_do_not_overlap_and_an_occluded_part_returns():
    h, w = 120, 160
    img = np.random.default_rng(0).integers(0, 255, (h, w, 3), np.uint8)
    a = np.zeros((h, w), bool)
    a[20:80, 20:80] = True
    b = np.zeros((h, w), bool)
    b[50:100, 50:110] = True
    tr = Tracker(None)
    tr.add_object(1, mask=a)
    tr.add_object(2, mask=b)
    seg = tr.track(Frame(img, 0, 0.0))
    m1, m2 = seg.mask_for(1), seg.mask_for(2)
    assert not (m1 & m2).any() and ((m1 | m2) == (a | b)).all()
    # object 2 goes away: object 1's hidden corner is back in its published mask
    tr.refresh_masks(0, {2: np.zeros((h, w), bool)})
    seg = tr.track(Frame(img, 1, 0.03))
    assert mask_iou(seg.mask_for(1), a) > 0.98


def test_refresh_errors_name_the_fix():
    scene = SyntheticScene(160, 120, num_objects=1, seed=0)
    tr = Tracker(None)
    (f, lab), = list(_frames(scene, 1))
    tr.add_object(1, mask=lab == 1)
    tr.track(f)
    with pytest.raises(KeyError, match="known ids"):
        tr.refresh_masks(0, {7: lab == 1})
    with pytest.raises(ValueError, match="future"):
        tr.refresh_masks(5, {1: lab == 1})
    with pytest.raises(ValueError, match="mask prompts only"):
        tr.add_object(2, box=[1, 1, 20, 20])


def test_refresh_older_than_the_ring_is_dropped_and_reported():
    scene = SyntheticScene(160, 120, num_objects=1, seed=0)
    tr = Tracker(None, config=TrackerConfig(flow_history=2))
    frames = list(_frames(scene, 6))
    tr.add_object(1, mask=frames[0][1] == 1)
    for fr, _ in frames[:5]:
        tr.track(fr)
    tr.refresh_masks(1, {1: frames[1][1] == 1})
    tr.track(frames[5][0])
    assert "flow_history" in tr.stats.last_error and tr.stats.keyframes_failed == 1


@pytest.mark.parametrize("kw, words", [
    (dict(flow_history=0), "flow_history"),
    (dict(snap_radius=-1), "snap_radius"),
    (dict(snap_eps=0), "snap_eps"),
    (dict(flow_preset="slow"), "flow_preset"),
    (dict(propagation="magic"), "propagation"),
])
def test_config_is_validated(kw, words):
    with pytest.raises(ValueError, match=words):
        TrackerConfig(**kw)
