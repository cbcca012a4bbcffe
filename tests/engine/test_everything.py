"""Tests for samstream.engine.everything (automatic "segment everything" mask generation).

A fake Predictor answers each point with the flat-coloured connected region under it (as
signed-distance logits), so the right answer is known exactly.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from samstream.engine.base import Embedding, Predictor
from samstream.engine.everything import (
    EverythingConfig,
    MaskGenerator,
    MaskRecord,
    box_iou,
    box_nms,
    build_point_grid,
    remove_small_regions,
    stability_score,
)
from samstream.types import Frame, as_image
from samstream.geometry import mask_iou

H, W = 120, 160
SPECK = (slice(62, 65), slice(84, 87))  # 3x3 speck under grid point (85, 63.75) of a 16x16 grid
DISC_SCORE = 0.5


def draw_scene() -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """Image with 4 flat shapes + a 3x3 speck on a flat background; ground-truth masks."""
    img = np.full((H, W, 3), (90, 90, 90), np.uint8)
    labels = np.zeros((H, W), np.uint8)

    img[10:45, 10:50] = (0, 0, 220)
    labels[10:45, 10:50] = 1
    cv2.circle(img, (110, 35), 22, (0, 200, 0), -1)
    cv2.circle(labels, (110, 35), 22, 2, -1)
    tri = np.array([[20, 110], [70, 110], [45, 65]], np.int32)
    cv2.fillPoly(img, [tri], (220, 0, 0))
    cv2.fillPoly(labels, [tri], 3)
    cv2.ellipse(img, (120, 90), (30, 15), 0, 0, 360, (0, 220, 220), -1)
    cv2.ellipse(labels, (120, 90), (30, 15), 0, 0, 360, 4, -1)

    img[SPECK] = (255, 255, 255)
    speck = np.zeros((H, W), bool)
    speck[SPECK] = True
    shapes = {name: labels == k for k, name in enumerate(["rect", "circle", "triangle", "ellipse"], 1)}
    return img, shapes, speck


class RegionPredictor(Predictor):
    """Fake backend: for a point, candidates are

    0. the flat-colour connected region under the point (score 0.95 - 0.01 * region index),
    1. the same mask with softer logits (score 0.005 lower: an exact duplicate),
    2. a radius-4 disc around the point (score ``DISC_SCORE``, below the default IoU filter).

    Logits are ``sharpness * signed distance`` to the region boundary (>= 1 px inside).
    """

    name = "fake-regions"
    input_side = 256
    low_res_side = 64

    def __init__(self, sharpness: float = 4.0) -> None:
        super().__init__()
        self.sharpness = sharpness
        self.encode_calls = 0
        self.decode_prompts = 0
        self.multimask_seen: set[bool] = set()
        self.return_logits_seen: set[bool] = set()
        self.batch_sizes: list[int] = []

    def encode(self, image, frame_index=-1, timestamp=0.0) -> Embedding:
        self.encode_calls += 1
        img = as_image(image)
        h, w = img.shape[:2]
        codes = (img[..., 0].astype(np.int32) << 16) | (img[..., 1].astype(np.int32) << 8) | img[..., 2]
        regions = np.zeros((h, w), np.int32)
        signed = []
        nxt = 0
        for code in np.unique(codes):
            n, lab = cv2.connectedComponents((codes == code).astype(np.uint8), connectivity=8)
            for k in range(1, n):
                region = lab == k
                regions[region] = nxt
                inside = cv2.distanceTransform(region.astype(np.uint8), cv2.DIST_L2, 3)
                outside = cv2.distanceTransform((~region).astype(np.uint8), cv2.DIST_L2, 3)
                signed.append(np.clip(inside - outside, -100, 100).astype(np.float32))
                nxt += 1
        return Embedding(
            features={"regions": regions, "signed": np.stack(signed)},
            frame=self.square_frame((h, w)),
            frame_index=frame_index,
            timestamp=timestamp,
        )

    def _decode(self, emb, prompts, multimask_output, return_logits):
        self.multimask_seen.add(bool(multimask_output))
        self.return_logits_seen.add(bool(return_logits))
        self.batch_sizes.append(len(prompts))
        regions, signed = emb.features["regions"], emb.features["signed"]
        h, w = regions.shape
        yy, xx = np.mgrid[0:h, 0:w]
        out = []
        for pts, _labels, _box, _mask_in in prompts:
            self.decode_prompts += 1
            x, y = float(pts[0, 0]), float(pts[0, 1])
            rid = int(regions[min(int(y), h - 1), min(int(x), w - 1)])
            sd = signed[rid]
            disc = np.hypot(xx - x, yy - y) <= 4.0
            logits = np.stack([
                self.sharpness * sd,
                0.5 * self.sharpness * sd,
                np.where(disc, 4.0, -4.0).astype(np.float32),
            ])
            score0 = 0.95 - 0.01 * rid
            scores = np.array([score0, score0 - 0.005, DISC_SCORE], np.float32)
            if not multimask_output:
                logits, scores = logits[:1], scores[:1]
            low = np.concatenate([emb.frame.mask_to_logits(lg > 0) for lg in logits])
            masks = logits.astype(np.float32) if return_logits else logits > 0
            out.append((masks, scores, low))
        return out


@pytest.fixture(scope="module")
def scene():
    return draw_scene()


def run(scene, **cfg) -> tuple[list[MaskRecord], MaskGenerator, RegionPredictor]:
    sharp = cfg.pop("sharpness", 4.0)
    pred = RegionPredictor(sharpness=sharp)
    gen = MaskGenerator(pred, EverythingConfig(**cfg))
    return gen.generate(scene[0]), gen, pred


def matches(records: list[MaskRecord], target: np.ndarray, thresh: float) -> list[int]:
    return [i for i, r in enumerate(records) if mask_iou(r.segmentation, target, empty=0.0) >= thresh]


# -- config ------------------------------------------------------------------------------------
def test_config_defaults_are_cpu_sized():
    cfg = EverythingConfig()
    assert cfg.points_per_side == 16 and cfg.points_per_batch == 64
    assert cfg.multimask_output is True
    assert cfg.min_area_for(H, W) == round(0.001 * H * W) == 19
    assert EverythingConfig(min_mask_region_area=0).min_area_for(H, W) == 0
    assert EverythingConfig(min_mask_region_area=50).min_area_for(480, 640) == 50


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"points_per_side": 0}, "points_per_side"),
        ({"points_per_side": 4.5}, "points_per_side"),
        ({"points_per_side": True}, "points_per_side"),
        ({"points_per_batch": 0}, "points_per_batch"),
        ({"max_batch_bytes": 0}, "max_batch_bytes"),
        ({"pred_iou_thresh": 1.5}, "pred_iou_thresh"),
        ({"pred_iou_thresh": float("nan")}, "pred_iou_thresh"),
        ({"stability_score_thresh": -0.1}, "stability_score_thresh"),
        ({"stability_score_offset": -1.0}, "stability_score_offset"),
        ({"mask_threshold": float("inf")}, "mask_threshold"),
        ({"box_nms_thresh": 0.0}, "box_nms_thresh"),
        ({"box_nms_thresh": 1.2}, "box_nms_thresh"),
        ({"min_mask_region_area": -1}, "min_mask_region_area"),
        ({"min_mask_region_area": 0.001}, "min_mask_region_area"),
        ({"max_masks": 0}, "max_masks"),
        ({"max_masks": 256}, "max_masks"),
        ({"multimask_output": "yes"}, "multimask_output"),
        ({"sort_by": "size"}, "sort_by"),
    ],
)
def test_config_validation_names_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        EverythingConfig(**kwargs)


def test_generator_rejects_non_predictor_and_bad_config():
    with pytest.raises(ValueError, match="predict_batch"):
        MaskGenerator(object())
    with pytest.raises(ValueError, match="EverythingConfig"):
        MaskGenerator(RegionPredictor(), config={"points_per_side": 8})


# -- helpers -----------------------------------------------------------------------------------
@pytest.mark.parametrize("n, h, w", [(1, 10, 20), (4, 120, 160), (16, 480, 640)])
def test_point_grid_is_row_major_cell_centres(n, h, w):
    g = build_point_grid(n, h, w)
    assert g.shape == (n * n, 2) and g.dtype == np.float32
    assert np.allclose(g[0], (w / (2 * n), h / (2 * n)))
    assert np.allclose(g[-1], (w - w / (2 * n), h - h / (2 * n)))
    assert (g[:, 0] > 0).all() and (g[:, 0] < w).all() and (g[:, 1] > 0).all() and (g[:, 1] < h).all()
    # row-major: x varies fastest
    assert np.allclose(g[:n, 1], g[0, 1]) and np.all(np.diff(g[:n, 0]) > 0)


def test_box_iou_values():
    a = np.array([[0, 0, 10, 10], [0, 0, 10, 10]])
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30], [3, 3, 3, 8]])
    iou = box_iou(a, b)
    assert iou.shape == (2, 4)
    assert np.allclose(iou[0], [1.0, 50 / 150, 0.0, 0.0])


def test_box_nms_is_greedy_by_score():
    boxes = np.array([
        [0, 0, 10, 10],    # A, best
        [3, 0, 13, 10],    # B, duplicate of A -> dropped
        [6, 0, 16, 10],    # C, overlaps B a lot but A little -> kept (B was dropped)
        [50, 50, 60, 60],  # D, disjoint -> kept
        [0, 0, 10, 10],    # E, identical to A, lower score -> dropped
    ])
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    assert box_iou(boxes[1], boxes[2])[0, 0] > 0.5 and box_iou(boxes[0], boxes[2])[0, 0] < 0.5
    keep = box_nms(boxes, scores, 0.5)
    assert keep.tolist() == [0, 2, 3]
    # order follows score, not input order
    assert box_nms(boxes[[3, 0]], [0.1, 0.9], 0.5).tolist() == [1, 0]
    # 1.0 disables suppression (even identical boxes survive)
    assert sorted(box_nms(boxes, scores, 1.0).tolist()) == [0, 1, 2, 3, 4]
    assert box_nms(np.zeros((0, 4)), np.zeros(0), 0.5).tolist() == []


def test_remove_small_regions_fills_holes_and_drops_islands():
    m = np.zeros((40, 40), bool)
    m[5:30, 5:30] = True
    m[10:12, 10:12] = False  # 4 px hole
    m[35:37, 35:37] = True   # 4 px island
    out, changed = remove_small_regions(m, 10)
    assert changed
    assert out[10:12, 10:12].all() and not out[35:37, 35:37].any()
    assert np.count_nonzero(out) == 25 * 25
    same, changed0 = remove_small_regions(m, 0)
    assert not changed0 and np.array_equal(same, m)
    only_speck = np.zeros((40, 40), bool)
    only_speck[0:2, 0:2] = True
    empty, _ = remove_small_regions(only_speck, 10)
    assert not empty.any()


def test_stability_score_is_iou_of_offset_thresholds():
    lg = np.zeros((2, 4, 4), np.float32)
    lg[0] = 5.0                 # every pixel well above +/-1 -> 1.0
    lg[1, :2] = 5.0             # 8 px above +1
    lg[1, 2] = 0.5              # 4 px only above -1
    lg[1, 3] = -5.0
    assert np.allclose(stability_score(lg, 0.0, 1.0), [1.0, 8 / 12])
    assert stability_score(np.full((3, 3), -9.0), 0.0, 1.0) == 0.0


# -- generation ---------------------------------------------------------------------------------
@pytest.mark.parametrize("points_per_batch", [1, 7, 64, 256])
def test_finds_each_shape_exactly_once(scene, points_per_batch):
    img, shapes, speck = scene
    records, gen, pred = run(scene, points_per_batch=points_per_batch)
    assert pred.return_logits_seen == {True} and pred.multimask_seen == {True}
    assert pred.decode_prompts == 256 and gen.last_stats["prompts"] == 256
    for name, gt in shapes.items():
        good = matches(records, gt, 0.9)
        assert len(good) == 1, f"{name}: {len(good)} records with IoU >= 0.9"
        assert len(matches(records, gt, 0.3)) == 1, f"{name} has a second, overlapping record"
    assert not matches(records, speck, 0.5), "the 9 px speck must be dropped by the min-area filter"
    assert len(records) == len(shapes) + 1  # + the background region
    background = ~np.logical_or.reduce(list(shapes.values()))
    assert matches(records, background, 0.99)
    # record fields are consistent
    for r in records:
        assert r.segmentation.shape == (H, W) and r.segmentation.dtype == bool
        assert r.area == np.count_nonzero(r.segmentation) > 0
        ys, xs = np.nonzero(r.segmentation)
        assert r.bbox == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
        assert 0.8 < r.predicted_iou <= 1.0 and r.stability_score >= 0.85
        x, y = r.point
        assert r.segmentation[int(y), int(x)], "the prompting point lies in its mask"
    areas = [r.area for r in records]
    assert areas == sorted(areas, reverse=True)


@pytest.mark.parametrize(
    "kwargs, hw, expected",
    [
        ({}, (480, 640), 64),
        ({}, (1080, 1920), 10),
        ({"multimask_output": False}, (1080, 1920), 32),
        ({"max_batch_bytes": 1}, (120, 160), 1),
        ({"points_per_batch": 8}, (120, 160), 8),
    ],
)
def test_batch_size_is_bounded_by_memory(kwargs, hw, expected):
    cfg = EverythingConfig(**kwargs)
    assert cfg.batch_for(*hw) == expected
    per_prompt = (3 if cfg.multimask_output else 1) * hw[0] * hw[1] * 4
    assert expected == 1 or expected * per_prompt <= cfg.max_batch_bytes


def test_decoder_batches_respect_the_byte_cap(scene):
    per_prompt = 3 * H * W * 4
    records, gen, pred = run(scene, max_batch_bytes=5 * per_prompt + 1)
    assert max(pred.batch_sizes) == 5 and sum(pred.batch_sizes) == 256
    assert gen.last_stats["batch"] == 5 and len(records) == 5


def test_results_do_not_depend_on_batch_size(scene):
    a, _, _ = run(scene, points_per_batch=1)
    b, _, _ = run(scene, points_per_batch=256)
    assert [r.bbox for r in a] == [r.bbox for r in b]
    assert all(np.array_equal(x.segmentation, y.segmentation) for x, y in zip(a, b))


def test_nms_is_what_removes_duplicates(scene):
    img, shapes, _ = scene
    grid = build_point_grid(16, H, W)
    for name, gt in shapes.items():  # the test is only meaningful with several points per shape
        inside = gt[grid[:, 1].astype(int), grid[:, 0].astype(int)]
        assert inside.sum() >= 4, name
    no_nms, gen, _ = run(scene, box_nms_thresh=1.0, max_masks=255)
    with_nms, _, _ = run(scene, max_masks=255)
    assert gen.last_stats["after_stability"] > 2 * len(with_nms)
    rect_points = int(shapes["rect"][grid[:, 1].astype(int), grid[:, 0].astype(int)].sum())
    # without NMS: both candidates (sharp + soft duplicate) of every point in the rectangle
    assert len(matches(no_nms, shapes["rect"], 0.9)) == 2 * rect_points
    assert len(matches(with_nms, shapes["rect"], 0.9)) == 1


@pytest.mark.parametrize("min_area, speck_found", [(0, True), (5, True), (10, False), (None, False)])
def test_min_area_filter_drops_the_speck(scene, min_area, speck_found):
    _, shapes, speck = scene
    records, _, _ = run(scene, min_mask_region_area=min_area)
    hits = matches(records, speck, 0.9)
    assert len(hits) == (1 if speck_found else 0)
    if speck_found:
        assert records[hits[0]].area == 9
    # the background mask has the speck as a hole: kept with area <= 9, filled above
    bg = [r for r in records if r.area > 5000]
    assert len(bg) == 1
    assert bg[0].segmentation[SPECK].all() == (not speck_found)
    for gt in shapes.values():
        assert len(matches(records, gt, 0.9)) == 1


@pytest.mark.parametrize("k", [1, 2, 3])
def test_max_masks_keeps_the_best_scoring(scene, k):
    full, _, _ = run(scene, max_masks=64)
    capped, gen, _ = run(scene, max_masks=k)
    assert len(full) > k and len(capped) == k
    best = sorted((r.predicted_iou for r in full), reverse=True)[:k]
    assert sorted((r.predicted_iou for r in capped), reverse=True) == pytest.approx(best)
    assert gen.last_stats["masks"] == k


def test_sort_by_score(scene):
    records, _, _ = run(scene, sort_by="score")
    ious = [r.predicted_iou for r in records]
    assert ious == sorted(ious, reverse=True) and len(records) == 5
    assert [r.area for r in records] != sorted((r.area for r in records), reverse=True)


@pytest.mark.parametrize("thresh, discs_expected", [(0.8, False), (0.3, True)])
def test_pred_iou_filter(scene, thresh, discs_expected):
    records, _, _ = run(scene, pred_iou_thresh=thresh, max_masks=255)
    discs = [r for r in records if r.predicted_iou == pytest.approx(DISC_SCORE)]
    assert bool(discs) == discs_expected
    for r in discs:  # a disc of radius 4 around its point (clipped by nothing here)
        assert r.area < 100 and r.segmentation[int(r.point[1]), int(r.point[0])]


@pytest.mark.parametrize("stab_thresh, n_expected", [(0.85, 0), (0.0, 5)])
def test_stability_filter_on_blurry_logits(scene, stab_thresh, n_expected):
    # sharpness 0.2: the +/-1 logit band is +/-5 px wide, so the masks are unstable
    records, gen, _ = run(scene, sharpness=0.2, stability_score_thresh=stab_thresh)
    assert len(records) == n_expected
    if n_expected:
        assert all(r.stability_score < 0.85 for r in records)
        for gt in scene[1].values():
            assert len(matches(records, gt, 0.9)) == 1
    else:
        assert gen.last_stats["after_iou"] > 0 and gen.last_stats["after_stability"] == 0


def test_single_mask_output(scene):
    records, _, pred = run(scene, multimask_output=False)
    assert pred.multimask_seen == {False}
    assert len(records) == 5
    for gt in scene[1].values():
        assert len(matches(records, gt, 0.9)) == 1


def test_uniform_image_gives_one_full_mask():
    pred = RegionPredictor()
    records = MaskGenerator(pred, EverythingConfig(points_per_side=4)).generate(
        np.full((30, 40, 3), 7, np.uint8)
    )
    assert len(records) == 1
    assert records[0].segmentation.all() and records[0].bbox == (0, 0, 40, 30)


def test_generate_uses_cached_image_when_none_given(scene):
    pred = RegionPredictor()
    gen = MaskGenerator(pred, EverythingConfig(points_per_side=8))
    with pytest.raises(RuntimeError, match="set_image"):
        gen.generate()
    pred.set_image(scene[0])
    a = gen.generate()
    b = gen.generate(scene[0])
    assert pred.encode_calls == 2
    assert [r.bbox for r in a] == [r.bbox for r in b] and len(a) == 5


# -- typed result ------------------------------------------------------------------------------
@pytest.mark.parametrize("start_id", [1, 10])
def test_generate_segmentation(scene, start_id):
    img, shapes, _ = scene
    pred = RegionPredictor()
    gen = MaskGenerator(pred)
    frame = Frame(img, index=7, timestamp=12.5, source="synthetic")
    seg = gen.generate_segmentation(frame, start_id=start_id)
    records = gen.generate(img)
    assert len(seg) == len(records) == 5
    assert seg.object_ids.tolist() == list(range(start_id, start_id + 5))
    assert seg.frame_index == 7 and seg.timestamp == 12.5 and seg.keyframe_index == 7
    assert seg.masks.shape == (5, H, W) and not seg.lost.any()
    for m, s, r in zip(seg.masks, seg.scores, records):
        assert np.array_equal(m, r.segmentation) and s == pytest.approx(r.predicted_iou)
    labels = seg.label_map()
    for gt in shapes.values():
        ids, counts = np.unique(labels[gt], return_counts=True)
        assert counts.max() / gt.sum() > 0.9 and ids[np.argmax(counts)] >= start_id
    # the embedding for this frame index is reused, not re-encoded
    calls = pred.encode_calls
    gen.generate_segmentation(Frame(img, index=8, timestamp=13.0))
    gen.generate_segmentation(Frame(img, index=8, timestamp=13.0))
    assert pred.encode_calls == calls + 1


def test_generate_segmentation_checks_ids(scene):
    gen = MaskGenerator(RegionPredictor())
    frame = Frame(scene[0], index=0, timestamp=0.0)
    for bad in (0, 256, True):
        with pytest.raises(ValueError, match="start_id"):
            gen.generate_segmentation(frame, start_id=bad)
    with pytest.raises(ValueError, match="max_masks"):
        gen.generate_segmentation(frame, start_id=253)  # 5 masks would need ids 253..257
    seg = gen.generate_segmentation(frame, start_id=251)
    assert seg.object_ids.tolist() == [251, 252, 253, 254, 255]
    empty = MaskGenerator(RegionPredictor(), EverythingConfig(pred_iou_thresh=1.0))
    seg0 = empty.generate_segmentation(frame)
    assert len(seg0) == 0 and seg0.image_size == (H, W) and seg0.keyframe_index == 0
