"""The ROS-free half of samstream.ros2: image/prompt/detection conversions, QoS names, message
definitions, and the one clear error when no ROS 2 is installed."""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path
from types import SimpleNamespace as NS

import cv2
import numpy as np
import pytest

from samstream.ros2.conversions import (
    MASK_PNG_FORMAT,
    BadMessage,
    compressed_png_dict,
    compressed_to_bgr,
    detections_dict,
    header_dict,
    image_dict,
    image_to_bgr,
    msg_to_bgr,
    parse_click,
    parse_prompt_detection,
    seconds_from_stamp,
    stamp_from_seconds,
)
from samstream.ros2.msgdefs import DEFINITIONS, TOPIC_TYPES, concatenated
from samstream.ros2.qos import QosSpec, parse_qos
from samstream.types import Segmentation

from ros2_testutil import ROOT, ros2_missing

H = header_dict((12, 34), "cam")


@pytest.fixture
def bgr(rng):
    # smooth colours (so YUV 4:2:2 chroma subsampling loses little) plus a sharp block
    y, x = np.mgrid[0:48, 0:64]
    img = np.stack([x * 4, y * 5, (x + y) * 2], axis=2).astype(np.uint8)
    img[10:20, 10:30] = (0, 0, 255)
    return img


def _msg(d: dict) -> NS:
    return NS(**{k: (NS(**v) if isinstance(v, dict) else v) for k, v in d.items()})


@pytest.mark.parametrize("enc", ["bgr8", "rgb8"])
def test_colour_round_trip_is_exact(bgr, enc):
    d = image_dict(H, bgr, enc)
    assert (d["height"], d["width"], d["encoding"], d["step"], d["data"].size) == (48, 64, enc, 192, 48 * 64 * 3)
    np.testing.assert_array_equal(msg_to_bgr(_msg(d)), bgr)
    if enc == "rgb8":
        assert d["data"][:3].tolist() == bgr[0, 0, ::-1].tolist()


def test_mono8_round_trip(bgr):
    grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    d = image_dict(H, grey, "mono8")
    assert d["step"] == 64 and d["data"].size == 48 * 64
    out = msg_to_bgr(_msg(d))
    np.testing.assert_array_equal(out[:, :, 0], grey)
    np.testing.assert_array_equal(out[:, :, 2], grey)


@pytest.mark.parametrize("enc,code", [("yuv422", cv2.COLOR_YUV2BGR_UYVY), ("yuv422_yuy2", cv2.COLOR_YUV2BGR_YUY2)])
def test_yuv422_round_trip_is_close_and_byte_order_is_right(bgr, enc, code):
    d = image_dict(H, bgr, enc)
    assert d["step"] == 128 and d["data"].size == 48 * 128
    out = msg_to_bgr(_msg(d))
    assert np.abs(out.astype(int) - bgr.astype(int)).mean() < 4.0
    # the byte order is what OpenCV's UYVY / YUY2 readers expect
    np.testing.assert_array_equal(out, cv2.cvtColor(d["data"].reshape(48, 64, 2), code))
    # a grey image has Y (BT.601 limited range: 16 + 219/255 x 77 = 82) where the format says --
    # UYVY: odd bytes, YUY2: even bytes -- and neutral chroma (128) in the others
    g = image_dict(H, np.full((2, 4), 77, np.uint8), enc)["data"].reshape(2, 8)
    ys, uv = (g[:, 1::2], g[:, 0::2]) if enc == "yuv422" else (g[:, 0::2], g[:, 1::2])
    assert (ys == 82).all() and (uv == 128).all()


def test_padded_rows_bgra_rgba_and_mono16(bgr):
    padded = np.zeros((48, 64 * 3 + 8), np.uint8)
    padded[:, :192] = bgr.reshape(48, 192)
    np.testing.assert_array_equal(image_to_bgr(48, 64, "bgr8", 200, padded.tobytes()), bgr)
    bgra = cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA)
    np.testing.assert_array_equal(image_to_bgr(48, 64, "bgra8", 256, bgra.tobytes()), bgr)
    rgba = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGBA)
    np.testing.assert_array_equal(image_to_bgr(48, 64, "rgba8", 256, rgba.tobytes()), bgr)
    v16 = (np.arange(48 * 64, dtype=np.uint16).reshape(48, 64) * 20)
    for big in (0, 1):
        data = v16.astype(">u2" if big else "<u2").tobytes()
        out = image_to_bgr(48, 64, "mono16", 128, data, is_bigendian=big)
        np.testing.assert_array_equal(out[:, :, 1], (v16 >> 8).astype(np.uint8))


@pytest.mark.parametrize("args,match", [
    ((4, 4, "bayer_rggb8", 4, bytes(16)), r"encoding 'bayer_rggb8' is not supported: publish one of bgr8, rgb8"),
    ((4, 4, "bgr8", 12, bytes(47)), r"truncated: 47 bytes .*needs step x height = 48"),
    ((4, 4, "bgr8", 12, bytes(60)), r"oversized: 60 bytes .*expected step x height = 48"),
    ((4, 4, "bgr8", 8, bytes(32)), r"step 8 is smaller than a row"),
    ((0, 4, "mono8", 4, b""), r"width and height must be > 0"),
    ((100000, 100000, "mono8", 100000, bytes(8)), r"larger than 16384"),
    ((4, 3, "yuv422", 6, bytes(24)), r"even width"),
])
def test_bad_images_raise_bad_message_naming_the_problem(args, match):
    with pytest.raises(BadMessage, match=match):
        image_to_bgr(*args)


