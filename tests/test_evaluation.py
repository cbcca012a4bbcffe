"""DAVIS-style evaluation: J/F against hand-computed values, the mask loader, the runner,
the pictures and the optical-flow baseline (on a few real DAVIS frames when available)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from samstream.evaluation import (
    EvalResult,
    FlowWarpBaseline,
    boundary_f,
    boundary_map,
    boundary_prf,
    boundary_tolerance,
    evaluate,
    interior_point,
    load_sequences,
    mask_to_box,
    prompt_from_mask,
    read_mask,
    region_similarity,
    render_chart,
    render_overlay_strip,
)
from samstream.types import Frame, Segmentation

VOS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "vos"


def square(r0, r1, c0, c1, shape=(10, 10)):
    """Bool mask with rows r0..r1 and columns c0..c1 (inclusive) set."""
    m = np.zeros(shape, bool)
    m[r0 : r1 + 1, c0 : c1 + 1] = True
    return m


# ------------------------------------------------------------------------------------ J


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


# ------------------------------------------------------------------------------------ F


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


# ------------------------------------------------------------------------------------ loader


def test_palette_png_read_as_indices(tmp_path):
    Image = pytest.importorskip("PIL.Image", reason="palette PNG masks are read with Pillow")

    ids = np.zeros((8, 9), np.uint8)
    ids[1:4, 1:4] = 1
    ids[5:7, 5:8] = 2
    img = Image.fromarray(ids, mode="P")
    img.putpalette([0, 0, 0, 128, 0, 0, 0, 128, 0] + [0] * (253 * 3))
    path = tmp_path / "00000.png"
    img.save(path)
    assert Image.open(path).mode == "P"
    # OpenCV alone would give colours (BGR (0, 0, 128) for index 1), not ids
    assert cv2.imread(str(path), cv2.IMREAD_UNCHANGED).ndim == 3
    got = read_mask(path)
    assert got.shape == (8, 9) and got.ndim == 2
    assert np.array_equal(got, ids)
    assert got[2, 2] == 1  # not 128, not a colour


def test_binary_255_means_object_1_and_ids_are_kept(tmp_path):
    m = np.zeros((6, 7), np.uint8)
    m[1:3, 2:5] = 255
    cv2.imwrite(str(tmp_path / "a.png"), m)
    got = read_mask(tmp_path / "a.png")
    assert set(np.unique(got).tolist()) == {0, 1}
    assert np.array_equal(got == 1, m == 255)
    cv2.imwrite(str(tmp_path / "b.png"), (m > 0).astype(np.uint8))  # 0/1
    assert np.array_equal(read_mask(tmp_path / "b.png"), (m > 0).astype(np.uint8))
    multi = m.copy() // 255
    multi[4:6, 0:2] = 2
    cv2.imwrite(str(tmp_path / "c.png"), multi)
    assert set(np.unique(read_mask(tmp_path / "c.png")).tolist()) == {0, 1, 2}


def test_colour_mask_rejected(tmp_path):
    rgb = np.zeros((5, 5, 3), np.uint8)
    rgb[1, 1] = (0, 0, 128)
    cv2.imwrite(str(tmp_path / "x.png"), rgb)
    with pytest.raises(ValueError, match="palette"):
        read_mask(tmp_path / "x.png")


def write_sequence(root: Path, name="toy", n=6, shape=(40, 48), skip_mask=(3,)):
    """A tiny two-object sequence: a bright square moving right (id 1) and a dark bar (id 2).

    Returns the label maps. Frame ``skip_mask`` positions get no mask file.
    """
    h, w = shape
    (root / name / "frames").mkdir(parents=True)
    (root / name / "masks").mkdir(parents=True)
    rng = np.random.default_rng(0)
    labels = []
    for i in range(n):
        lab = np.zeros(shape, np.uint8)
        lab[8:20, 4 + 2 * i : 16 + 2 * i] = 1
        lab[26:34, 30:44] = 2
        img = rng.integers(60, 120, size=(h, w, 3), dtype=np.uint8)
        img[lab == 1] = 230
        img[lab == 2] = 10
        cv2.imwrite(str(root / name / "frames" / f"{i:05d}.png"), img)  # lossless for the test
        if i not in skip_mask:
            cv2.imwrite(str(root / name / "masks" / f"{i:05d}.png"), lab)
        labels.append(lab)
    return labels


def test_loader_layout_and_errors(tmp_path):
    write_sequence(tmp_path / "data")
    (tmp_path / "data" / "README.txt").write_text("not a sequence")
    seqs = load_sequences(tmp_path / "data")
    assert [s.name for s in seqs] == ["toy"]
    s = seqs[0]
    assert len(s) == 6 and s.annotated == [0, 1, 2, 4, 5] and s.read_mask(3) is None
    assert s.object_ids() == [1, 2]
    assert s.read_frame(0).shape == (40, 48, 3)
    assert len(load_sequences(tmp_path / "data", max_frames=2)[0]) == 2
    assert load_sequences(tmp_path / "data" / "toy")[0].name == "toy"  # a single sequence folder

    with pytest.raises(FileNotFoundError, match="frames"):
        load_sequences(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no sequence folders"):
        load_sequences(tmp_path / "empty")
    (tmp_path / "bad" / "seq" / "frames").mkdir(parents=True)
    with pytest.raises(ValueError, match="masks/"):
        load_sequences(tmp_path / "bad")
    with pytest.raises(ValueError, match="available"):
        load_sequences(tmp_path / "data", names=["nothere"])
    cv2.imwrite(str(tmp_path / "data" / "toy" / "masks" / "00099.png"), np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError, match="same stem"):
        load_sequences(tmp_path / "data")


# ------------------------------------------------------------------------------------ runner


class Oracle:
    """Returns the ground truth; records the prompts it was given."""

    def __init__(self, labels):
        self.labels = labels
        self.prompts = {}

    def add_object(self, obj_id, points=None, labels=None, box=None, mask=None):
        self.prompts[obj_id] = dict(points=points, labels=labels, box=box, mask=mask)

    def track(self, frame: Frame) -> Segmentation:
        lab = self.labels[frame.index]
        ids = sorted(self.prompts)
        return Segmentation(
            masks=np.stack([lab == o for o in ids]),
            scores=np.ones(len(ids)),
            object_ids=ids,
            frame_index=frame.index,
            timestamp=frame.timestamp,
        )


@pytest.mark.parametrize("mode", ["mask", "box", "point"])
def test_evaluate_oracle_is_perfect(tmp_path, mode):
    labels = write_sequence(tmp_path)
    made = []

    def factory():
        made.append(Oracle(labels))
        return made[-1]

    res = evaluate(factory, tmp_path, mode, method="oracle")
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

    res = evaluate(lambda: Frozen(labels), tmp_path, "mask", exclude_last=True)
    (s,) = res.sequences
    assert s.scored_stems == ["00001", "00002", "00004"]
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


def test_pictures(tmp_path):
    labels = write_sequence(tmp_path / "data")
    res = evaluate(lambda: Oracle(labels), tmp_path / "data", "mask", method="oracle", sample_frames=3)
    other = EvalResult.from_dict(res.to_dict())
    other.method = "copy"
    chart = render_chart([res, other], tmp_path / "out" / "chart.png")
    img = cv2.imread(str(chart))
    assert img is not None and img.shape[1] >= 640
    seq = load_sequences(tmp_path / "data")[0]
    sr = res.sequences[0]
    assert sorted(sr.samples) == [0, 2, 5]  # evenly spaced over positions 0..5
    strip = render_overlay_strip(seq, sr, tmp_path / "out" / "strip.png", thumb_width=96)
    img = cv2.imread(str(strip))
    assert img is not None and img.shape[1] >= 3 * 96
    # a plain {position: label map} works too
    render_overlay_strip(seq, {1: labels[1]}, tmp_path / "out" / "one.png")


# ------------------------------------------------------------------------------------ baseline


def test_flow_baseline_prompts_and_synthetic_motion(tmp_path):
    labels = write_sequence(tmp_path, skip_mask=())
    b = FlowWarpBaseline()
    b.add_object(1, box=[4, 8, 16, 20])
    b.add_object(2, points=np.array([[37, 30]]), labels=np.array([1]))
    seq = load_sequences(tmp_path)[0]
    seg = b.track(Frame(seq.read_frame(0), 0, 0.0))
    assert np.array_equal(seg.mask_for(1), labels[0] == 1)  # the box region itself
    disc = seg.mask_for(2)
    assert disc[30, 37] and disc.sum() < (labels[0] == 2).sum() * 2
    res = evaluate(FlowWarpBaseline, tmp_path, "mask")
    assert res.sequences[0].objects[1].J > 0.9  # the static bar stays put


@pytest.mark.skipif(not (VOS / "blackswan").is_dir(), reason="DAVIS data not in shared/data/vos")
def test_flow_baseline_on_real_davis_frames():
    res = evaluate(FlowWarpBaseline, VOS, "mask", sequences=["blackswan"], max_frames=10)
    (s,) = res.sequences
    assert len(s.scored_stems) == 9
    assert s.J > 0.5 and s.F > 0.3
