"""``--record FILE.mcap``: the ROS 2 topics as CDR in MCAP, read back by independent readers.

The recording runs in a separate process with rclpy made unimportable (the recorder needs no ROS).
The file is read with ``mcap_ros2``'s reader, and every message's raw CDR bytes are also decoded by
ROS 2 itself (``rclpy.serialization.deserialize_message`` with the generated type supports) when
rclpy is installed: both must agree with the label maps.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from ros2_testutil import PY, ros2_missing

NS = "/samstream"
TOPICS = {f"{NS}/mask": "sensor_msgs/msg/Image", f"{NS}/mask/compressed": "sensor_msgs/msg/CompressedImage",
          f"{NS}/detections": "vision_msgs/msg/Detection2DArray", f"{NS}/overlay": "sensor_msgs/msg/Image"}


def _record(plain_procs, tmp_path: Path, frames: int = 20) -> tuple[Path, dict]:
    from samstream.sources import SyntheticScene

    out, stats, init = tmp_path / "run.mcap", tmp_path / "stats.json", tmp_path / "gt0.png"
    cv2.imwrite(str(init), SyntheticScene(320, 240, 3, 4, 1.0).render(0)[1])  # objects 1..3 = the synthetic ids
    code = ("import sys; sys.modules['rclpy'] = None  # prove the recorder needs no ROS\n"
            "from samstream.cli import main\n"
            f"sys.exit(main(['run', '--source', 'synthetic:320x240@30,realtime=0,frames={frames},seed=4,objects=3', "
            f"'--sync', '--init-mask', {str(init)!r}, '--record', {str(out)!r}, '--ros2-overlay', '-q', "
            f"'--stats-json', {str(stats)!r}]))")
    p = plain_procs.start([PY, "-c", code], "record")
    plain_procs.wait(p, 180)
    return out, json.loads(stats.read_text())


def test_record_mcap_without_rclpy_and_read_it_back(plain_procs, tmp_path):
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory

    path, stats = _record(plain_procs, tmp_path)
    assert stats["record"] == {"path": str(path), "frames": 20, "messages": 80, "dropped": 0}
    with open(path, "rb") as f:
        reader = make_reader(f)
        summary = reader.get_summary()
        header = reader.get_header()
    assert header.profile == "ros2"
    channels = {c.topic: summary.schemas[c.schema_id].name for c in summary.channels.values()}
    assert channels == TOPICS
    assert all(c.message_encoding == "cdr" for c in summary.channels.values())
    assert all(s.encoding == "ros2msg" for s in summary.schemas.values())
    assert sum(summary.statistics.channel_message_counts.values()) == 80

    by_topic: dict[str, list] = {t: [] for t in TOPICS}
    with open(path, "rb") as f:
        for _, channel, message, ros_msg in make_reader(f, decoder_factories=[DecoderFactory()]).iter_decoded_messages():
            message.ros_msg = ros_msg
            by_topic[channel.topic].append(message)
    assert {t: len(v) for t, v in by_topic.items()} == {t: 20 for t in TOPICS}
    stamps = [(m.ros_msg.header.stamp.sec, m.ros_msg.header.stamp.nanosec) for m in by_topic[f"{NS}/mask"]]
    for t in TOPICS:  # the same frame stamps, in order, on every topic
        assert [(m.ros_msg.header.stamp.sec, m.ros_msg.header.stamp.nanosec) for m in by_topic[t]] == stamps
        assert all(m.ros_msg.header.frame_id == "camera" for m in by_topic[t])
    secs = np.array([s + n * 1e-9 for s, n in stamps])
    np.testing.assert_allclose(np.diff(secs), 1 / 30, atol=1e-6)  # the synthetic frames' own timestamps
    # publish_time is the frame's stamp
    assert [m.publish_time for m in by_topic[f"{NS}/mask"]] == [s * 10**9 + n for s, n in stamps]

    from samstream.sources import SyntheticScene

    scene = SyntheticScene(320, 240, 3, 4, 1.0)
    for i, (mm, cm, dm, om) in enumerate(zip(*(by_topic[t] for t in TOPICS))):
        img = mm.ros_msg
        assert (img.width, img.height, img.encoding, img.step) == (320, 240, "mono8", 320)
        lab = np.frombuffer(bytes(img.data), np.uint8).reshape(240, 320)
        assert set(np.unique(lab).tolist()) <= {0, 1, 2, 3}
        gt = scene.render(i)[1]
        fg = lab > 0
        assert fg.any() and np.mean(gt[fg] == lab[fg]) > 0.7, i  # label values are the synthetic ids
        if i == 0:
            np.testing.assert_array_equal(lab, gt)  # frame 0: the --init-mask itself
        assert cm.ros_msg.format == "mono8; png compressed"
        png = cv2.imdecode(np.frombuffer(bytes(cm.ros_msg.data), np.uint8), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(png, lab)
        ids = sorted(int(d.id) for d in dm.ros_msg.detections)
        assert ids == sorted(np.unique(lab[fg]).tolist())
        for d in dm.ros_msg.detections:
            ys, xs = np.nonzero(lab == int(d.id))
            assert d.bbox.size_x == xs.max() + 1 - xs.min() and d.bbox.size_y == ys.max() + 1 - ys.min()
            assert d.results[0].hypothesis.class_id == d.id and 0 <= d.results[0].hypothesis.score <= 1
            assert d.results[0].pose.pose.orientation.w == 1.0 and len(d.results[0].pose.covariance) == 36
        ov = om.ros_msg
        assert (ov.width, ov.height, ov.encoding, ov.step) == (320, 240, "bgr8", 960) and len(ov.data) == 240 * 960


def test_recorded_cdr_decodes_with_ros2_itself(plain_procs, tmp_path):
    """Every recorded message's raw bytes decode with rclpy's own type supports, to the same content."""
    why = ros2_missing()
    if why:
        pytest.skip(f"needs rclpy + vision_msgs to decode with ROS 2 itself: {why}")
    from mcap.reader import make_reader
    from rclpy.serialization import deserialize_message
    from sensor_msgs.msg import CompressedImage, Image
    from vision_msgs.msg import Detection2DArray

    path, _ = _record(plain_procs, tmp_path, frames=6)
    types = {"sensor_msgs/msg/Image": Image, "sensor_msgs/msg/CompressedImage": CompressedImage,
             "vision_msgs/msg/Detection2DArray": Detection2DArray}
    n = 0
    with open(path, "rb") as f:
        for schema, channel, message in make_reader(f).iter_messages():
            msg = deserialize_message(message.data, types[schema.name])
            assert msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec == message.publish_time
            if channel.topic.endswith("/mask"):
                lab = np.frombuffer(msg.data, np.uint8).reshape(msg.height, msg.width)
                last = lab
            elif channel.topic.endswith("/compressed"):
                png = cv2.imdecode(np.frombuffer(msg.data, np.uint8), cv2.IMREAD_UNCHANGED)
                np.testing.assert_array_equal(png, last)
            elif channel.topic.endswith("/detections"):
                assert sorted(int(d.id) for d in msg.detections) == sorted(np.unique(last[last > 0]).tolist())
                for d in msg.detections:
                    ys, xs = np.nonzero(last == int(d.id))
                    assert d.bbox.center.position.x == (xs.min() + xs.max() + 1) / 2
                    assert d.header.stamp == msg.header.stamp
            n += 1
    assert n == 24


def test_record_path_errors_name_the_fix(tmp_path):
    from samstream.sinks.mcap import McapSink

    with pytest.raises(ValueError, match=r"\.mcap"):
        McapSink(tmp_path / "run.bag")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        McapSink(tmp_path / "missing" / "run.mcap")
    with pytest.raises(ValueError, match="queue_size"):
        McapSink(tmp_path / "x.mcap", queue_size=-1)
