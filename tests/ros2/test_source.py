"""``ros2:/topic`` sources (``samstream.ros2.source``): per-frame headers with several sources, the registry.

One child process (``helpers/ros_two_sources.py``) publishes two camera topics and runs two
:class:`Ros2ImageSource` into one :class:`Ros2Sink` over real DDS; the camera input scenario
(encodings, bad frames, prompts) is in ``test_control.py``.
"""

from __future__ import annotations

import json

from ros2_testutil import HELPERS


def test_two_image_sources_feeding_one_sink_get_their_own_headers(procs, tmp_path):
    p = procs.python(HELPERS / "ros_two_sources.py", "--frames", "8", "--out", tmp_path / "two.json", name="two")
    procs.wait(p, 150)
    res = json.loads((tmp_path / "two.json").read_text())
    assert res["lazy"], "import samstream, samstream.sources imported rclpy"

    frames = res["frames"]
    bases = {"a": 3000, "b": 4000}
    sizes = {"a": [64, 48], "b": [80, 60]}
    for k in ("a", "b"):
        mine = [f for f in frames if f["source"] == k]
        assert len(mine) >= 4, (k, frames)
        for f in mine:
            assert f["name"] == f"ros2:/cam_{k}/image_raw" and f["size"] == sizes[k]
            # the header is that very frame's input header: stamp sec = base + the frame's fill value
            assert f["frame_id"] == f"cam_{k}" and f["sec"] == bases[k] + f["value"], f
            assert f["other_source_header"] is None, f  # a source answers for its own frames only
    # the two sources number their frames alike: the lookup goes by source, not by index alone
    idx = {k: {f["index"] for f in frames if f["source"] == k} for k in ("a", "b")}
    assert idx["a"] & idx["b"], idx
    assert res["foreign"]["frame_id"] == "fallback" and res["foreign"]["stamp"] == {"sec": 12, "nanosec": 500000000}

    # what went out on /two/mask carries the same headers
    sent = {(f"cam_{f['source']}", f["sec"]) for f in frames}
    assert len(res["masks"]) >= len(frames) - 1
    assert {(m[0], m[1]) for m in res["masks"]} <= sent
    assert {m[0] for m in res["masks"]} == {"cam_a", "cam_b"}
    for fid, _, w, h in res["masks"]:
        assert [w, h] == sizes[fid[-1]]

    st = res["stats"]
    assert res["stats_typed"] and st["frames_published"] == len(frames) and st["mask"] == len(frames)
    assert [s["name"] for s in st["sources"]] == ["ros2:/cam_a/image_raw", "ros2:/cam_b/image_raw"]
    assert st["topics"]["mask"] == "/two/mask" and st["prompts_applied"] == 0
    # a sink on a shared runtime leaves it open; closing the runtime shuts its context down
    assert res["shared_runtime_open_after_sink_close"] is True
    assert res["runtime_ok_after_close"] is False and res["context_ok_after_close"] is False


def test_open_source_ros2_prefix_goes_through_the_registry(procs, tmp_path):
    p = procs.python(HELPERS / "ros_two_sources.py", "--frames", "1", "--out", tmp_path / "reg.json", name="reg")
    procs.wait(p, 150)
    reg = json.loads((tmp_path / "reg.json").read_text())["registry"]
    assert reg == {"class": "samstream.ros2.source.Ros2ImageSource", "topic": "/cam_c/image_raw",
                   "runtime_closed": True}
