"""samstream as a node in a ROS graph: camera topic in, prompts/clicks/remove/clear in, bad input survived.

``samstream run --source ros2:/cam/image_raw --ros2 --auto-objects 0`` runs in one process; another
process (``helpers/ros_camera_driver.py``) publishes yuv422 camera frames, watches the masks, and
sends prompts, a click, remove and clear, plus malformed images and prompts. All over real DDS.
"""

from __future__ import annotations

import json

from ros2_testutil import HELPERS


def test_image_topic_in_prompts_create_and_move_objects_and_bad_input_is_counted(procs, tmp_path):
    node = procs.samstream("run", "--source", "ros2:/cam/image_raw", "--ros2", "--auto-objects", "0", "-q",
                           "--stats-json", tmp_path / "stats.json", "--record", tmp_path / "run.mcap",
                           name="samstream_node")
    driver = procs.python(HELPERS / "ros_camera_driver.py", "--topic", "/cam/image_raw", "--encoding", "yuv422",
                          "--out", tmp_path / "driver.json", name="camera_driver")
    procs.wait(driver, 400)
    assert node.poll() is None, f"samstream stopped during the scenario:\n{procs.log(node)[-3000:]}"
    procs.kill(node)  # SIGINT: clean shutdown, stats written
    assert node.wait(timeout=30) == 130, procs.log(node)[-3000:]

    res = json.loads((tmp_path / "driver.json").read_text())
    steps = res["steps"]
    for name in ("plain", "bad", "create", "click", "remove", "clear"):
        assert steps[name]["ok"], (name, steps[name], procs.log(node)[-2000:])
    assert steps["create"]["iou"] > 0.5
    assert steps["click"]["ids"] == [1, 7]
    assert steps["remove"]["ids"] == [1]

    # every result carries the exact header of the camera frame it was computed for
    sent = {tuple(s) for s in res["sent_stamps"]}
    assert len(res["received"]) >= 20
    for m in res["received"]:
        assert tuple(m["stamp"]) in sent, m
        assert m["frame_id"] == "cam_optical" and m["size"] == [640, 480]
    stamps = [tuple(m["stamp"]) for m in res["received"]]
    assert stamps == sorted(stamps)

    stats = json.loads((tmp_path / "stats.json").read_text())
    ros = stats["ros2"]
    assert stats["source"]["bad_frames"] >= 3, stats["source"]          # unknown encoding, truncated, oversized
    assert "bayer_rggb42" in procs.log(node) and "truncated" in procs.log(node)
    assert ros["bad_prompts"] >= 4, ros                                 # NaN, out of frame, "abc", "300"
    assert ros["bad_commands"] >= 1, ros                                # remove 99 (not tracked)
    assert ros["prompts_applied"] >= 2 and ros["clicks_applied"] >= 1 and ros["removes"] >= 1 and ros["clears"] >= 1

    # the recording carries the camera's headers too, and the objects the prompts made
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory

    with open(tmp_path / "run.mcap", "rb") as f:
        rec = [(c.topic, msg) for _, c, _, msg in make_reader(f, decoder_factories=[DecoderFactory()]).iter_decoded_messages()]
    masks = [msg for topic, msg in rec if topic == "/samstream/mask"]
    assert len(masks) == stats["record"]["frames"] >= len(res["received"]) - 2
    assert all((m.header.stamp.sec, m.header.stamp.nanosec) in sent and m.header.frame_id == "cam_optical" for m in masks)
    seen = set()
    for topic, msg in rec:
        if topic == "/samstream/detections":
            seen |= {d.id for d in msg.detections}
    assert seen == {"1", "7"}

    # the move: the same id prompted around another object lands there (its answer is brought to
    # the current frame by the motion of the prompted region, not of the object's old mask)
    assert steps["move"]["ok"], (steps["move"], procs.log(node)[-2000:])
    assert steps["move"]["iou"] > 0.5
