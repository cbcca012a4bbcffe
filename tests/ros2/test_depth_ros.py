"""Depth over ROS 2, each side in its own process: samstream publishes ``<ns>/objects``
(Detection3DArray) and ``<ns>/objects/points`` (PointCloud2), received by a separate rclpy listener
with the colour frame's header and bounded sizes; and samstream subscribes to a fake RGB-D camera's
colour + 16UC1 depth + CameraInfo, matches them by stamp and publishes no 3-D for frames without depth."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from ros2_testutil import HELPERS, PY

pytestmark = pytest.mark.usefixtures("ros_available")


def _start_listener(procs, tmp_path, count):
    out = tmp_path / "listen.json"
    p = procs.python(HELPERS / "depth_listen.py", "--ns", "/samstream", "--count", count, "--timeout", 120,
                     "--out", out, name="listener")
    procs.wait_for_line(p, "READY", 60)
    return p, out


def _check_cloud(points, max_points, frame_id):
    assert points, "no PointCloud2 received"
    for c in points:
        assert c["frame_id"] == frame_id and c["height"] == 1 and 0 < c["width"] <= max_points
        assert c["point_step"] == 16 and c["row_step"] == 16 * c["width"] and c["bytes"] == c["row_step"]
        assert c["fields"] == [["x", 0, 7, 1], ["y", 4, 7, 1], ["z", 8, 7, 1], ["id", 12, 6, 1]] and c["is_dense"]
        assert 0.5 < c["z_range"][0] <= c["z_range"][1] < 4.6


def test_synthetic_depth_publishes_detection3d_and_points(procs, tmp_path):
    listener, out = _start_listener(procs, tmp_path, 5)
    sam = procs.samstream("run", "--source", "synthetic:320x240@30", "--depth", "--ros2", "--max-points", "300",
                          "--prompt", "box:120,80,200,160@1", "--prompt", "point:60,60@2", "--max-frames", "100000",
                          "-q", name="samstream")
    procs.wait(listener, 150)
    procs.kill(sam)
    got = json.loads(out.read_text())
    assert len(got["objects"]) >= 5
    stamps_2d = {tuple(d["stamp"]): d["ids"] for d in got["detections"]}
    both = 0
    for m in got["objects"]:
        assert m["frame_id"] == "camera"  # the colour frame's header (the --ros2 default frame_id)
        for d in m["dets"]:
            assert d["header"] == {"stamp": m["stamp"], "frame_id": "camera"} and d["class_id"] == d["id"]
            assert d["center"] == d["pose"] and 0.5 < d["center"][2] < 4.6 and all(s > 0 for s in d["size"])
        if tuple(m["stamp"]) in stamps_2d:  # same ids as the 2-D detections of that frame
            both += 1
            assert {d["id"] for d in m["dets"]} <= set(stamps_2d[tuple(m["stamp"])])
    assert both >= 1
    _check_cloud(got["points"], 300, "camera")


def test_depth_and_camera_info_subscriptions_matched_by_stamp(procs, tmp_path):
    from samstream.sources import SyntheticScene

    init = tmp_path / "gt0.png"
    cv2.imwrite(str(init), SyntheticScene(320, 240, 3, 3, 1.0).render(0)[1])
    listener, out = _start_listener(procs, tmp_path, 8)
    stats = tmp_path / "stats.json"
    sam = procs.samstream("run", "--source", "ros2:/cam/image_raw", "--depth-topic", "/cam/depth/image_raw",
                          "--ros2", "--init-mask", init, "--max-frames", "48", "--sync", "--stats-json", stats, "-q",
                          name="samstream")
    truth_path = tmp_path / "truth.json"
    cam = procs.python(HELPERS / "depth_camera.py", "--ns", "/cam", "--frames", 48, "--skip-depth-every", 4, "--fps", 4,
                       "--out", truth_path, name="camera")
    procs.wait(cam, 150)
    procs.wait(listener, 150)
    procs.kill(sam)
    truth = {tuple(f["stamp"]): f for f in json.loads(truth_path.read_text())["frames"]}
    got = json.loads(out.read_text())
    assert len(got["objects"]) >= 8  # a loaded CPU skips camera frames (a live source keeps the newest)
    worst, checked = 0.0, 0
    for m in got["objects"]:
        f = truth[tuple(m["stamp"])]  # the exact stamp of a camera frame
        assert f["depth"], f"3-D published for frame {f['index']}, which had no depth"
        assert m["frame_id"] == "cam_color_optical_frame"  # header copied from the colour image
        if f["index"] >= 16:
            continue  # later the objects overlap and the tracked masks (not the lifting) bleed between them
        checked += 1
        assert {d["id"] for d in m["dets"]} == set(f["centroids"])
        for d in m["dets"]:
            t = np.array(f["centroids"][d["id"]])
            worst = max(worst, float(np.linalg.norm(np.array(d["center"]) - t) / np.linalg.norm(t)))
    # a wrong depth scale, stamp match or CameraInfo would be off by far more than 2 %
    assert checked >= 3 and worst < 0.02, f"{checked} frames, worst centroid error {100 * worst:.2f} %"
    _check_cloud(got["points"], 20000, "cam_color_optical_frame")
