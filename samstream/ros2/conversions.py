"""ROS 2 message <-> numpy conversions, without rclpy.

Everything here works on plain values or on any object with the ROS field names (an rclpy
message, an ``mcap_ros2`` decoded message, a ``SimpleNamespace`` in a test), and builds messages
as plain ``dict`` trees with the ROS field names: :mod:`samstream.ros2.sink` copies them into
rclpy messages (:func:`dict_to_msg`), :mod:`samstream.sinks.mcap` serialises them to CDR as they
are. So the publisher and the recorder share one definition of every topic's content.

Malformed input raises :class:`BadMessage` (a ``ValueError``) whose text says what was wrong and
what a valid message looks like; callers count it, log it and go on.
"""

from __future__ import annotations

import array
import math
from typing import Any, Callable, Iterable, Optional

import cv2
import numpy as np

from ..types import Segmentation

__all__ = [
    "BadMessage",
    "DECODABLE_ENCODINGS",
    "ENCODABLE_ENCODINGS",
    "MASK_PNG_FORMAT",
    "image_to_bgr",
    "msg_to_bgr",
    "compressed_to_bgr",
    "image_dict",
    "compressed_png_dict",
    "header_dict",
    "stamp_from_seconds",
    "seconds_from_stamp",
    "detections_dict",
    "parse_prompt_detection",
    "parse_click",
    "dict_to_msg",
]

#: ``format`` of the ``mask/compressed`` topic (image_transport's convention for a PNG of a mono8 image).
MASK_PNG_FORMAT = "mono8; png compressed"

# encoding -> (bytes per pixel, OpenCV conversion to BGR or None, channels)
_DECODE = {
    "bgr8": (3, None, 3),
    "8uc3": (3, None, 3),
    "rgb8": (3, cv2.COLOR_RGB2BGR, 3),
    "bgra8": (4, cv2.COLOR_BGRA2BGR, 4),
    "8uc4": (4, cv2.COLOR_BGRA2BGR, 4),
    "rgba8": (4, cv2.COLOR_RGBA2BGR, 4),
    "mono8": (1, cv2.COLOR_GRAY2BGR, 1),
    "8uc1": (1, cv2.COLOR_GRAY2BGR, 1),
    "mono16": (2, None, 1),
    "16uc1": (2, None, 1),
    # ROS "yuv422" is UYVY (U0 Y0 V0 Y1); "yuv422_yuy2" (alias "yuyv") is YUYV.
    "yuv422": (2, cv2.COLOR_YUV2BGR_UYVY, 2),
    "uyvy": (2, cv2.COLOR_YUV2BGR_UYVY, 2),
    "yuv422_yuy2": (2, cv2.COLOR_YUV2BGR_YUY2, 2),
    "yuyv": (2, cv2.COLOR_YUV2BGR_YUY2, 2),
}
DECODABLE_ENCODINGS = ("bgr8", "rgb8", "bgra8", "rgba8", "mono8", "mono16", "yuv422", "yuv422_yuy2",
                       "8UC1", "8UC3", "8UC4", "16UC1", "uyvy", "yuyv")
ENCODABLE_ENCODINGS = ("bgr8", "rgb8", "mono8", "yuv422", "yuv422_yuy2")

#: Largest image side accepted from a topic (a corrupt header claiming 10^6 x 10^6 is rejected, not allocated).
MAX_SIDE = 16384


class BadMessage(ValueError):
    """A ROS message samstream cannot use; the text names the problem and what is expected."""


# -- time ------------------------------------------------------------------------------------------
def stamp_from_seconds(t: float) -> tuple[int, int]:
    """``time.time()``-style seconds -> ``(sec, nanosec)`` of a ``builtin_interfaces/Time``."""
    if not math.isfinite(t):
        raise BadMessage(f"timestamp {t!r} is not finite.")
    ns = int(round(float(t) * 1e9))
    sec, nanosec = divmod(ns, 1_000_000_000)
    return int(sec), int(nanosec)


def seconds_from_stamp(sec: int, nanosec: int) -> float:
    return float(sec) + float(nanosec) * 1e-9


def header_dict(stamp: tuple[int, int], frame_id: str) -> dict:
    return {"stamp": {"sec": int(stamp[0]), "nanosec": int(stamp[1])}, "frame_id": str(frame_id)}


