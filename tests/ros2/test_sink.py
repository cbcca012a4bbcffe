"""samstream publishing ROS 2 topics, received by other processes (real rclpy, Fast DDS, separate processes).

* A publisher process runs the pipeline on the synthetic source (stamps ``1000 + i/30``, objects
  prompted with frame 0's ground truth); a reliable and a best-effort subscriber process each
  receive ``mask``, ``mask/compressed`` and ``detections``; label values are checked against the
  synthetic ground truth of the frame named by the stamp.
* ``samstream run --ros2`` at 1280x720 with ``demos/ros2_subscriber.py`` (pip wheels only).
* A subscriber that stops reading (SIGSTOP) does not slow the pipeline.
"""

from __future__ import annotations

import json

import numpy as np

from ros2_testutil import HELPERS, ROOT

FPS = 30.0
T0 = 1000.0


def _frame_index(stamp) -> int:
    """Stamp -> synthetic frame index; asserts the stamp lies on the 1000 + i/30 grid (it is a frame's)."""
    t = stamp[0] + stamp[1] * 1e-9
    i = round((t - T0) * FPS)
    assert abs((t - T0) * FPS - i) < 1e-3, f"stamp {t} is not a frame's stamp (1000 + i/30)"
    return int(i)


def test_reliable_and_best_effort_subscribers_receive_masks_matching_ground_truth(procs, tmp_path):
    from samstream.sources import SyntheticScene

    subs = {q: procs.python(HELPERS / "ros_listen.py", "--qos", q, "--count", "24", "--timeout", "90",
                            "--out", tmp_path / q, name=f"listen_{q}") for q in ("reliable", "best_effort")}
    # ROS_DOMAIN_ID is respected: a subscriber in another domain hears nothing
    other = dict(procs.env, ROS_DOMAIN_ID=str(int(procs.env["ROS_DOMAIN_ID"]) % 100 + 1))
    stranger = procs.python(HELPERS / "ros_listen.py", "--count", "1", "--timeout", "15", "--out", tmp_path / "other",
                            name="listen_other_domain", env=other)
    for p in [*subs.values(), stranger]:
        procs.wait_for_line(p, "READY", 60)
    pub = procs.python(HELPERS / "ros_publish_synthetic.py", "--frames", "24", "--wait-subs", "2",
                       "--out", tmp_path / "pub.json", name="publisher")
    procs.wait(pub, 120)
    for p in [*subs.values(), stranger]:
        procs.wait(p, 60)
    assert json.loads((tmp_path / "other" / "summary.json").read_text())["mask"] == []
    pubinfo = json.loads((tmp_path / "pub.json").read_text())
    assert pubinfo["matched"], "the publisher never saw both subscribers"
    assert pubinfo["ids"] == [1, 2, 3]
    assert pubinfo["stats"]["frames_published"] >= 20

    scene = SyntheticScene(640, 480, 3, 3, 1.0)
    for qos in ("reliable", "best_effort"):
        got = json.loads((tmp_path / qos / "summary.json").read_text())
        arrays = np.load(tmp_path / qos / "labels.npz")
        # every topic arrived, to both kinds of subscriber
        assert len(got["mask"]) >= 12, f"{qos}: only {len(got['mask'])} masks"
        assert len(got["detections"]) >= 12 and len(got["compressed"]) >= 12, qos
        for m in got["mask"]:
            assert (m["width"], m["height"], m["encoding"]) == (640, 480, "mono8")
            assert m["bytes"] == m["step"] * m["height"] == 640 * 480
            assert m["frame_id"] == "synthetic_cam"
        # stamps are the frames' own (1000 + i/30), increasing, and the same set on every topic
        idx = [_frame_index(m["stamp"]) for m in got["mask"]]
        assert idx == sorted(idx) and len(set(idx)) == len(idx) and max(idx) <= 23
        det_idx = {_frame_index(d["stamp"]) for d in got["detections"]}
        comp_idx = {_frame_index(c["stamp"]) for c in got["compressed"]}
        assert len(set(idx) & det_idx) >= 10 and len(set(idx) & comp_idx) >= 10
        # label values are the synthetic ids where the objects are
        scores = []
        for key in arrays.files:
            if not key.startswith("mask_"):
                continue
            sec, nsec = (int(v) for v in key[5:].split("_"))
            i = _frame_index((sec, nsec))
            lab, gt = arrays[key], scene.render(i)[1]
            assert set(np.unique(lab).tolist()) <= {0, 1, 2, 3}
            fg = lab > 0
            assert fg.sum() > 0.02 * lab.size, f"frame {i}: almost no object pixels"
            agree = float(np.mean(gt[fg] == lab[fg]))  # labelled pixels carry the right id
            found = float(np.mean(lab[gt > 0] == gt[gt > 0]))  # object pixels are found with their id
            scores.append((i, agree, found))
            if i == 0:  # frame 0 was prompted with the ground truth itself
                assert agree > 0.98 and found > 0.98, (agree, found)
        assert len(scores) >= 12
        assert np.median([a for _, a, _ in scores]) > 0.85, scores
        assert np.median([f for _, _, f in scores]) > 0.75, scores
        # the PNG on mask/compressed is the same label map, losslessly
        for c in got["compressed"]:
            assert c["format"] == "mono8; png compressed" and c["png"] and c["decoded_shape"] == [480, 640]
        same = [k for k in arrays.files if k.startswith("png_") and "mask_" + k[4:] in arrays.files]
        assert len(same) >= 5
        for k in same:
            np.testing.assert_array_equal(arrays[k], arrays["mask_" + k[4:]])
        # detections: one per visible object, bbox = the mask's bounding box, id = label value
        masks_by_stamp = {tuple(int(v) for v in k[5:].split("_")): arrays[k] for k in arrays.files if k.startswith("mask_")}
        checked = 0
        for d in got["detections"]:
            lab = masks_by_stamp.get(tuple(d["stamp"]))
            if lab is None:
                continue
            ids = sorted(int(x["id"]) for x in d["dets"])
            assert ids == sorted(int(v) for v in np.unique(lab[lab > 0])), (ids, d["stamp"])
            for x in d["dets"]:
                k = int(x["id"])
                ys, xs = np.nonzero(lab == k)
                assert x["class_id"] == x["id"] and 0.0 <= x["score"] <= 1.0 and x["theta"] == 0.0
                assert x["stamp"] == d["stamp"]
                assert abs(x["cx"] - (xs.min() + xs.max() + 1) / 2) < 1e-6
                assert abs(x["cy"] - (ys.min() + ys.max() + 1) / 2) < 1e-6
                assert abs(x["sx"] - (xs.max() + 1 - xs.min())) < 1e-6 and abs(x["sy"] - (ys.max() + 1 - ys.min())) < 1e-6
            checked += 1
        assert checked >= 5


