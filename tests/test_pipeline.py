"""Pipeline: ordering, frame alignment, sinks, metrics, bad input (classic backend, synthetic data)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from samstream import Pipeline, Prompt
from samstream.pipeline import parse_prompt, prompts_from_strings
from samstream.sinks import CallbackSink, VideoSink
from samstream.sources import PushSource, open_source
from samstream.sources.synthetic import SyntheticScene


def _box(labels, oid):
    ys, xs = np.nonzero(labels == oid)
    return [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)]


def _iou(a, b):
    u = np.count_nonzero(a | b)
    return np.count_nonzero(a & b) / u if u else 1.0


def test_results_are_in_order_aligned_and_follow_the_object(tmp_path):
    src = open_source("synthetic:320x240@30,seed=5,objects=2,realtime=0,frames=45")
    _, lab0 = SyntheticScene(320, 240, 2, 5).render(0)
    seen = []
    with Pipeline(src, prompts=[Prompt(1, box=_box(lab0, 1))], sinks=[VideoSink(tmp_path / "o.avi", fps=30)],
                  asynchronous=False, keyframe_interval=3) as pipe:
        for seg in pipe:
            gt = src.ground_truth(seg.frame_index)
            seen.append((seg.frame_index, _iou(seg.mask_for(1), gt == 1)))
            assert seg.masks.shape == (1, 240, 320)
    assert [i for i, _ in seen] == list(range(45))
    assert np.mean([j for _, j in seen]) > 0.75
    cap = cv2.VideoCapture(str(tmp_path / "o.avi"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 45


def test_live_pipeline_never_publishes_a_stale_mask():
    """Async keyframes arrive late; the mask reported for frame t must match frame t's object."""
    src = open_source("synthetic:320x240@30,seed=5,objects=2,speed=3")
    _, lab0 = SyntheticScene(320, 240, 2, 5, speed=3).render(0)
    now_iou, prev_iou = [], []
    with Pipeline(src, prompts=[Prompt(1, box=_box(lab0, 1))], max_frames=60) as pipe:
        for seg in pipe:
            if seg.frame_index < 5 or seg.lost[0]:
                continue
            m = seg.mask_for(1)
            now_iou.append(_iou(m, src.ground_truth(seg.frame_index) == 1))
            prev_iou.append(_iou(m, src.ground_truth(seg.frame_index - 4) == 1))
    assert len(now_iou) > 30
    assert np.mean(now_iou) > np.mean(prev_iou)


def test_metrics_and_callback_sink():
    got = []
    with Pipeline("synthetic:160x120@30,realtime=0,frames=20", sinks=[CallbackSink(lambda f, s: got.append(s.frame_index))],
                  prompts=["box:10,10,60,60@2"]) as pipe:
        n = sum(1 for _ in pipe)
        m = pipe.metrics()
    assert n == 20 and got == list(range(20))
    d = m.to_dict()
    for key in ("input_fps", "output_fps", "encoder_latency_ms", "keyframe_age_frames", "dropped_frames",
                "sink_ms", "keyframes", "keyframes_failed", "source", "tracker", "encoder"):
        assert key in d
    assert m.frames_out == 20 and m.tracker.objects == 1 and m.tracker.frames == 20
    assert m.source.frames_delivered == 20 and m.source_label
    assert m.keyframes_failed == 0 and m.last_keyframe_error is None
    assert json.loads(pipe.metrics_json())["frames_out"] == 20


def test_no_prompt_tracks_largest_objects_found():
    with Pipeline("synthetic:320x240@30,seed=5,realtime=0,frames=5", auto_objects=2) as pipe:
        segs = list(pipe)
    assert 1 <= len(segs[-1]) <= 2
    assert all(m.any() for m in segs[0].masks)