# -- images in -------------------------------------------------------------------------------------
def image_to_bgr(height: int, width: int, encoding: str, step: int, data: Any, is_bigendian: int = 0) -> np.ndarray:
    """The pixels of a ``sensor_msgs/Image`` as ``uint8`` ``(H, W, 3)`` BGR (a new array).

    Raises :class:`BadMessage` for unknown encodings, empty/oversized/truncated data, or a
    ``step`` smaller than a row.
    """
    enc = str(encoding).strip()
    spec = _DECODE.get(enc.lower())
    if spec is None:
        raise BadMessage(f"image encoding {enc!r} is not supported: publish one of "
                         f"{', '.join(DECODABLE_ENCODINGS)} (or a CompressedImage jpeg/png).")
    bpp, code, ch = spec
    h, w, step = int(height), int(width), int(step)
    if h <= 0 or w <= 0:
        raise BadMessage(f"image is {w}x{h}: width and height must be > 0.")
    if h > MAX_SIDE or w > MAX_SIDE:
        raise BadMessage(f"image is {w}x{h}: larger than {MAX_SIDE} pixels a side; samstream rejects it "
                         "(a corrupt header?). Resize it before publishing.")
    if enc.lower() in ("yuv422", "uyvy", "yuv422_yuy2", "yuyv") and w % 2:
        raise BadMessage(f"{enc} image is {w} pixels wide: YUV 4:2:2 needs an even width.")
    row = w * bpp
    if step < row:
        raise BadMessage(f"image step {step} is smaller than a row ({w} px x {bpp} bytes = {row}): "
                         "step must be the row length in bytes.")
    buf = _as_bytes_view(data)
    need = step * h
    if buf.size < need:
        raise BadMessage(f"image data is truncated: {buf.size} bytes for a {w}x{h} {enc} image with step "
                         f"{step} (needs step x height = {need}).")
    if buf.size > need:
        raise BadMessage(f"image data is oversized: {buf.size} bytes for a {w}x{h} {enc} image with step "
                         f"{step} (expected step x height = {need}); height, width or step is wrong.")
    rows = buf.reshape(h, step)[:, :row]
    if bpp == 2 and ch == 1:  # mono16: keep the high byte
        px = rows.reshape(h, w, 2)
        hi = px[:, :, 0] if int(is_bigendian) else px[:, :, 1]
        return cv2.cvtColor(np.ascontiguousarray(hi), cv2.COLOR_GRAY2BGR)
    img = rows.reshape(h, w, ch) if ch > 1 else rows.reshape(h, w)
    if code is None:
        return np.ascontiguousarray(img)
    return cv2.cvtColor(np.ascontiguousarray(img), code)


def msg_to_bgr(msg: Any) -> np.ndarray:
    """:func:`image_to_bgr` for anything with the ``sensor_msgs/Image`` fields."""
    try:
        fields = (msg.height, msg.width, msg.encoding, msg.step, msg.data)
    except AttributeError as exc:
        raise BadMessage(f"not a sensor_msgs/Image: {exc}") from None
    return image_to_bgr(*fields, is_bigendian=getattr(msg, "is_bigendian", 0))


def compressed_to_bgr(fmt: str, data: Any) -> np.ndarray:
    """Decode a ``sensor_msgs/CompressedImage`` (jpeg/png/...) to ``uint8`` BGR."""
    buf = _as_bytes_view(data)
    if buf.size == 0:
        raise BadMessage("compressed image has no data.")
    img = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if img is None:
        raise BadMessage(f"compressed image (format {fmt!r}, {buf.size} bytes) could not be decoded: "
                         "publish JPEG or PNG data (image_transport 'compressed').")
    if img.shape[0] > MAX_SIDE or img.shape[1] > MAX_SIDE:
        raise BadMessage(f"compressed image is {img.shape[1]}x{img.shape[0]}: larger than {MAX_SIDE} a side.")
    return img


def _as_bytes_view(data: Any) -> np.ndarray:
    if isinstance(data, np.ndarray):
        return data.reshape(-1).view(np.uint8) if data.dtype == np.uint8 else np.frombuffer(data.tobytes(), np.uint8)
    if isinstance(data, (bytes, bytearray, memoryview, array.array)):
        return np.frombuffer(data, np.uint8)
    try:
        return np.asarray(data, dtype=np.uint8).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise BadMessage(f"image data is not a byte sequence ({type(data).__name__}): {exc}") from None


