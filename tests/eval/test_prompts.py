"""samstream.eval.prompts: the single-frame prompt protocol on a synthetic DAVIS-layout folder."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from samstream.engine.classic import ClassicPredictor
from samstream.eval.data import load_sequences
from samstream.eval.prompts import evaluate_prompts, grabcut_box, negative_point, sample_positions
from samstream.geometry import mask_box, mask_iou
from samstream.sources.synthetic import SyntheticScene


def write_clip(root, name="synth", n=6, seed=1):
    """A DAVIS-layout clip of ``n`` synthetic 320x240 frames with 2 objects; returns its folder."""
    scene = SyntheticScene(320, 240, 2, seed=seed)
    (root / name / "frames").mkdir(parents=True)
    (root / name / "masks").mkdir(parents=True)
    for t in range(n):
        img, lab = scene.render(t * 3)
        cv2.imwrite(str(root / name / "frames" / f"{t:05d}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 95])
        cv2.imwrite(str(root / name / "masks" / f"{t:05d}.png"), lab)
    return root / name


def test_classic_on_synthetic_clip(tmp_path):
    write_clip(tmp_path)
    seqs = load_sequences(tmp_path)
    res = evaluate_prompts(ClassicPredictor(), seqs, every=3, grabcut=True)
    (clip,) = res.clips
    assert [s.frame for s in clip.samples] == ["00000", "00000", "00003", "00003"]
    assert {s.obj_id for s in clip.samples} == {1, 2}
    assert res.mean("box_iou") >= 0.85 and res.mean("click_iou") >= 0.7
    assert res.mean("neg_iou") >= 0.6 and res.mean("grabcut_iou") > 0.5
    for f in ("box_ms", "click_ms", "encode_ms", "grabcut_ms", "box_cpu"):
        assert res.median(f) > 0
    d = json.loads(json.dumps(res.to_dict()))
    assert d["clips"][0]["n"] == 4 and len(d["clips"][0]["samples"]) == 4
    assert abs(d["box_iou"] - res.mean("box_iou")) < 1e-9
    lines = res.table().splitlines()
    assert lines[-1].startswith("mean") and any(line.startswith("synth") for line in lines)
    assert res.subset(["other"]).clips == ()


def test_negative_point_goes_to_the_largest_false_positive():
    gt = np.zeros((100, 100), bool)
    gt[20:60, 20:60] = True
    pred = gt.copy()
    pred[20:60, 60:90] = True  # a leak to the right
    pred[70:72, 20:22] = True  # a speck
    p = negative_point(gt, pred)
    assert 60 <= p[0] < 90 and 20 <= p[1] < 60
    # no false positive: the background inside the object's grown box
    q = negative_point(gt, gt)
    assert not gt[int(q[1]), int(q[0])]
    assert 12 <= q[0] < 68 and 12 <= q[1] < 68


def test_grabcut_reference_finds_a_plain_square():
    img = np.full((120, 160, 3), 40, np.uint8)
    img += np.random.default_rng(0).integers(0, 20, img.shape, dtype=np.uint8)
    gt = np.zeros((120, 160), bool)
    gt[30:90, 50:110] = True
    img[gt] = (200, 60, 60)
    assert mask_iou(grabcut_box(img, mask_box(gt)), gt) > 0.9


def test_bad_sampling_raises_naming_the_fix(tmp_path):
    (seq,) = load_sequences(write_clip(tmp_path, n=2))
    with pytest.raises(ValueError, match="every must be >= 1"):
        sample_positions(seq, 0, None)
    with pytest.raises(ValueError, match="frames must be >= 1"):
        sample_positions(seq, 1, 0)
    assert sample_positions(seq, 1, 1) == [0]