def test_cli_publishes_1280x720_whole_and_the_wheels_only_demo_subscriber_reads_it(procs, tmp_path):
    """``samstream run --ros2`` at 1280x720; ``demos/ros2_subscriber.py`` (pip wheels, nothing sourced) reads it."""
    listener = procs.python(ROOT / "demos" / "ros2_subscriber.py", "--count", "8", "--timeout", "90", "--json",
                            "--save", tmp_path / "last.png", name="demo_subscriber")
    run = procs.samstream("run", "--source", "synthetic:1280x720@10,seed=2,objects=3", "--ros2",
                          "--ros2-namespace", "/samstream", "--max-frames", "600", "-q",
                          "--stats-json", tmp_path / "stats.json", name="samstream_cli")
    procs.wait(listener, 120)
    procs.kill(run)  # SIGINT: a clean shutdown
    assert run.wait(timeout=30) in (0, 130), procs.log(run)
    out = json.loads(procs.log(listener).strip().splitlines()[-1])
    assert out["ros2"] == "wheels"
    assert out["counts"]["mask"] >= 8 and out["counts"]["detections"] >= 1 and out["counts"]["mask/compressed"] >= 1
    for m in out["masks"]:
        assert m["size"] == [1280, 720]  # whole frames, not truncated
        assert 0 <= m["latency_ms"] < 5000
        assert set(m["objects"]) <= {"1", "2", "3"}
    assert any(m["objects"] for m in out["masks"]), "no object in any mask"
    import cv2

    img = cv2.imread(str(tmp_path / "last.png"))
    assert img is not None and img.shape == (720, 1280, 3) and img.any()


def test_a_stalled_subscriber_does_not_slow_the_pipeline(procs, tmp_path):
    """Input fps of `samstream run --ros2` with no subscriber vs. with a reliable subscriber frozen by SIGSTOP."""
    import os
    import signal

    args = ["run", "--source", "synthetic:640x480@30,seed=1", "--ros2", "--max-frames", "150", "-q"]

    def run_once(tag: str) -> dict:
        p = procs.samstream(*args, "--stats-json", tmp_path / f"{tag}.json", name=f"run_{tag}")
        procs.wait(p, 150)
        return json.loads((tmp_path / f"{tag}.json").read_text())

    free = run_once("free")
    sub = procs.python(HELPERS / "ros_listen.py", "--qos", "reliable", "--count", "100000", "--timeout", "300",
                       "--out", tmp_path / "stalled", name="stalled_listener")
    procs.wait_for_line(sub, "READY", 60)
    p = procs.samstream(*args, "--stats-json", tmp_path / "stalled.json", name="run_stalled")
    # freeze the subscriber once it receives data: from then on it never reads or acknowledges again
    procs.wait_for_line(sub, "FIRST", 60)
    os.kill(sub.pid, signal.SIGSTOP)
    procs.wait(p, 150)
    stalled = json.loads((tmp_path / "stalled.json").read_text())
    os.kill(sub.pid, signal.SIGCONT)
    assert free["frames_out"] == stalled["frames_out"] == 150
    assert stalled["ros2"]["frames_published"] >= 100
    # input fps (frames the pipeline took from the 30 fps camera): a loose ratio on a shared 2-core box
    ratio = stalled["input_fps"] / max(free["input_fps"], 1e-6)
    assert ratio > 0.6, (free["input_fps"], stalled["input_fps"])
    assert stalled["output_fps"] > 0.6 * free["output_fps"]
