"""``--record FILE.mcap --record-foxglove``: the Foxglove schemas are in the file, next to ROS 2
channels that are exactly those (and counts) of a plain ``--record``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

pytest.importorskip("mcap_ros2")
pytest.importorskip("foxglove")
ROOT = Path(__file__).resolve().parents[2]
FRAMES = 8


def _record(tmp_path: Path, name: str, *extra: str) -> tuple[Path, dict]:
    out, stats = tmp_path / f"{name}.mcap", tmp_path / f"{name}.json"
    proc = subprocess.run([sys.executable, "-m", "samstream.cli", "run", "--source",
                           f"synthetic:320x240@30,realtime=0,frames={FRAMES}", "--sync", "--depth",
                           "--prompt", "box:120,80,200,160@1", "--record", str(out), "--stats-json", str(stats),
                           "-q", *extra], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out, json.loads(stats.read_text())


def _channels(path: Path):
    from mcap.reader import make_reader

    with open(path, "rb") as f:
        reader = make_reader(f)
        summary = reader.get_summary()
        counts = Counter()
        for _schema, channel, _message in reader.iter_messages():  # raw: no decoder needed for any channel
            counts[channel.topic] += 1
    chans = {c.topic: (c.message_encoding, summary.schemas[c.schema_id].name, summary.schemas[c.schema_id].encoding)
             for c in summary.channels.values()}
    return chans, counts, summary


def test_foxglove_schemas_recorded_and_ros_channels_unchanged(tmp_path):
    plain, plain_stats = _record(tmp_path, "plain")
    fox, fox_stats = _record(tmp_path, "fox", "--record-foxglove")
    p_chans, p_counts, _ = _channels(plain)
    f_chans, f_counts, summary = _channels(fox)

    ros = {t: v for t, v in f_chans.items() if not t.startswith("/samstream/foxglove/")}
    assert ros == p_chans and all(v[0] == "cdr" for v in ros.values())
    assert p_chans["/samstream/objects"][1] == "vision_msgs/msg/Detection3DArray"  # with depth: 3-D as ROS too
    assert {t: f_counts[t] for t in ros} == dict(p_counts) == {t: FRAMES for t in p_chans}
    assert fox_stats["record"]["messages"] == plain_stats["record"]["messages"] == FRAMES * len(p_chans)

    want = {"image": "foxglove.CompressedImage", "mask": "foxglove.CompressedImage",
            "annotations": "foxglove.ImageAnnotations", "calibration": "foxglove.CameraCalibration",
            "scene": "foxglove.SceneUpdate", "points": "foxglove.PointCloud"}
    for key, schema in want.items():
        topic = f"/samstream/foxglove/{key}"
        assert f_chans[topic] == ("protobuf", schema, "protobuf")
        assert f_counts[topic] == FRAMES  # depth on every synthetic frame
    for s in summary.schemas.values():
        if s.encoding == "protobuf":  # a FileDescriptorSet naming the message
            assert s.name.split(".")[1].encode() in s.data
    assert fox_stats["record"]["foxglove_messages"] == FRAMES * len(want)

    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory

    with open(fox, "rb") as f:  # a ROS-only reader still decodes the ROS topics (asking for them)
        decoded = [m for *_, m in make_reader(f, decoder_factories=[DecoderFactory()]).iter_decoded_messages(
            topics=list(ros))]
    assert len(decoded) == FRAMES * len(ros)
    objects = [m for m in decoded if hasattr(m, "detections") and m.detections and hasattr(m.detections[0].bbox, "size")]
    assert len(objects) == FRAMES and objects[0].detections[0].id == "1"
    assert 0.5 < objects[0].detections[0].bbox.center.position.z < 4.6


def test_record_foxglove_needs_record(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "samstream.cli", "run", "--max-frames", "1", "--record-foxglove"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 2 and "--record FILE.mcap" in proc.stderr