def test_compressed_images(bgr):
    ok, jpg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 95])
    out = compressed_to_bgr("bgr8; jpeg compressed bgr8", jpg.tobytes())
    assert out.shape == bgr.shape and np.abs(out.astype(int) - bgr.astype(int)).mean() < 6
    with pytest.raises(BadMessage, match="could not be decoded: publish JPEG or PNG"):
        compressed_to_bgr("jpeg", b"not an image at all")
    with pytest.raises(BadMessage, match="no data"):
        compressed_to_bgr("png", b"")
    labels = np.zeros((48, 64), np.uint8)
    labels[5:20, 5:20], labels[30:40, 40:60] = 3, 200
    d = compressed_png_dict(H, labels)
    assert d["format"] == MASK_PNG_FORMAT == "mono8; png compressed"
    assert d["data"][:8].tobytes() == b"\x89PNG\r\n\x1a\n"  # PNG, never JPEG, for labels
    np.testing.assert_array_equal(cv2.imdecode(d["data"], cv2.IMREAD_UNCHANGED), labels)


def test_stamps():
    assert stamp_from_seconds(1000.5) == (1000, 500_000_000)
    assert stamp_from_seconds(1000 + 1 / 3) == (1000, 333_333_333)
    assert stamp_from_seconds(1.9999999999) == (2, 0)  # rounds into the next second, never nanosec = 1e9
    s = stamp_from_seconds(1_795_600_000.123456)
    assert abs(seconds_from_stamp(*s) - 1_795_600_000.123456) < 1e-6
    with pytest.raises(BadMessage, match="not finite"):
        stamp_from_seconds(math.nan)


def test_detections_from_a_segmentation():
    masks = np.zeros((3, 20, 30), bool)
    masks[0, 2:6, 3:9] = True     # x 3..9, y 2..6
    masks[1, 10:20, 0:30] = True
    seg = Segmentation(masks, [0.9, 1.2, 0.5], [4, 9, 12], 7, 1.0, lost=[False, False, True])
    d = detections_dict(seg, H)
    assert d["header"] == H
    dets = {x["id"]: x for x in d["detections"]}
    assert sorted(dets) == ["4", "9"]  # the lost object is left out
    a = dets["4"]
    assert a["bbox"]["center"]["position"] == {"x": 6.0, "y": 4.0}
    assert (a["bbox"]["size_x"], a["bbox"]["size_y"], a["bbox"]["center"]["theta"]) == (6.0, 4.0, 0.0)
    assert a["results"][0]["hypothesis"] == {"class_id": "4", "score": pytest.approx(0.9)}
    assert dets["9"]["results"][0]["hypothesis"]["score"] == 1.0  # clipped to [0, 1]
    assert a["header"] == H


def _det(cx=50.0, cy=40.0, sx=20.0, sy=10.0, ident="", theta=0.0, class_id=None):
    results = [NS(hypothesis=NS(class_id=class_id, score=1.0))] if class_id is not None else []
    return NS(bbox=NS(center=NS(position=NS(x=cx, y=cy), theta=theta), size_x=sx, size_y=sy), id=ident, results=results)


def test_prompt_detections_to_boxes_and_ids():
    oid, box = parse_prompt_detection(_det(ident="7"), 100, 80)
    assert oid == 7 and box.tolist() == [40.0, 35.0, 60.0, 45.0]
    assert parse_prompt_detection(_det(), 100, 80)[0] is None  # empty id: a new object
    assert parse_prompt_detection(_det(class_id="12"), 100, 80)[0] == 12
    _, rot = parse_prompt_detection(_det(theta=math.pi / 2), 100, 80)  # rotated: its axis-aligned box
    np.testing.assert_allclose(rot, [45, 30, 55, 50], atol=1e-4)
    _, edge = parse_prompt_detection(_det(cx=10.2, cy=5.2, sx=20.8, sy=10.8), 100, 80)  # within 0.5 px: clipped
    assert edge[0] == 0.0 and edge[1] == 0.0


@pytest.mark.parametrize("det,match", [
    (_det(sx=math.nan), "NaN or inf"),
    (_det(cx=math.inf), "NaN or inf"),
    (_det(sx=0.0), "empty"),
    (_det(cx=95.0), r"outside the 100x80 frame"),
    (_det(ident="abc"), "not an object id"),
    (_det(ident="0"), "ids are integers 1..255"),
    (_det(ident="256"), "ids are integers 1..255"),
    (_det(ident="2.5"), "ids are integers 1..255"),
    (NS(id="3"), "not a vision_msgs/Detection2D"),
])
def test_bad_prompts_raise_bad_message(det, match):
    with pytest.raises(BadMessage, match=match):
        parse_prompt_detection(det, 100, 80)


