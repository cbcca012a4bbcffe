"""The oracle-keyframe protocol (samstream.eval.oracle) on a moving synthetic scene with ground truth."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from evalhelpers import write_synthetic

from samstream.eval import FlowWarpBaseline, load_sequences
from samstream.eval.oracle import evaluate_oracle, oracle_json, oracle_table, render_oracle_chart
from samstream.geometry import mask_iou
from samstream.tracker import Tracker

N = 36


def _stale_j(labels, delay):
    """Mean J (over objects, then DAVIS-2016 scored frames 1..n-2) of the truth pasted ``delay`` frames late."""
    ids = [int(v) for v in np.unique(labels[0]) if v]
    per = [[mask_iou(labels[max(0, i - delay)] == o, labels[i] == o, empty=1.0) for i in range(1, len(labels) - 1)]
           for o in ids]
    return float(np.mean([np.mean(p) for p in per]))


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    root = tmp_path_factory.mktemp("oracle")
    labels = write_synthetic(root, n=N)
    return load_sequences(root), labels


@pytest.fixture(scope="module")
def tracker_runs(synth):
    seqs, _ = synth
    return evaluate_oracle(lambda: Tracker(None), seqs, (1, 5, 30), (0, 1, 3), method="tracker")


def test_k1_l0_reproduces_the_truth_within_a_one_frame_delay(tracker_runs, synth):
    _, labels = synth
    one_frame_late = _stale_j(labels, 1)
    assert one_frame_late < 0.97  # the scene moves: a one-frame delay costs J
    j = tracker_runs.get(1, 0).J
    assert j >= one_frame_late and j > 0.99
    # scored frames follow DAVIS-2016: neither the prompt frame nor the last one
    s = tracker_runs.get(1, 0).sequences[0]
    assert len(s.scored_stems) == N - 2 and s.scored_stems[0] == "00001" and s.scored_stems[-1] == f"{N - 2:05d}"
    assert all(len(o.J_per_frame) == N - 2 for o in s.objects)


def test_larger_k_scores_lower_on_a_moving_scene(tracker_runs):
    for lat in (0, 3):
        j1, j5, j30 = (tracker_runs.get(k, lat).J for k in (1, 5, 30))
        assert j1 > j5 > j30, (lat, j1, j5, j30)
    # later delivery costs too
    assert tracker_runs.get(5, 0).J > tracker_runs.get(5, 3).J


def test_late_keyframes_are_moved_forward_not_pasted(tracker_runs, synth):
    _, labels = synth
    # K=1, L=3: each frame gets the truth of 3 frames ago; pasting it as is scores the stale J
    assert tracker_runs.get(1, 3).J > _stale_j(labels, 3) + 0.05


def test_baseline_under_the_same_protocol_and_outputs(synth, tmp_path):
    seqs, labels = synth
    base = evaluate_oracle(FlowWarpBaseline, seqs, (1, 5), (0, 3), method="baseline")
    assert base.get(1, 0).J > 0.99 and base.get(1, 3).J > _stale_j(labels, 3)
    ours = evaluate_oracle(lambda: Tracker(None), seqs, (1, 5), (0, 3), method="tracker")
    table = oracle_table([base, ours])
    assert table.count("\n") == 2 + 4 - 1 and "baseline J" in table and "tracker F" in table
    d = json.loads(json.dumps(oracle_json([base, ours])))
    assert {(r["K"], r["L"]) for r in d["results"][1]["runs"]} == {(1, 0), (1, 3), (5, 0), (5, 3)}
    obj = d["results"][1]["runs"][0]["sequences"][0]["objects"][0]
    assert len(obj["J_per_frame"]) == N - 2
    png = render_oracle_chart([base, ours], tmp_path / "c.png")
    assert cv2.imread(str(png)) is not None


def test_bad_settings_raise_with_the_fix(synth):
    seqs, _ = synth
    with pytest.raises(ValueError, match="keyframe_every"):
        evaluate_oracle(lambda: Tracker(None), seqs, (0,), (0,))
    with pytest.raises(ValueError, match="latency"):
        evaluate_oracle(lambda: Tracker(None), seqs, (5,), (-1,))
