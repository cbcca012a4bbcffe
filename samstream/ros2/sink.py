"""Results out as ROS 2 topics: :class:`Ros2Sink`, a pipeline sink (``write(frame, seg)``).

::

    from samstream import Pipeline
    from samstream.ros2 import Ros2Sink

    sink = Ros2Sink("samstream", "/samstream")               # its own rclpy node, spun in a thread
    pipe = Pipeline("synthetic", sinks=[sink])               # or sink.image_source("/camera/image_raw")
    sink.attach(pipe)                                        # prompts/clicks/clear/remove act on this pipeline
    for seg in pipe:
        ...

Publishing happens in a thread of its own from a slot of one result: ``write()`` never waits for
DDS, and if a result is still being published when the next arrives, the older unpublished one is
dropped and counted (``stats().publish_dropped``), so a slow or stalled subscriber cannot slow
the pipeline and nothing queues without bound. ``mask/compressed`` and ``overlay`` are only
encoded while someone subscribes to them; the overlay is drawn by
:func:`samstream.sinks.overlay.draw_overlay`.

Headers: a frame from a ROS image source (:meth:`Ros2Sink.add_source`, or made by
:meth:`Ros2Sink.image_source`) is published with the exact header of its input message, looked up
per frame from the source that produced it (``Frame.source``), so several sources can feed one
sink; any other frame gets its capture time and ``frame_id``.

The command topics (prompts, clicks, clear, remove) are a :class:`~samstream.ros2.control.Ros2Control`
on the same node (``control=True``, the default). Depends on :mod:`.runtime`, :mod:`.control`,
:mod:`.conversions` and :mod:`.qos`; nothing in :mod:`samstream.ros2` imports this module.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Optional

from ..metrics import as_dict
from ..types import Frame, Segmentation
from .counters import Counters
from .control import CONTROL_TOPICS, Ros2Control, Ros2ControlStats
from .conversions import compressed_png_dict, detections_dict, dict_to_msg, header_dict, image_dict, stamp_from_seconds
from .qos import parse_qos, to_rclpy
from .runtime import VISION_MSGS_HELP, Ros2Runtime, require_rclpy, vision_msgs_available

__all__ = ["Ros2Sink", "Ros2SinkStats", "PUBLISH_TOPICS"]

#: topic key -> default name (relative to the node's namespace).
PUBLISH_TOPICS = {"mask": "mask", "mask_compressed": "mask/compressed", "detections": "detections",
                  "overlay": "overlay", "objects": "objects", "objects_points": "objects/points"}

_MESSAGES = ("mask", "mask/compressed", "detections", "overlay", "objects", "objects/points")


@dataclass(frozen=True)
class Ros2SinkStats:
    """A snapshot of :class:`Ros2Sink`'s counters.

    Attributes:
        frames_published: results published; publish_dropped: results replaced before they were
            published (a slow subscriber); publish_errors: publishing attempts that raised.
        messages: messages published per topic key (``mask``, ``mask/compressed``, ``detections``,
            ``overlay``).
        callback_errors: subscription callbacks that raised (the node went on).
        control: the command topics' counters (``None`` with ``control=False``).
        last_errors: the latest problems (newest last).
        topics: fully resolved names of the published topics; qos: the publisher QoS.
        sources: the stats of the ROS image sources feeding this sink.
    """

    frames_published: int = 0
    publish_dropped: int = 0
    publish_errors: int = 0
    messages: dict[str, int] = field(default_factory=dict)
    callback_errors: int = 0
    control: Optional[Ros2ControlStats] = None
    last_errors: tuple[str, ...] = ()
    topics: dict[str, str] = field(default_factory=dict)
    qos: str = ""
    sources: tuple[Any, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The flat JSON layout of ``samstream run --stats-json``'s ``"ros2"``: every counter at the
        top level (``frames_published``, ``mask``, ``bad_prompts``, ...), then ``last_errors``,
        ``topics``, ``qos`` and ``sources``."""
        out: dict[str, Any] = {"frames_published": self.frames_published, "publish_dropped": self.publish_dropped,
                               "publish_errors": self.publish_errors, "callback_errors": self.callback_errors}
        out.update(self.messages)
        if self.control is not None:
            out.update({k: v for k, v in self.control.to_dict().items() if k != "last_errors"})
        out.update(last_errors=list(self.last_errors), topics=dict(self.topics), qos=self.qos,
                   sources=[as_dict(s) for s in self.sources])
        return out