def test_clicks():
    oid, pt = parse_click(10, 20, 0, 100, 80)
    assert oid is None and pt.tolist() == [[10.0, 20.0]]
    assert parse_click(10, 20, 3, 100, 80)[0] == 3
    assert parse_click(100, 80, 0, 100, 80)[1].max() < 100  # the far edge is inside
    for args, match in [((10, 20, 2.5), "not an object id"), ((10, 20, 300), "not an object id"),
                        ((101, 20, 0), "outside the 100x80"), ((math.nan, 1, 0), "NaN")]:
        with pytest.raises(BadMessage, match=match):
            parse_click(*args, 100, 80)


def test_qos_profiles():
    assert parse_qos("default") == QosSpec("reliable", "volatile", 5)
    assert parse_qos("sensor:2") == QosSpec("best_effort", "volatile", 2)
    assert parse_qos("SensorData") == parse_qos("best_effort") == parse_qos("sensor")
    assert parse_qos("transient_local") == QosSpec("reliable", "transient_local", 1)
    with pytest.raises(ValueError, match="unknown QoS 'fast': use one of default, reliable, sensor"):
        parse_qos("fast")
    for bad in ("reliable:0", "reliable:x", "reliable:5000"):
        with pytest.raises(ValueError, match="1..1000"):
            parse_qos(bad)


def _fields(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        line = line.split("#")[0].strip()
        if line:
            out.append(" ".join(line.split()))
    return out


def test_message_definitions_match_the_msg_files():
    # vision_msgs: the package this repo builds
    for f in sorted((ROOT / "ros2_interfaces" / "vision_msgs" / "msg").glob("*.msg")):
        ours = _fields(DEFINITIONS[f"vision_msgs/{f.stem}"])
        theirs = [re.sub(r"^(ObjectHypothesisWithPose|BoundingBox2D|Detection2D)(\[\])? ", r"vision_msgs/\1\2 ", x)
                  for x in _fields(f.read_text())]
        assert ours == theirs, f.name
    # sensor/std/geometry msgs: the installed ROS 2 packages' own files, where present
    share = Path(sys.prefix) / "share"
    checked = 0
    for name, text in DEFINITIONS.items():
        pkg, typ = name.split("/")
        f = share / pkg / "msg" / f"{typ}.msg"
        if pkg == "vision_msgs" or not f.exists():
            continue
        theirs = [re.sub(r"^(Point|Quaternion|Pose)(\[\])? ", rf"{pkg}/\1\2 ", x) for x in _fields(f.read_text())]
        assert _fields(text) == theirs, name
        checked += 1
    if ros2_missing() is None:
        assert checked >= 6
    schema = concatenated(TOPIC_TYPES["detections"])
    assert schema.startswith("std_msgs/Header header\nvision_msgs/Detection2D[] detections\n")
    for dep in ("std_msgs/Header", "builtin_interfaces/Time", "vision_msgs/Detection2D", "vision_msgs/BoundingBox2D",
                "vision_msgs/Pose2D", "vision_msgs/Point2D", "vision_msgs/ObjectHypothesisWithPose",
                "vision_msgs/ObjectHypothesis", "geometry_msgs/PoseWithCovariance", "geometry_msgs/Pose",
                "geometry_msgs/Point", "geometry_msgs/Quaternion"):
        assert schema.count("=" * 80 + f"\nMSG: {dep}\n") == 1, dep


def test_dict_to_msg_builds_real_ros_messages(bgr):
    if ros2_missing():
        pytest.skip(ros2_missing())
    from rclpy.serialization import deserialize_message, serialize_message
    from sensor_msgs.msg import Image
    from vision_msgs.msg import Detection2DArray

    from samstream.ros2.conversions import dict_to_msg

    msg = dict_to_msg(image_dict(H, bgr, "rgb8"), Image())
    back = deserialize_message(serialize_message(msg), Image)
    assert (back.header.stamp.sec, back.header.stamp.nanosec, back.header.frame_id) == (12, 34, "cam")
    np.testing.assert_array_equal(msg_to_bgr(back), bgr)
    d = {"header": H, "detections": [{"id": "3", "bbox": {"size_x": 4, "size_y": np.int64(5),  # ints become floats
                                                             "center": {"position": {"x": 1, "y": 2.5}}}}]}
    det = deserialize_message(serialize_message(dict_to_msg(d, Detection2DArray())), Detection2DArray).detections[0]
    assert (det.id, det.bbox.size_x, det.bbox.size_y, det.bbox.center.position.x) == ("3", 4.0, 5.0, 1.0)
    with pytest.raises(ValueError, match="no field 'nope'"):
        dict_to_msg({"nope": 1}, Image())


def test_cli_ros_options_are_checked():
    from samstream.cli import main

    assert main(["run", "--source", "synthetic", "--ros2-qos", "sensor", "--max-frames", "1", "-q"]) == 2
    assert main(["run", "--source", "synthetic", "--ros2-overlay", "--max-frames", "1", "-q"]) == 2