# -- images out ------------------------------------------------------------------------------------
def image_dict(header: dict, image: np.ndarray, encoding: str) -> dict:
    """A ``sensor_msgs/Image`` dict from ``uint8`` BGR ``(H, W, 3)`` (or ``(H, W)`` for mono8).

    ``data`` is a contiguous ``uint8`` numpy array (no copy when the input already is one).
    """
    enc = str(encoding)
    img = np.asarray(image)
    if img.dtype != np.uint8:
        raise ValueError(f"image_dict takes uint8 images, got {img.dtype}.")
    if enc == "mono8":
        if img.ndim == 3:
            img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        px = img
    elif enc == "bgr8":
        px = img if img.ndim == 3 else cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    elif enc == "rgb8":
        px = cv2.cvtColor(img if img.ndim == 3 else cv2.cvtColor(img, cv2.COLOR_GRAY2BGR), cv2.COLOR_BGR2RGB)
    elif enc in ("yuv422", "yuv422_yuy2"):
        px = _bgr_to_yuv422(img if img.ndim == 3 else cv2.cvtColor(img, cv2.COLOR_GRAY2BGR), uyvy=enc == "yuv422")
    else:
        raise ValueError(f"cannot encode {enc!r}: use one of {', '.join(ENCODABLE_ENCODINGS)}.")
    px = np.ascontiguousarray(px)
    h, w = px.shape[:2]
    return {"header": header, "height": int(h), "width": int(w), "encoding": enc, "is_bigendian": 0,
            "step": int(px.strides[0]), "data": px.reshape(-1)}


def _bgr_to_yuv422(bgr: np.ndarray, uyvy: bool) -> np.ndarray:
    h, w = bgr.shape[:2]
    if w % 2:
        raise ValueError(f"YUV 4:2:2 needs an even width, got {w}.")
    # BT.601 limited range (Y 16..235), what camera drivers send and what OpenCV's UYVY/YUY2 readers assume
    f = bgr.astype(np.float32)
    b, g, r = f[:, :, 0], f[:, :, 1], f[:, :, 2]
    y = np.clip(16.0 + 0.257 * r + 0.504 * g + 0.098 * b + 0.5, 0, 255).astype(np.uint8)
    cb = 128.0 - 0.148 * r - 0.291 * g + 0.439 * b
    cr = 128.0 + 0.439 * r - 0.368 * g - 0.071 * b
    u = np.clip((cb[:, 0::2] + cb[:, 1::2]) / 2 + 0.5, 0, 255).astype(np.uint8)
    v = np.clip((cr[:, 0::2] + cr[:, 1::2]) / 2 + 0.5, 0, 255).astype(np.uint8)
    out = np.empty((h, w, 2), np.uint8)
    if uyvy:   # U0 Y0 V0 Y1
        out[:, 0::2, 0], out[:, 1::2, 0] = u, v
        out[:, :, 1] = y
    else:      # Y0 U0 Y1 V0
        out[:, :, 0] = y
        out[:, 0::2, 1], out[:, 1::2, 1] = u, v
    return out


def compressed_png_dict(header: dict, label_map: np.ndarray, level: int = 1) -> dict:
    """A ``sensor_msgs/CompressedImage`` dict: the mono8 label map as PNG (lossless; never JPEG)."""
    # RLE suits label maps (long runs of one value): ~2x faster than the default strategy and smaller.
    ok, png = cv2.imencode(".png", np.asarray(label_map, np.uint8),
                           [cv2.IMWRITE_PNG_COMPRESSION, int(level), cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE])
    if not ok:  # pragma: no cover - OpenCV always encodes uint8 2-D arrays
        raise RuntimeError("OpenCV failed to encode the label map as PNG.")
    return {"header": header, "format": MASK_PNG_FORMAT, "data": png.reshape(-1)}


