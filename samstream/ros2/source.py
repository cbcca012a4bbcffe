"""``ros2:/camera/image_raw``: a ROS 2 image topic as a samstream source.

A :class:`~samstream.sources.PushSource` fed by an rclpy subscription: ``sensor_msgs/Image``
(bgr8, rgb8, bgra8, rgba8, mono8, mono16, yuv422 = UYVY, yuv422_yuy2 = YUYV) or, for topics ending
in ``/compressed`` (or ``compressed=True``), ``sensor_msgs/CompressedImage`` (JPEG/PNG). Like every
live source it keeps only the newest frame (a slow pipeline skips frames, counted in
``stats().frames_dropped``). A message that cannot be used (unknown encoding, truncated or
oversized data, undecodable compressed data, another size than the first frame) is skipped and
counted in ``stats().bad_frames`` with the reason in ``stats().last_error``.

The frame's timestamp is the message's ``header.stamp`` (``time.time()`` when the stamp is zero),
and :meth:`Ros2ImageSource.header_for` gives back the exact input header (stamp and ``frame_id``)
for a frame of this source (``None`` for another source's frame), so a
:class:`~samstream.ros2.sink.Ros2Sink` fed by several sources labels every result with the header
of the image it was computed for. Depends on :mod:`.runtime`, :mod:`.conversions` and
:mod:`.qos` only; registered as the ``ros2:`` prefix of :func:`samstream.sources.open_source`
(entry point ``samstream.sources``), so ``open_source("ros2:/camera/image_raw", qos="sensor")``
makes one.
"""

from __future__ import annotations

import collections
import threading
import time
from typing import Any, Optional

from ..sources.push import PushSource
from ..types import Frame
from .conversions import BadMessage, compressed_to_bgr, header_dict, msg_to_bgr, seconds_from_stamp, stamp_from_seconds
from .qos import parse_qos, to_rclpy
from .runtime import Ros2Runtime, require_rclpy

__all__ = ["Ros2ImageSource"]


class Ros2ImageSource(PushSource):
    """Frames from a ROS 2 image topic.

    Args:
        topic: the image topic (``/camera/image_raw``; ``.../compressed`` for CompressedImage).
        runtime: the :class:`~samstream.ros2.runtime.Ros2Runtime` whose node subscribes (a
            :class:`~samstream.ros2.sink.Ros2Sink`'s ``.runtime``; default: a new node ``node_name``
            in ``namespace``, closed with this source).
        compressed: force the message type (default: from the topic name).
        qos: subscription QoS (default ``sensor``: best effort, which receives from reliable and
            best-effort publishers alike).
        history: how many recent frames' input headers are kept for :meth:`header_for` (bounded).
        size_policy: ``"skip"`` (default) or ``"resize"`` images whose size differs from the first.
    """

    kind = "ros2"

    def __init__(self, topic: str, *, runtime: Optional[Ros2Runtime] = None, compressed: Optional[bool] = None, qos: Any = "sensor",
                 node_name: str = "samstream", namespace: str = "/samstream", history: int = 64,
                 size_policy: str = "skip", fps: Optional[float] = None) -> None:
        topic = str(topic).strip()
        if not topic or topic in ("/", "ros2:"):
            raise ValueError("ros2 source needs a topic: --source ros2:/camera/image_raw")
        if not topic.startswith("/"):
            topic = "/" + topic
        if int(history) < 1:
            raise ValueError(f"history must be >= 1, got {history}.")
        super().__init__(f"ros2:{topic}", fps=fps, copy=False, size_policy=size_policy)
        self.topic = topic
        self.compressed = topic.rstrip("/").endswith("/compressed") if compressed is None else bool(compressed)
        self.history = int(history)
        self._headers: "collections.OrderedDict[int, dict]" = collections.OrderedDict()
        self._hlock = threading.Lock()
        if runtime is not None and not isinstance(runtime, Ros2Runtime):
            raise ValueError(f"runtime must be a samstream.ros2.runtime.Ros2Runtime, got {type(runtime).__name__}: "
                             "pass a Ros2Sink's .runtime, or use Ros2Sink.image_source(topic).")
        require_rclpy()  # the one clear error, before anything else needs rclpy
        sub_qos = to_rclpy(parse_qos(qos))
        self._own_runtime = runtime is None
        self.runtime = Ros2Runtime(node_name, namespace) if runtime is None else runtime
        from sensor_msgs.msg import CompressedImage, Image

        try:
            self._sub = self.runtime.node.create_subscription(CompressedImage if self.compressed else Image, topic,
                                                              self._on_image, sub_qos)
        except Exception:
            if self._own_runtime:
                self.runtime.close()
            raise

    def _on_image(self, msg: Any) -> None:
        try:
            img = compressed_to_bgr(msg.format, msg.data) if self.compressed else msg_to_bgr(msg)
        except BadMessage as exc:
            self._bad(f"{self.topic}: {exc}")
            return
        except Exception as exc:  # a callback must not die
            self._bad(f"{self.topic}: {type(exc).__name__}: {exc}")
            return
        stamp = (int(msg.header.stamp.sec), int(msg.header.stamp.nanosec))
        if stamp == (0, 0):
            ts = time.time()
            stamp = stamp_from_seconds(ts)
        else:
            ts = seconds_from_stamp(*stamp)
        header = header_dict(stamp, msg.header.frame_id)
        with self._hlock:  # index assignment and header bookkeeping together (header_for never misses)
            frame = self.push(img, ts)
            if frame is not None:
                self._headers[frame.index] = header
                while len(self._headers) > self.history:
                    self._headers.popitem(last=False)

    def header_for(self, frame: Frame) -> Optional[dict]:
        """The input header of ``frame`` (``None`` if it is older than ``history`` frames or is not
        one of this source's)."""
        if frame.source != self.name:
            return None
        with self._hlock:
            return self._headers.get(frame.index)

    def _close_impl(self) -> None:
        super()._close_impl()
        if self._own_runtime:
            self.runtime.close()
