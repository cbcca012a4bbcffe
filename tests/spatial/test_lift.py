"""3-D lifting on synthetic RGB-D with known geometry: centroids within 2 % of the truth."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from samstream.sources import SyntheticSource
from samstream.spatial import CameraInfo, DepthFrame, DepthMatcher, LiftConfig, decode_depth, lift_objects
from samstream.types import Segmentation


def _truth(labels, depth, cam, oid):
    """Mean of the back-projected pixels of object ``oid`` with noise-free depth (the answer key)."""
    v, u = np.nonzero(labels == oid)
    z = depth[v, u].astype(np.float64)
    return np.stack([(u - cam.cx) * z / cam.fx, (v - cam.cy) * z / cam.fy, z], 1).mean(0)


@pytest.fixture(scope="module")
def rgbd():
    src = SyntheticSource(realtime=False, frames=40, num_objects=3, seed=0)
    frames = list(src)
    out = []
    for f in frames[::13]:
        gt = np.array(src.ground_truth(f.index))
        out.append((f, gt, src.depth_for(f)))
    src.close()
    return out


def _seg(frame, masks, ids):
    return Segmentation(np.stack(masks), np.full(len(ids), 0.9), ids, frame.index, frame.timestamp)


def _rel_err(obj, truth):
    return float(np.linalg.norm(obj.centroid - truth) / np.linalg.norm(truth))


def _check(rgbd, make_masks, make_depth, limit=0.02):
    worst = 0.0
    for frame, gt, d in rgbd:
        ids = [i for i in (1, 2, 3) if np.count_nonzero(gt == i) > 400]
        seg = _seg(frame, [make_masks(gt, i) for i in ids], ids)
        objs = lift_objects(seg, make_depth(d))
        assert objs.ids == ids
        assert objs.frame_id == d.camera.frame_id and objs.frame_index == frame.index
        for oid in ids:
            err = _rel_err(objs.get(oid), _truth(gt, d.depth, d.camera, oid))
            worst = max(worst, err)
    print(f"worst centroid error {100 * worst:.2f} %")
    assert worst < limit, f"worst centroid error {100 * worst:.2f} % of the distance"
    return worst


def test_centroid_clean_depth(rgbd):
    _check(rgbd, lambda gt, i: gt == i, lambda d: d)


def test_centroid_with_invalid_pixels_16uc1(rgbd):
    """25 % zero pixels and 40 small 8x8 holes, through the 16UC1 millimetre path."""
    rng = np.random.default_rng(1)

    def broken(d):
        mm = np.round(d.depth * 1000).astype(np.uint16)
        mm[rng.random(mm.shape) < 0.25] = 0
        for y, x in zip(rng.integers(0, 472, 40), rng.integers(0, 632, 40)):
            mm[y:y + 8, x:x + 8] = 0
        return DepthFrame(decode_depth(mm, "16UC1"), d.timestamp, d.camera)

    _check(rgbd, lambda gt, i: gt == i, broken)


def test_centroid_with_nan_and_spilling_mask(rgbd):
    """A mask dilated 9 px onto the background (and neighbours), NaN and inf readings in 32FC1."""
    rng = np.random.default_rng(2)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (19, 19))

    def spill(gt, i):
        return cv2.dilate((gt == i).astype(np.uint8), kernel).astype(bool)

    def noisy(d):
        z = d.depth.copy()
        z += rng.normal(0, 0.004, z.shape).astype(np.float32)  # 4 mm sensor noise
        z[rng.random(z.shape) < 0.1] = np.nan
        z[rng.random(z.shape) < 0.02] = np.inf
        return DepthFrame(decode_depth(z, "32FC1"), d.timestamp, d.camera)

    _check(rgbd, spill, noisy)


def test_no_robustness_would_fail(rgbd):
    """The spilling mask test is a real test: without erosion and outlier rejection it fails."""
    frame, gt, d = rgbd[0]
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (19, 19))
    m = cv2.dilate((gt == 3).astype(np.uint8), kernel).astype(bool)
    naive = lift_objects(_seg(frame, [m], [3]), d, LiftConfig(erode_px=0, mad_k=1e6))
    assert _rel_err(naive.get(3), _truth(gt, d.depth, d.camera, 3)) > 0.02


def test_point_cloud_is_bounded_and_on_the_object(rgbd):
    frame, gt, d = rgbd[0]
    objs = lift_objects(_seg(frame, [gt == 2], [2]), d, LiftConfig(points=500))
    o = objs.get(2)
    assert o.points.dtype == np.float32 and 0 < o.points.shape[0] <= 500 and o.points.shape[1] == 3
    uv = d.camera.project(o.points)
    u, v = np.round(uv).astype(int).T
    assert np.mean(gt[v, u] == 2) > 0.99
    assert np.all(o.extent > 0) and o.extent[2] < 0.2
    pts, ids = objs.all_points()
    assert pts.shape == o.points.shape and set(ids.tolist()) == {2}


def test_no_valid_depth_no_object(rgbd):
    frame, gt, d = rgbd[0]
    empty = DepthFrame(np.full(d.depth.shape, np.nan, np.float32), d.timestamp, d.camera)
    assert len(lift_objects(_seg(frame, [gt == 2], [2]), empty)) == 0
    lost = Segmentation(np.stack([gt == 2]), [0.9], [2], frame.index, frame.timestamp, lost=[True])
    assert len(lift_objects(lost, d)) == 0


def test_size_mismatch_names_the_fix(rgbd):
    frame, gt, d = rgbd[0]
    small = DepthFrame(np.ones((240, 320), np.float32), 0.0, d.camera.scaled(320, 240))
    with pytest.raises(ValueError, match="aligned"):
        lift_objects(_seg(frame, [gt == 2], [2]), small)


def test_decode_depth():
    mm = np.array([[0, 1000], [2500, 65535]], np.uint16)
    z = decode_depth(mm, "16UC1")
    assert z.dtype == np.float32 and np.isnan(z[0, 0]) and z[0, 1] == 1.0 and z[1, 0] == 2.5
    f = decode_depth(np.array([[0.0, np.nan], [-1.0, 1.25]], np.float32), "32FC1")
    assert np.isnan(f[:, 0]).all() and np.isnan(f[0, 1]) and f[1, 1] == 1.25
    with pytest.raises(ValueError, match="16UC1"):
        decode_depth(mm, "bgr8")
    with pytest.raises(ValueError, match="uint16"):
        decode_depth(mm.astype(np.float32), "16UC1")
    with pytest.raises(ValueError, match="single-channel"):
        decode_depth(np.zeros((4, 4, 3), np.uint16))


def test_camera_info():
    cam = CameraInfo.from_k([500, 0, 320, 0, 510, 240, 0, 0, 1], 640, 480, "cam")
    assert (cam.fx, cam.fy, cam.cx, cam.cy) == (500, 510, 320, 240)
    assert np.allclose(cam.project(np.array([[0.0, 0.0, 2.0]])), [[320, 240]])
    with pytest.raises(ValueError, match="calibrate"):
        CameraInfo.from_k([0] * 9, 640, 480)
    half = cam.scaled(320, 240)
    assert half.fx == 250 and half.width == 320


def test_depth_matcher_bounded_tolerance():
    cam = CameraInfo.from_fov(8, 6)
    m = DepthMatcher(tolerance_s=0.01, history=3)
    for t in (1.0, 1.1, 1.2, 1.3):
        m.push(DepthFrame(np.ones((6, 8), np.float32), t, cam))
    assert m.match(1.205).timestamp == 1.2
    assert m.match(1.25) is None  # between two, beyond the tolerance: no depth, not a stale one
    assert m.match(1.0) is None  # evicted (history 3)
    s = m.stats()
    assert (s.pushed, s.matched, s.missed) == (4, 1, 2)
