"""Typed results: means, recalls, NaN -> None in JSON, and the JSON round trip (samstream.eval.results)."""

from __future__ import annotations

import math

from samstream.eval import EvalResult, ObjectResult, SequenceResult


def test_means_recall_and_json_round_trip(tmp_path):
    a = ObjectResult(1, [1.0, 0.4], [0.6, 0.2])
    b = ObjectResult(2, [], [])  # nothing scored: NaN, not 0
    assert a.J == 0.7 and a.J_recall == 0.5 and a.F_recall == 0.5
    assert math.isnan(b.J) and b.to_dict()["J"] is None
    s = SequenceResult("toy", "00000", ["00001", "00002"], [a, b], n_tracked=3, track_seconds=0.5, init_seconds=0.1)
    assert s.J == 0.7 and s.fps == 6.0  # NaN objects are left out of the mean
    r = EvalResult("m", "mask", [s])
    back = EvalResult.load_json(r.save_json(tmp_path / "r.json"))
    assert back.J == r.J and back.sequence("toy").objects[0].J_per_frame == [1.0, 0.4]
    assert "toy" in r.summary() and "mean" in r.summary()