class Ros2Sink:
    """samstream's ROS 2 publisher: a pipeline sink (``write(frame, seg)``) on an rclpy node.

    Args:
        node_name: node name (default ``samstream``).
        namespace: namespace of every topic (default ``/samstream``: ``/samstream/mask`` ...).
        qos: publisher QoS, a profile name (``default``, ``reliable``, ``sensor``, ``transient_local``,
            optionally ``:DEPTH``) or a :class:`~samstream.ros2.qos.QosSpec`.
        overlay: also publish ``overlay`` (bgr8 image with coloured masks).
        publish: publish results at all (``False``: the node only feeds image sources / takes commands).
        frame_id: ``header.frame_id`` for frames that did not come from a ROS topic.
        topics: override topic names, e.g. ``{"mask": "seg/labels"}`` (keys: mask, mask_compressed,
            detections, overlay, prompts, clear, remove, overlay_clicks).
        node: an existing rclpy node to use (the ``samstream_ros`` package passes its own); default
            creates one in a private rclpy context (``ROS_DOMAIN_ID`` is honoured).
        runtime: an existing :class:`~samstream.ros2.runtime.Ros2Runtime` to share (not closed by
            this sink); overrides ``node_name``, ``namespace``, ``node`` and ``spin``.
        spin: spin the node in a background thread (default ``True``).
        threaded: publish from a background thread (default ``True``); ``False`` publishes inside ``write``.
        png_level: PNG compression level of ``mask/compressed`` (0..9, default 1: fast).
        overlay_alpha: opacity of the masks on ``overlay``.
        control: subscribe to the command topics (prompts, clicks, clear, remove).
    """

    def __init__(self, node_name: str = "samstream", namespace: str = "/samstream", *, qos: Any = "default",
                 overlay: bool = False, publish: bool = True, frame_id: str = "camera",
                 topics: Optional[dict] = None, node: Any = None, runtime: Optional[Ros2Runtime] = None,
                 spin: bool = True, threaded: bool = True, png_level: int = 1, overlay_alpha: float = 0.5,
                 control: bool = True) -> None:
        require_rclpy()
        from sensor_msgs.msg import CompressedImage, Image

        if not 0 <= int(png_level) <= 9:
            raise ValueError(f"png_level must be 0..9, got {png_level}.")
        unknown = set(topics or {}) - set(PUBLISH_TOPICS) - set(CONTROL_TOPICS)
        if unknown:
            raise ValueError(f"unknown topic key(s) {sorted(unknown)}: known are "
                             f"{sorted([*PUBLISH_TOPICS, *CONTROL_TOPICS])}.")
        if runtime is not None and not isinstance(runtime, Ros2Runtime):
            raise ValueError(f"runtime must be a samstream.ros2.runtime.Ros2Runtime, got {type(runtime).__name__}.")
        self.qos = parse_qos(qos)
        self.frame_id = str(frame_id)
        self.png_level = int(png_level)
        self.overlay_alpha = float(overlay_alpha)
        self.publishing = bool(publish)
        names = dict(PUBLISH_TOPICS)
        names.update({k: v for k, v in (topics or {}).items() if k in PUBLISH_TOPICS})
        self.topic_names = names

        self._own_runtime = runtime is None
        self.runtime = runtime if runtime is not None else Ros2Runtime(node_name, namespace, node=node, spin=spin)
        self.node, self.context = self.runtime.node, self.runtime.context
        self._log = self.runtime.logger
        self._counters = Counters(self._log)
        self._lock, self._counts, self.errors = self._counters.lock, self._counters.counts, self._counters.errors
        self._header_sources: dict[str, Any] = {}
        self.image_sources: list[Any] = []
        self._closed = False
        self._Image, self._CompressedImage = Image, CompressedImage
        self.has_vision_msgs = vision_msgs_available()
        if not self.has_vision_msgs:
            self._log.warning(f"detections and prompts topics are off: {VISION_MSGS_HELP}")

        try:
            self.pubs: dict[str, Any] = {}
            if self.publishing:
                q = to_rclpy(self.qos)
                self.pubs["mask"] = self.node.create_publisher(Image, names["mask"], q)
                self.pubs["mask/compressed"] = self.node.create_publisher(CompressedImage, names["mask_compressed"], q)
                if self.has_vision_msgs:
                    from vision_msgs.msg import Detection2DArray

                    self._Detection2DArray = Detection2DArray
                    self.pubs["detections"] = self.node.create_publisher(Detection2DArray, names["detections"], q)
                if overlay:
                    self.pubs["overlay"] = self.node.create_publisher(Image, names["overlay"], q)
            self._topic_names = {k: p.topic_name for k, p in self.pubs.items()}
            self.control: Optional[Ros2Control] = None
            if control:
                self.control = Ros2Control(self.runtime, topics={k: v for k, v in (topics or {}).items()
                                                                 if k in CONTROL_TOPICS},
                                           prompts=self.has_vision_msgs)
        except BaseException:
            if self._own_runtime:
                self.runtime.close()
            raise

        # publishing thread (a slot of one result)
        self._threaded = bool(threaded)
        self._cond = threading.Condition()
        self._pending: Optional[tuple] = None
        self._pub_thread: Optional[threading.Thread] = None
        if self.publishing and self._threaded:
            self._pub_thread = threading.Thread(target=self._publish_loop, name="samstream-ros2-publish", daemon=True)
            self._pub_thread.start()
        self.max_points = 20000
        self.depth_sources: list[Any] = []

    # -- 3-D (depth) -------------------------------------------------------------------------------
    def enable_3d(self, points: bool = True, max_points: int = 20000) -> "Ros2Sink":
        """Publish ``objects`` (``vision_msgs/Detection3DArray``) and, with ``points``, ``objects/points``
        (``sensor_msgs/PointCloud2``, at most ``max_points``) for results that come with 3-D objects
        (:meth:`write_3d`; see :mod:`samstream.ros2.spatial`). Needs vision_msgs with the 3-D messages."""
        if not self.publishing:
            return self
        if int(max_points) < 1:
            raise ValueError(f"max_points must be >= 1, got {max_points}.")
        self.max_points = int(max_points)
        try:
            from vision_msgs.msg import Detection3DArray
        except ImportError as exc:
            raise ImportError("3-D detections need vision_msgs with Detection3DArray: run "
                              "bash scripts/build_ros_interfaces.sh (or apt install ros-$ROS_DISTRO-vision-msgs).") from exc
        from sensor_msgs.msg import PointCloud2

        q = to_rclpy(self.qos)
        self._Detection3DArray, self._PointCloud2 = Detection3DArray, PointCloud2
        if "objects" not in self.pubs:
            self.pubs["objects"] = self.node.create_publisher(Detection3DArray, self.topic_names["objects"], q)
        if points and "objects/points" not in self.pubs:
            self.pubs["objects/points"] = self.node.create_publisher(PointCloud2, self.topic_names["objects_points"], q)
        self._topic_names = {k: p.topic_name for k, p in self.pubs.items()}
        return self

    def depth_source(self, depth_topic: str, camera_info_topic: Optional[str] = None, **options: Any) -> Any:
        """A :class:`~samstream.ros2.spatial.Ros2DepthSource` on this sink's node (pass it as
        ``Pipeline(depth=...)``); its counters are in :meth:`depth_stats`."""
        from .spatial import Ros2DepthSource

        src = Ros2DepthSource(depth_topic, camera_info_topic, runtime=self.runtime, **options)
        self.depth_sources.append(src)
        return src

    def depth_stats(self) -> list:
        """The :class:`~samstream.ros2.spatial.DepthSourceStats` of each depth source."""
        return [d.stats() for d in self.depth_sources]

    # -- wiring ----------------------------------------------------------------------------------
    def attach(self, pipeline: Any) -> "Ros2Sink":
        """Prompts, clicks, clear and remove act on ``pipeline`` (its thread-safe object methods)."""
        if self.control is None:
            raise ValueError("this Ros2Sink was made with control=False: make it with control=True to take "
                             "prompts, clicks, clear and remove.")
        self.control.attach(pipeline)
        return self

    def image_source(self, topic: str, **options: Any) -> Any:
        """A :class:`~samstream.ros2.source.Ros2ImageSource` on ``topic`` on this sink's node, added
        with :meth:`add_source` (its headers label our results; clicks on ``<topic>_mouse_left``)."""
        from .source import Ros2ImageSource

        source = Ros2ImageSource(topic, runtime=self.runtime, **options)
        self.add_source(source)
        return source

    def add_source(self, source: Any) -> None:
        """Publish frames of ``source`` (a ROS image source) with their input headers, looked up per
        frame through ``source.header_for(frame)``; with control on, take clicks on
        ``<source.topic>_mouse_left`` too."""
        if not callable(getattr(source, "header_for", None)):
            raise ValueError(f"{type(source).__name__} has no header_for(frame): add a "
                             "samstream.ros2.source.Ros2ImageSource (or Ros2Sink.image_source(topic)).")
        with self._lock:
            self._header_sources[str(source.name)] = source
            if source not in self.image_sources:
                self.image_sources.append(source)
        if self.control is not None and getattr(source, "topic", None):
            self.control.watch_clicks(source.topic)

    def header_for(self, frame: Frame) -> dict:
        """The ``std_msgs/Header`` (dict) for results of ``frame``: the input message's own header for
        frames from an added ROS image source, else the frame's capture time and ``frame_id``."""
        source = self._header_sources.get(frame.source)
        if source is not None:
            h = source.header_for(frame)
            if h is not None:
                return h
        return header_dict(stamp_from_seconds(frame.timestamp), self.frame_id)

    # -- sink --------------------------------------------------------------------------------------
    def write_3d(self, frame: Frame, seg: Segmentation, objs: Any) -> None:
        """A result with its 3-D objects (the pipeline calls this instead of :meth:`write` when depth
        matched the frame): the 2-D topics as usual, plus ``objects`` / ``objects/points``."""
        self.write(frame, seg, objs)

    def write(self, frame: Frame, seg: Segmentation, objs: Any = None) -> None:
        if self.control is not None:
            self.control.observe(frame)
        if not self.publishing or self._closed:
            return
        item = (frame, seg, self.header_for(frame), objs)
        if not self._threaded:
            self._publish(*item)
            return
        with self._cond:
            if self._pending is not None:
                self._inc("publish_dropped")
            self._pending = item
            self._cond.notify()

    def _publish_loop(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._closed:
                    self._cond.wait(0.5)
                if self._pending is None and self._closed:
                    return
                item, self._pending = self._pending, None
            try:
                self._publish(*item)
            except Exception as exc:  # never let the publishing thread die
                self._error("publish_errors", f"publishing failed: {type(exc).__name__}: {exc}")

    def _publish(self, frame: Frame, seg: Segmentation, header: dict, objs: Any = None) -> None:
        if not self.context.ok():
            return
        labels = seg.label_map()
        pub = self.pubs.get("mask")
        if pub is not None:
            pub.publish(dict_to_msg(image_dict(header, labels, "mono8"), self._Image()))
            self._inc("mask")
        pub = self.pubs.get("detections")
        if pub is not None:
            pub.publish(dict_to_msg(detections_dict(seg, header), self._Detection2DArray()))
            self._inc("detections")
        pub = self.pubs.get("mask/compressed")
        if pub is not None and pub.get_subscription_count() > 0:
            pub.publish(dict_to_msg(compressed_png_dict(header, labels, self.png_level), self._CompressedImage()))
            self._inc("mask/compressed")
        pub = self.pubs.get("overlay")
        if pub is not None and pub.get_subscription_count() > 0:
            from ..sinks.overlay import draw_overlay

            over = draw_overlay(frame.image, seg, self.overlay_alpha)
            pub.publish(dict_to_msg(image_dict(header, over, "bgr8"), self._Image()))
            self._inc("overlay")
        if objs is not None:
            from .spatial import detections3d_dict, pointcloud2_dict

            pub = self.pubs.get("objects")
            if pub is not None:
                pub.publish(dict_to_msg(detections3d_dict(objs, header), self._Detection3DArray()))
                self._inc("objects")
            pub = self.pubs.get("objects/points")
            if pub is not None and pub.get_subscription_count() > 0:
                pub.publish(dict_to_msg(pointcloud2_dict(objs, header, self.max_points), self._PointCloud2()))
                self._inc("objects/points")
        self._inc("frames_published")

    def _inc(self, key: str) -> None:
        self._counters.inc(key)

    def _error(self, counter: str, message: str) -> None:
        self._counters.error(counter, message)

    # -- helpers -----------------------------------------------------------------------------------
    def wait_for_subscribers(self, count: int = 1, timeout: float = 10.0, topic: str = "mask") -> bool:
        """Block until ``topic`` has ``count`` subscribers (``True``) or ``timeout`` seconds pass (``False``)."""
        pub = self.pubs.get(topic)
        if pub is None:
            raise ValueError(f"no publisher {topic!r}: publishing topics are {sorted(self.pubs)}.")
        end = time.monotonic() + float(timeout)
        while time.monotonic() < end:
            if pub.get_subscription_count() >= count:
                return True
            time.sleep(0.02)
        return pub.get_subscription_count() >= count

    def topics(self) -> dict[str, str]:
        """Fully resolved names of the published topics."""
        return dict(self._topic_names)

    def stats(self) -> Ros2SinkStats:
        """A snapshot of the counters (:class:`Ros2SinkStats`; ``.to_dict()`` for JSON)."""
        control = self.control.stats() if self.control is not None else None
        with self._lock:
            counts = dict(self._counts)
            errors = list(self.errors)
            sources = list(self.image_sources)
        errors += list(self.runtime.errors) + (list(control.last_errors) if control is not None else [])
        return Ros2SinkStats(frames_published=counts.get("frames_published", 0),
                             publish_dropped=counts.get("publish_dropped", 0),
                             publish_errors=counts.get("publish_errors", 0),
                             messages={k: counts[k] for k in _MESSAGES if k in counts},
                             callback_errors=self.runtime.callback_errors, control=control,
                             last_errors=tuple(errors[-5:]), topics=self.topics(), qos=str(self.qos),
                             sources=tuple(s.stats() for s in sources))

    # -- lifetime -----------------------------------------------------------------------------------
    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with self._cond:
            self._cond.notify_all()
        if self._pub_thread is not None:
            self._pub_thread.join(timeout=5.0)
        self._flush()
        if self._own_runtime:
            self.runtime.close()

    def _flush(self, timeout: float = 0.5) -> None:
        """Give reliable subscribers up to ``timeout`` seconds (in all) to acknowledge the last messages."""
        if not self.pubs or self.qos.reliability != "reliable" or not self.context.ok():
            return
        from rclpy.duration import Duration

        end = time.monotonic() + timeout
        for pub in self.pubs.values():
            left = end - time.monotonic()
            if left <= 0:
                return
            try:
                pub.wait_for_all_acked(Duration(nanoseconds=int(left * 1e9)))
            except Exception:  # an rmw without acknowledgements: nothing to wait for
                return

    def __enter__(self) -> "Ros2Sink":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