# -- detections ------------------------------------------------------------------------------------
def detections_dict(seg: Segmentation, header: dict) -> dict:
    """A ``vision_msgs/Detection2DArray`` dict: one detection per visible object.

    Per object: ``id`` = the object id as text (``"1"``..``"255"``, the label value in ``mask``),
    ``bbox`` centre and size in pixels of the mask's bounding box (axis-aligned, ``theta`` 0), and
    one hypothesis with ``class_id`` = the same id and ``score`` = the tracker's confidence.
    Lost objects and empty masks are left out.
    """
    dets = []
    boxes = seg.boxes()
    for (x1, y1, x2, y2), oid, score, lost in zip(boxes, seg.object_ids, seg.scores, seg.lost):
        if lost or not np.isfinite(x1):
            continue
        cx, cy = (float(x1) + float(x2)) / 2.0, (float(y1) + float(y2)) / 2.0
        dets.append({
            "header": header,
            "results": [{
                "hypothesis": {"class_id": str(int(oid)), "score": float(np.clip(score, 0.0, 1.0))},
                "pose": {"pose": {"position": {"x": cx, "y": cy, "z": 0.0},
                                  "orientation": {"x": 0.0, "y": 0.0, "z": 0.0, "w": 1.0}},
                         "covariance": [0.0] * 36},
            }],
            "bbox": {"center": {"position": {"x": cx, "y": cy}, "theta": 0.0},
                     "size_x": float(x2) - float(x1), "size_y": float(y2) - float(y1)},
            "id": str(int(oid)),
        })
    return {"header": header, "detections": dets}


def _object_id(text: str, what: str) -> Optional[int]:
    s = str(text).strip()
    if not s:
        return None
    try:
        v = float(s)
    except ValueError:
        raise BadMessage(f"{what} {s!r} is not an object id: use '1'..'255' (or leave it empty for a new object).") from None
    if not math.isfinite(v) or v != int(v) or not 1 <= int(v) <= 255:
        raise BadMessage(f"{what} {s!r} is not an object id: ids are integers 1..255 (0 is background).")
    return int(v)


def parse_prompt_detection(det: Any, width: int, height: int, tol: float = 0.5) -> tuple[Optional[int], np.ndarray]:
    """One ``vision_msgs/Detection2D`` of the ``prompts`` topic -> ``(object id or None, box x1,y1,x2,y2)``.

    The id is ``det.id``, else the first hypothesis' ``class_id``; empty means "a new object".
    The box is the bbox in pixels of the latest frame (a rotated box is replaced by its
    axis-aligned bounding box). Raises :class:`BadMessage` for NaN/inf, empty or out-of-frame
    boxes (more than ``tol`` pixels outside) and ids outside 1..255.
    """
    try:
        bb = det.bbox
        cx, cy = float(_get(bb.center, "position").x), float(_get(bb.center, "position").y)
        theta = float(getattr(bb.center, "theta", 0.0))
        sx, sy = float(bb.size_x), float(bb.size_y)
        ident = str(getattr(det, "id", "") or "")
        results = list(getattr(det, "results", []) or [])
    except (AttributeError, TypeError, ValueError) as exc:
        raise BadMessage(f"prompt is not a vision_msgs/Detection2D with a bbox: {exc}") from None
    oid = _object_id(ident, "prompt id")
    if oid is None and results:
        oid = _object_id(getattr(_get(results[0], "hypothesis"), "class_id", ""), "prompt class_id")
    vals = (cx, cy, sx, sy, theta)
    if not all(math.isfinite(v) for v in vals):
        raise BadMessage(f"prompt box has NaN or inf (center {cx}, {cy}, size {sx} x {sy}): give finite pixels.")
    if sx <= 0 or sy <= 0:
        raise BadMessage(f"prompt box size {sx} x {sy} is empty: size_x and size_y must be > 0 pixels.")
    if theta:
        c, s = abs(math.cos(theta)), abs(math.sin(theta))
        sx, sy = sx * c + sy * s, sx * s + sy * c
    x1, y1, x2, y2 = cx - sx / 2, cy - sy / 2, cx + sx / 2, cy + sy / 2
    if x1 < -tol or y1 < -tol or x2 > width + tol or y2 > height + tol:
        raise BadMessage(f"prompt box ({x1:.1f}, {y1:.1f}, {x2:.1f}, {y2:.1f}) lies outside the {width}x{height} "
                         "frame: bbox centre and size are pixels of the latest frame.")
    box = np.array([max(x1, 0.0), max(y1, 0.0), min(x2, float(width)), min(y2, float(height))], np.float32)
    return oid, box


