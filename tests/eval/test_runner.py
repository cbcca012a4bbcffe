"""Prompts from ground truth and the evaluation runner (samstream.eval.runner)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from evalhelpers import Oracle, square, write_sequence

from samstream.eval import EvalResult, evaluate, interior_point, mask_to_box, prompt_from_mask
from samstream.types import Frame, Segmentation


def test_prompts_from_mask():
    m = square(2, 6, 3, 11, shape=(12, 16))
    assert mask_to_box(m).tolist() == [3, 2, 12, 7]  # x2, y2 exclusive
    x, y = interior_point(m)
    assert (x, y) == (5.0, 4.0)  # centre row 4; first column at the maximum distance (3)
    assert m[int(y), int(x)]
    kw = prompt_from_mask(m, "point")
    assert kw["points"].shape == (1, 2) and kw["labels"].tolist() == [1]
    assert np.array_equal(prompt_from_mask(m, "mask")["mask"], m)
    with pytest.raises(ValueError, match="prompt_mode"):
        prompt_from_mask(m, "scribble")


@pytest.mark.parametrize("mode", ["mask", "box", "point"])
def test_evaluate_oracle_is_perfect(tmp_path, mode):
    labels = write_sequence(tmp_path)
    made = []

    def factory():
        made.append(Oracle(labels))
        return made[-1]

    res = evaluate(factory, tmp_path, mode, method="oracle", exclude_last=False)
    assert isinstance(res, EvalResult)
    (s,) = res.sequences
    assert s.scored_stems == ["00001", "00002", "00004", "00005"]  # not the prompt, not unannotated
    assert [o.obj_id for o in s.objects] == [1, 2]
    assert s.J == 1.0 and s.F == 1.0 and res.J == 1.0 and res.F == 1.0 and res.JF == 1.0
    assert res.J_objects == 1.0 and s.n_tracked == 6 and s.fps > 0
    # the prompts came from frame 0's ground truth
    p1 = made[0].prompts[1]
    if mode == "mask":
        assert np.array_equal(p1["mask"], labels[0] == 1)
    elif mode == "box":
        assert p1["box"].tolist() == [4, 8, 16, 20]
    else:
        x, y = p1["points"][0]
        assert labels[0][int(y), int(x)] == 1 and p1["labels"].tolist() == [1]
    # JSON round trip
    d = json.loads(json.dumps(res.to_dict()))
    assert d["J"] == 1.0 and d["sequences"][0]["objects"][1]["F_per_frame"] == [1.0] * 4
    back = EvalResult.from_dict(d)
    assert back.J == 1.0 and back.sequences[0].scored_stems == s.scored_stems


def test_evaluate_scores_a_wrong_tracker_and_exclude_last(tmp_path):
    labels = write_sequence(tmp_path)

    class Frozen(Oracle):  # always returns frame 0's masks
        def track(self, frame):
            return super().track(Frame(frame.image, 0, frame.timestamp))

    res = evaluate(lambda: Frozen(labels), tmp_path, "mask")  # DAVIS-2016 default: the last frame is not scored
    (s,) = res.sequences
    assert s.scored_stems == ["00001", "00002", "00004"]
    assert res.to_dict()["protocol"]["exclude_last"] is True
    # object 1 (12x12 square, 144 px) moves 2 px per frame; frames 1, 2, 4 are 2, 4, 8 px off:
    # overlap 12x10, 12x8, 12x4 -> IoU 120/168, 96/192, 48/240
    expected = [120 / 168, 96 / 192, 48 / 240]
    assert s.objects[0].J_per_frame == pytest.approx(expected)
    assert s.objects[1].J == 1.0  # the bar does not move
    assert s.J == pytest.approx((np.mean(expected) + 1.0) / 2)


def test_missing_object_counts_as_empty(tmp_path):
    labels = write_sequence(tmp_path)

    class OnlyFirst(Oracle):
        def track(self, frame):
            seg = super().track(frame)
            return Segmentation(seg.masks[:1], seg.scores[:1], seg.object_ids[:1], frame.index, frame.timestamp)

    res = evaluate(lambda: OnlyFirst(labels), tmp_path, "mask")
    assert res.sequences[0].objects[0].J == 1.0 and res.sequences[0].objects[1].J == 0.0
    assert res.sequences[0].objects[1].F == 0.0


def test_lost_object_scores_zero_on_its_lost_frames_never_skipped(tmp_path):
    labels = write_sequence(tmp_path, skip_mask=())

    class LosesFirst(Oracle):  # reports object 1 lost on frames 2 and 3, with its (correct) mask
        def track(self, frame):
            seg = super().track(frame)
            lost = np.array([frame.index in (2, 3), False])
            return Segmentation(seg.masks, seg.scores, seg.object_ids, frame.index, frame.timestamp, lost=lost)

    res = evaluate(lambda: LosesFirst(labels), tmp_path, "mask")
    (s,) = res.sequences
    assert s.scored_stems == ["00001", "00002", "00003", "00004"]
    assert s.objects[0].J_per_frame == [1.0, 0.0, 0.0, 1.0]  # every scored frame is in the per-frame list
    assert s.objects[0].F_per_frame == [1.0, 0.0, 0.0, 1.0]
    assert s.objects[0].J == 0.5
