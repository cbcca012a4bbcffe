"""3-D over ROS 2: depth + CameraInfo in, ``vision_msgs/Detection3DArray`` + ``sensor_msgs/PointCloud2`` out.

In: :class:`Ros2DepthSource` subscribes to a colour-aligned depth image (``sensor_msgs/Image``,
``16UC1`` millimetres or ``32FC1`` metres; e.g. RealSense ``aligned_depth_to_color/image_raw``) and
its ``sensor_msgs/CameraInfo``; it decodes each depth image (:func:`samstream.spatial.decode_depth`)
into a bounded :class:`~samstream.spatial.DepthMatcher`, and :meth:`Ros2DepthSource.depth_for`
returns the depth whose stamp is nearest the colour frame's within ``tolerance_s``, else ``None``
(the frame then gets no 3-D message, never a stale one). Depth images before the first CameraInfo,
of another size than it, or of an unsupported encoding are skipped and counted.

Out (built here as dicts, published by :class:`~samstream.ros2.sink.Ros2Sink` once
``enable_3d()``): ``<ns>/objects`` (:func:`detections3d_dict`) and ``<ns>/objects/points``
(:func:`pointcloud2_dict`), both with the colour image's header (its stamp and ``frame_id``: with
aligned depth, the colour optical frame is the frame of the 3-D coordinates). Camera frame only:
there is no ``tf2`` in the pip ROS 2 wheels, so no ``--target-frame``; transform downstream
(``tf2_ros`` in a sourced distro) if another frame is needed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from ..spatial import CameraInfo, DepthFrame, DepthMatcher, DepthMatchStats, decode_depth
from ..types import Frame
from .conversions import BadMessage, seconds_from_stamp
from .qos import parse_qos, to_rclpy
from .runtime import Ros2Runtime, require_rclpy

__all__ = ["Ros2DepthSource", "DepthSourceStats", "detections3d_dict", "pointcloud2_dict", "POINT_FIELDS"]

#: PointCloud2 layout: x, y, z float32 metres (optical frame) and the object id (uint32); 16 bytes a point.
POINT_FIELDS = [{"name": "x", "offset": 0, "datatype": 7, "count": 1},
                {"name": "y", "offset": 4, "datatype": 7, "count": 1},
                {"name": "z", "offset": 8, "datatype": 7, "count": 1},
                {"name": "id", "offset": 12, "datatype": 6, "count": 1}]


def detections3d_dict(objs: Any, header: dict) -> dict:
    """A ``vision_msgs/Detection3DArray`` dict of :class:`~samstream.spatial.Objects3D`.

    Per object: ``id`` = the object id as text (the same as in ``detections``), ``bbox.center`` =
    the robust centroid (metres, optical frame, identity orientation), ``bbox.size`` = the extent,
    one hypothesis with ``class_id`` = the id, ``score`` = the 2-D score, ``pose`` = the centroid.
    """
    dets = []
    for o in objs.objects:
        c, e = (float(v) for v in o.centroid), (float(v) for v in o.extent)
        pose = {"position": dict(zip("xyz", c)), "orientation": {"x": 0.0, "y": 0.0, "z": 0.0, "w": 1.0}}
        dets.append({"header": header,
                     "results": [{"hypothesis": {"class_id": str(o.obj_id), "score": float(np.clip(o.score, 0, 1))},
                                  "pose": {"pose": pose, "covariance": [0.0] * 36}}],
                     "bbox": {"center": pose, "size": dict(zip("xyz", e))},
                     "id": str(o.obj_id)})
    return {"header": header, "detections": dets}


def pointcloud2_dict(objs: Any, header: dict, max_points: int = 20000) -> dict:
    """A ``sensor_msgs/PointCloud2`` dict of every object's points (:data:`POINT_FIELDS`), at most
    ``max_points`` (a regular subsample), unorganised (``height`` 1), dense (no NaN)."""
    pts, ids = objs.all_points()
    if len(pts) > max_points:
        step = int(np.ceil(len(pts) / max_points))
        pts, ids = pts[::step], ids[::step]
    rec = np.zeros(len(pts), dtype=[("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("id", "<u4")])
    rec["x"], rec["y"], rec["z"], rec["id"] = pts[:, 0], pts[:, 1], pts[:, 2], ids
    return {"header": header, "height": 1, "width": int(len(rec)), "fields": POINT_FIELDS, "is_bigendian": False,
            "point_step": 16, "row_step": 16 * int(len(rec)), "data": rec.view(np.uint8), "is_dense": True}


@dataclass(frozen=True)
class DepthSourceStats:
    """Counters of a :class:`Ros2DepthSource`.

    Attributes:
        depth_images: depth messages decoded; camera_infos: CameraInfo messages taken.
        waiting_for_camera_info: depth images skipped before the first CameraInfo.
        bad_depth: depth images skipped (bad encoding or size; ``last_error``).
        match: the stamp matcher's counters (matched / missed colour frames).
    """

    depth_topic: str
    camera_info_topic: str
    depth_images: int
    camera_infos: int
    waiting_for_camera_info: int
    bad_depth: int
    last_error: Optional[str]
    match: DepthMatchStats


class Ros2DepthSource:
    """Aligned depth + CameraInfo from ROS 2 topics, matched to colour frames by stamp.

    Args:
        depth_topic: ``sensor_msgs/Image`` 16UC1 (mm) or 32FC1 (m), aligned to the colour image.
        camera_info_topic: its ``sensor_msgs/CameraInfo`` (default: ``camera_info`` next to the depth topic).
        runtime: the node's :class:`~samstream.ros2.runtime.Ros2Runtime` (a ``Ros2Sink``'s ``.runtime``).
        tolerance_s: largest colour/depth stamp difference accepted (default 0.02 s).
        history: depth images kept for matching (bounded; default 8).
        qos: subscription QoS (default ``sensor``).
    """

    def __init__(self, depth_topic: str, camera_info_topic: Optional[str] = None, *, runtime: Ros2Runtime,
                 tolerance_s: float = 0.02, history: int = 8, qos: Any = "sensor") -> None:
        require_rclpy()
        from sensor_msgs.msg import CameraInfo as CameraInfoMsg
        from sensor_msgs.msg import Image

        depth_topic = str(depth_topic).strip()
        if not depth_topic:
            raise ValueError("--depth-topic needs a topic, e.g. /camera/aligned_depth_to_color/image_raw")
        if camera_info_topic is None:
            camera_info_topic = depth_topic.rsplit("/", 1)[0] + "/camera_info"
        self.depth_topic, self.camera_info_topic = depth_topic, str(camera_info_topic)
        self.matcher = DepthMatcher(tolerance_s, history)
        self.camera: Optional[CameraInfo] = None
        self._lock = threading.Lock()
        self._n = {"depth": 0, "info": 0, "waiting": 0, "bad": 0}
        self.last_error: Optional[str] = None
        q = to_rclpy(parse_qos(qos))
        node = runtime.node
        self._subs = [node.create_subscription(CameraInfoMsg, self.camera_info_topic, self._on_info, q),
                      node.create_subscription(Image, self.depth_topic, self._on_depth, q)]

    def _on_info(self, msg: Any) -> None:
        try:
            cam = CameraInfo.from_msg(msg)
        except ValueError as exc:
            self._bad(f"{self.camera_info_topic}: {exc}")
            return
        with self._lock:
            self.camera = cam
            self._n["info"] += 1

    def _on_depth(self, msg: Any) -> None:
        cam = self.camera
        if cam is None:
            with self._lock:
                self._n["waiting"] += 1
            return
        try:
            h, w, step = int(msg.height), int(msg.width), int(msg.step)
            enc = str(msg.encoding)
            dtype = {"16UC1": "<u2", "mono16": "<u2", "32FC1": "<f4"}.get(enc)
            if dtype is None:
                raise BadMessage(f"depth encoding {enc!r} is not supported: publish 16UC1 (mm) or 32FC1 (m).")
            if msg.is_bigendian:
                dtype = dtype.replace("<", ">")
            buf = np.frombuffer(bytes(msg.data) if not isinstance(msg.data, (bytes, memoryview)) else msg.data, np.uint8)
            item = np.dtype(dtype).itemsize
            if buf.size < step * h or step < w * item:
                raise BadMessage(f"depth image data is {buf.size} bytes, expected {step * h} ({w}x{h}, step {step}).")
            arr = buf[: step * h].reshape(h, step)[:, : w * item].copy().view(dtype).reshape(h, w)
            depth = decode_depth(arr.astype(arr.dtype.newbyteorder("=")), enc)
            if (w, h) != (cam.width, cam.height):
                raise BadMessage(f"depth is {w}x{h} but CameraInfo says {cam.width}x{cam.height}: use the aligned "
                                 "depth's own camera_info.")
            stamp = seconds_from_stamp(int(msg.header.stamp.sec), int(msg.header.stamp.nanosec))
            self.matcher.push(DepthFrame(depth, stamp, cam))
            with self._lock:
                self._n["depth"] += 1
        except Exception as exc:  # a callback must not die
            self._bad(f"{self.depth_topic}: {exc}")

    def _bad(self, message: str) -> None:
        with self._lock:
            self._n["bad"] += 1
            self.last_error = message

    def depth_for(self, frame: Frame) -> Optional[DepthFrame]:
        """The depth image matched to ``frame`` by stamp (``None`` when none is within the tolerance)."""
        d = self.matcher.match(frame.timestamp)
        if d is None or (d.depth.shape != (frame.height, frame.width)):
            return None
        return d

    def stats(self) -> DepthSourceStats:
        with self._lock:
            n = dict(self._n)
        return DepthSourceStats(self.depth_topic, self.camera_info_topic, n["depth"], n["info"], n["waiting"],
                                n["bad"], self.last_error, self.matcher.stats())