def parse_click(x: float, y: float, z: float, width: int, height: int) -> tuple[Optional[int], np.ndarray]:
    """A ``geometry_msgs/Point`` click (rqt_image_view: pixels, ``z`` = 0) -> ``(object id or None, point)``.

    ``z`` = 0 makes a new object at the point; ``z`` = k (1..255) re-prompts object k with it.
    """
    vals = (float(x), float(y), float(z))
    if not all(math.isfinite(v) for v in vals):
        raise BadMessage(f"click ({x}, {y}, {z}) has NaN or inf: x, y are pixels, z is 0 or an object id.")
    if not (0 <= vals[0] <= width and 0 <= vals[1] <= height):
        raise BadMessage(f"click ({vals[0]:.1f}, {vals[1]:.1f}) lies outside the {width}x{height} frame "
                         "(x, y are pixels of the image shown).")
    oid = None
    if vals[2] != 0:
        if vals[2] != int(vals[2]) or not 1 <= int(vals[2]) <= 255:
            raise BadMessage(f"click z={vals[2]} is not an object id: use z=0 for a new object or 1..255.")
        oid = int(vals[2])
    return oid, np.array([[min(vals[0], width - 1e-3), min(vals[1], height - 1e-3)]], np.float32)


def _get(obj: Any, name: str) -> Any:
    return obj[name] if isinstance(obj, dict) else getattr(obj, name)


# -- dict -> rclpy message -------------------------------------------------------------------------
def dict_to_msg(d: dict, msg: Any, resolve: Optional[Callable[[str], type]] = None) -> Any:
    """Copy a dict tree into an rclpy message (nested messages and sequences of messages too).

    ``uint8[]`` fields given as numpy arrays / bytes are set as ``array.array('B')`` (one copy, no
    per-element Python checks). Returns ``msg``.
    """
    resolve = resolve or _resolve_type
    types = msg.get_fields_and_field_types()
    for key, value in d.items():
        if key not in types:
            raise ValueError(f"{type(msg).__name__} has no field {key!r}.")
        if isinstance(value, dict):
            dict_to_msg(value, getattr(msg, key), resolve)
        elif isinstance(value, np.ndarray) or isinstance(value, (bytes, bytearray, memoryview)):
            buf = array.array("B")
            buf.frombytes(np.ascontiguousarray(value, dtype=np.uint8).data if isinstance(value, np.ndarray) else value)
            setattr(msg, key, buf)
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            cls = resolve(types[key])
            setattr(msg, key, [dict_to_msg(v, cls(), resolve) for v in value])
        else:
            t = types[key]
            if t in _FLOAT_TYPES and isinstance(value, (int, np.integer, np.floating)):
                value = float(value)  # rclpy turns an int in a float64 field into garbage when field checks are off
            elif t in _INT_TYPES and isinstance(value, (np.integer, bool)):
                value = int(value)
            setattr(msg, key, value)
    return msg


_FLOAT_TYPES = {"double", "float"}
_INT_TYPES = {"int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "octet"}


_TYPE_CACHE: dict[str, type] = {}


def _resolve_type(field_type: str) -> type:
    """``'sequence<vision_msgs/Detection2D>'`` -> the ``vision_msgs.msg.Detection2D`` class."""
    cls = _TYPE_CACHE.get(field_type)
    if cls is None:
        inner = field_type
        for prefix in ("sequence<",):
            if inner.startswith(prefix):
                inner = inner[len(prefix):].rstrip(">").split(",")[0].strip()
        inner = inner.split("[")[0]
        pkg, _, name = inner.partition("/")
        import importlib

        cls = getattr(importlib.import_module(f"{pkg}.msg"), name)
        _TYPE_CACHE[field_type] = cls
    return cls


def iter_topics(namespace: str, names: Iterable[str]) -> list[str]:
    """Absolute topic names under ``namespace`` (``"/samstream"`` + ``"mask"`` -> ``"/samstream/mask"``)."""
    ns = "/" + namespace.strip("/") if namespace.strip("/") else ""
    return [f"{ns}/{n.strip('/')}" for n in names]
