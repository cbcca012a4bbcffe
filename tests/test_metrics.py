"""samstream.metrics: typed, frozen stats that serialise to plain dicts."""

import dataclasses
import json

import pytest

from samstream.metrics import EncoderStats, PipelineMetrics, SourceStats, TrackerStats


def test_stats_are_frozen_and_nest_into_json():
    m = PipelineMetrics(frames_out=3, source=SourceStats(name="cam", frames_dropped=2),
                        tracker=TrackerStats(keyframes_applied=4, keyframes_failed=1, last_error="boom"),
                        encoder=EncoderStats(failed=1))
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.frames_out = 4
    d = json.loads(json.dumps(m.to_dict()))
    assert d["source"]["name"] == "cam" and d["tracker"]["keyframes_failed"] == 1
    assert d["keyframes"] == 4 and d["keyframes_failed"] == 1 and d["last_keyframe_error"] == "boom"
    assert d["dropped_frames"] == 2 and d["encoder"]["failed"] == 1
    assert m.keyframes_failed == 1 and m.dropped_frames == 2