def test_bad_frames_mid_stream_are_skipped_and_counted():
    push = PushSource()
    push.push(np.zeros((120, 160, 3), np.uint8))
    push.push(np.zeros((60, 80, 3), np.uint8))      # wrong size: skipped
    push.push(None)                                  # not an image: skipped
    push.push(np.full((120, 160, 3), 50, np.uint8))
    push.end()
    with Pipeline(push, prompts=["box:10,10,60,60"]) as pipe:
        segs = list(pipe)
        stats = pipe.metrics()
    # a push source keeps only the newest good frame; the two bad ones are counted, not fatal
    assert 1 <= len(segs) <= 2 and segs[-1].masks.shape == (1, 120, 160)
    assert pipe.last_frame.image.mean() == 50
    assert stats.bad_frames == 2 and stats.source.bad_frames == 2


@pytest.mark.parametrize("text, kind, vals, oid", [
    ("box:1,2,3,4", "box", [1, 2, 3, 4], 1),
    ("point:10.5,20@3", "point", [10.5, 20], 3),
    ("neg:5,6@2", "neg", [5, 6], 2),
])
def test_parse_prompt(text, kind, vals, oid):
    assert parse_prompt(text) == (kind, vals, oid)


@pytest.mark.parametrize("texts, words", [
    (["box:1,2,3"], "takes 4"),
    (["circle:1,2"], "use box"),
    (["point:1,2@300"], "1..255"),
    (["neg:5,5@1"], "only exclude"),
    (["box:1,2,3,4@1", "box:5,6,7,8@1"], "two boxes"),
])
def test_bad_prompt_strings(texts, words):
    with pytest.raises(ValueError, match=words):
        prompts_from_strings(texts)


def test_prompt_outside_the_frame_names_the_frame_size():
    with pytest.raises(ValueError, match="outside the 160x120 frame"):
        list(Pipeline("synthetic:160x120@30,realtime=0,frames=3", prompts=["box:10,10,500,60"]))


def test_init_mask_of_wrong_size():
    mask = np.zeros((10, 10), bool)
    mask[2:5, 2:5] = True
    with pytest.raises(ValueError, match="resize"):
        list(Pipeline("synthetic:160x120@30,realtime=0,frames=3", prompts=[Prompt(1, mask=mask)]))


def test_unknown_object_and_duplicate_ids():
    pipe = Pipeline("synthetic:160x120@30,realtime=0,frames=3", prompts=["box:10,10,60,60@1"])
    with pytest.raises(KeyError, match="known ids"):
        pipe.remove_object(9)
    with pytest.raises(ValueError, match="duplicate"):
        Pipeline("synthetic", prompts=[Prompt(1, box=[1, 1, 5, 5]), Prompt(1, box=[2, 2, 6, 6])])
    pipe.close()


@pytest.mark.parametrize("spec, exc, words", [
    ("nonsense://x", ValueError, "synthetic"),
    ("/no/such/file.mp4", FileNotFoundError, "/no/such/file.mp4"),
    ("57", OSError, "synthetic"),
])
def test_bad_sources(spec, exc, words):
    with pytest.raises(exc, match=words):
        Pipeline(spec)


def test_unknown_model():
    with pytest.raises(ValueError, match="classic"):
        Pipeline("synthetic", model="nope")


def test_failing_keyframe_encoder_is_reported_in_metrics():
    from samstream.engine import load_predictor

    base = load_predictor("classic")
    calls = {"n": 0}
    real_encode = base.encode

    def encode(image, frame_index=-1, timestamp=0.0):
        calls["n"] += 1
        if calls["n"] > 1:
            raise RuntimeError("encoder fell over")
        return real_encode(image, frame_index, timestamp)

    base.encode = encode  # instance attribute: the predictor object itself fails, not a mock of a protocol
    with Pipeline("synthetic:160x120@30,realtime=0,frames=40", predictor=base, asynchronous=False,
                  keyframe_interval=5, prompts=["box:10,10,60,60"]) as pipe:
        segs = list(pipe)
        m = pipe.metrics()
    assert len(segs) == 40 and all(len(s) == 1 for s in segs)  # every frame still has a result
    assert m.keyframes_failed >= 5
    assert "encoder fell over" in m.last_keyframe_error and "RuntimeError" in m.last_keyframe_error
    assert m.to_dict()["keyframes_failed"] == m.keyframes_failed
