"""The rclpy node: results out as topics (a pipeline sink), images/prompts/clicks/clear in.

::

    from samstream import Pipeline
    from samstream.ros2 import Ros2Bridge

    bridge = Ros2Bridge("samstream", "/samstream")          # its own rclpy context, spun in a thread
    pipe = Pipeline("synthetic", sinks=[bridge])             # or bridge.image_source("/camera/image_raw")
    bridge.attach(pipe)                                      # prompts/clicks/clear act on this pipeline
    for seg in pipe:
        ...

Publishing happens in a thread of its own from a slot of one result: ``write()`` never waits for
DDS, and if a result is still being published when the next arrives, the older unpublished one is
dropped and counted (``stats()["publish_dropped"]``), so a slow or stalled subscriber cannot slow
the pipeline and nothing queues without bound. ``mask/compressed`` and ``overlay`` are only
encoded while someone subscribes to them.

Bad input on any subscribed topic (unknown encodings, truncated/oversized images, NaN or
out-of-frame prompt boxes, ids outside 1..255, removing an id that is not tracked) is logged
(rate-limited), counted in :meth:`Ros2Bridge.stats` and skipped; the node keeps running.
"""

from __future__ import annotations

import collections
import threading
import time
from typing import Any, Callable, Optional

import numpy as np

from ..types import Frame, Segmentation
from . import VISION_MSGS_HELP, require_rclpy, vision_msgs_available
from .conversions import (
    BadMessage,
    compressed_png_dict,
    detections_dict,
    dict_to_msg,
    header_dict,
    image_dict,
    parse_click,
    parse_prompt_detection,
    stamp_from_seconds,
)
from .qos import QosSpec, parse_qos, to_rclpy

__all__ = ["Ros2Bridge", "Ros2Sink", "CONTROL_QOS"]

#: prompts, clicks, clear and remove: commands, so reliable (what `ros2 topic pub` and rqt use).
CONTROL_QOS = QosSpec("reliable", "volatile", 10)


class Ros2Bridge:
    """samstream's ROS 2 node. A pipeline sink (``write(frame, seg)``) and the home of image sources.

    Args:
        node_name: node name (default ``samstream``).
        namespace: namespace of every topic (default ``/samstream``: ``/samstream/mask`` ...).
        qos: publisher QoS, a profile name (``default``, ``reliable``, ``sensor``, ``transient_local``,
            optionally ``:DEPTH``) or a :class:`QosSpec`; see :mod:`samstream.ros2.qos`.
        overlay: also publish ``overlay`` (bgr8 image with coloured masks).
        publish: publish results at all (``False``: the node only feeds an image source / takes prompts).
        frame_id: ``header.frame_id`` for frames that did not come from a ROS topic.
        topics: override topic names, e.g. ``{"mask": "seg/labels"}`` (keys: mask, mask_compressed,
            detections, overlay, prompts, clear, remove).
        node: an existing rclpy node to use (the ``samstream_ros`` package passes its own); default
            creates one in a private rclpy context (``ROS_DOMAIN_ID`` is honoured).
        spin: spin the node in a background thread (default ``True``).
        threaded: publish from a background thread (default ``True``); ``False`` publishes inside ``write``.
        png_level: PNG compression level of ``mask/compressed`` (0..9, default 1: fast).
    """

    def __init__(self, node_name: str = "samstream", namespace: str = "/samstream", *, qos: Any = "default",
                 overlay: bool = False, publish: bool = True, frame_id: str = "camera",
                 topics: Optional[dict] = None, node: Any = None, spin: bool = True, threaded: bool = True,
                 png_level: int = 1, overlay_alpha: float = 0.5, control: bool = True) -> None:
        rclpy = require_rclpy()
        from geometry_msgs.msg import Point
        from sensor_msgs.msg import CompressedImage, Image
        from std_msgs.msg import Empty, Int32

        if not 0 <= int(png_level) <= 9:
            raise ValueError(f"png_level must be 0..9, got {png_level}.")
        self.qos = parse_qos(qos)
        self.frame_id = str(frame_id)
        self.png_level = int(png_level)
        self.overlay_alpha = float(overlay_alpha)
        self.publishing = bool(publish)
        names = {"mask": "mask", "mask_compressed": "mask/compressed", "detections": "detections",
                 "overlay": "overlay", "prompts": "prompts", "clear": "clear", "remove": "remove",
                 "overlay_clicks": "overlay_mouse_left"}
        unknown = set(topics or {}) - set(names)
        if unknown:
            raise ValueError(f"unknown topic key(s) {sorted(unknown)}: known are {sorted(names)}.")
        names.update(topics or {})
        self.topic_names = names

        self._own_context = node is None
        if node is None:
            from rclpy.signals import SignalHandlerOptions

            self.context = rclpy.Context()
            rclpy.init(args=[], context=self.context, signal_handler_options=SignalHandlerOptions.NO)
            try:
                self.node = rclpy.create_node(node_name, namespace=namespace or "/", context=self.context)
            except Exception as exc:
                rclpy.shutdown(context=self.context)
                raise ValueError(f"cannot create ROS 2 node {node_name!r} in namespace {namespace!r}: {exc} "
                                 "(names: letters, digits, '_' and '/', not starting with a digit).") from exc
        else:
            self.node = node
            self.context = node.context
        self._log = self.node.get_logger()
        self._lock = threading.Lock()
        self._counts: collections.Counter = collections.Counter()
        self.errors: collections.deque[str] = collections.deque(maxlen=20)
        self._pipeline: Any = None
        self._frame_size: Optional[tuple[int, int]] = None
        self._header_fn: Optional[Callable[[Frame], dict]] = None
        self.image_sources: list[Any] = []
        self._closed = False
        self._Image, self._CompressedImage = Image, CompressedImage
        self.has_vision_msgs = vision_msgs_available()
        if not self.has_vision_msgs:
            self._log.warning(f"detections and prompts topics are off: {VISION_MSGS_HELP}")

        # publishers
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

        # control
        self._subs: list[Any] = []
        if control:
            cq = to_rclpy(CONTROL_QOS)
            if self.has_vision_msgs:
                from vision_msgs.msg import Detection2DArray

                self._subs.append(self.node.create_subscription(Detection2DArray, names["prompts"], self._on_prompts, cq))
            self._subs.append(self.node.create_subscription(Empty, names["clear"], self._on_clear, cq))
            self._subs.append(self.node.create_subscription(Int32, names["remove"], self._on_remove, cq))
            self._subs.append(self.node.create_subscription(Point, names["overlay_clicks"], self._on_click, cq))
        self._Point = Point

        # publishing thread (a slot of one result)
        self._threaded = bool(threaded)
        self._cond = threading.Condition()
        self._pending: Optional[tuple] = None
        self._pub_thread: Optional[threading.Thread] = None
        if self.publishing and self._threaded:
            self._pub_thread = threading.Thread(target=self._publish_loop, name="samstream-ros2-publish", daemon=True)
            self._pub_thread.start()

        # spinning
        self._executor = None
        self._spin_thread: Optional[threading.Thread] = None
        self._stop = threading.Event()
        if spin:
            from rclpy.executors import SingleThreadedExecutor

            self._executor = SingleThreadedExecutor(context=self.context)
            self._executor.add_node(self.node)
            self._spin_thread = threading.Thread(target=self._spin_loop, name="samstream-ros2-spin", daemon=True)
            self._spin_thread.start()

    # -- wiring ----------------------------------------------------------------------------------
    def attach(self, pipeline: Any) -> "Ros2Bridge":
        """Prompts, clicks, clear and remove act on ``pipeline`` (its thread-safe object methods)."""
        self._pipeline = pipeline
        return self

    def image_source(self, topic: str, **options: Any) -> Any:
        """A :class:`~samstream.ros2.source.Ros2ImageSource` on ``topic`` that uses this node."""
        from .source import Ros2ImageSource

        return Ros2ImageSource(topic, bridge=self, **options)

    def _register_source(self, source: Any) -> None:
        """Called by an image source: its headers label our output; clicks on ``<topic>_mouse_left``."""
        self.image_sources.append(source)
        self._header_fn = source.header_for
        sub = self.node.create_subscription(self._Point, source.topic.rstrip("/") + "_mouse_left", self._on_click,
                                            to_rclpy(CONTROL_QOS))
        self._subs.append(sub)

    def header_for(self, frame: Frame) -> dict:
        """The ``std_msgs/Header`` (dict) for results of ``frame``: the input message's own header for
        frames from a ROS topic, else the frame's capture time and ``frame_id``."""
        if self._header_fn is not None:
            h = self._header_fn(frame)
            if h is not None:
                return h
        return header_dict(stamp_from_seconds(frame.timestamp), self.frame_id)

    # -- sink --------------------------------------------------------------------------------------
    def write(self, frame: Frame, seg: Segmentation) -> None:
        self._frame_size = (frame.width, frame.height)
        if not self.publishing or self._closed:
            return
        item = (frame, seg, self.header_for(frame))
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

    def _publish(self, frame: Frame, seg: Segmentation, header: dict) -> None:
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
        self._inc("frames_published")

    # -- control callbacks ---------------------------------------------------------------------
    def _target(self) -> tuple[Any, tuple[int, int]]:
        if self._pipeline is None:
            raise BadMessage("no pipeline is attached to this node (Ros2Bridge.attach(pipeline)).")
        if self._frame_size is None:
            raise BadMessage("no frame has been processed yet: prompts refer to the latest frame; send them "
                             "once results are published.")
        return self._pipeline, self._frame_size

    def _on_prompts(self, msg: Any) -> None:
        try:
            pipe, (w, h) = self._target()
        except BadMessage as exc:
            self._error("bad_prompts", f"prompts ignored: {exc}")
            return
        for det in list(msg.detections):
            try:
                oid, box = parse_prompt_detection(det, w, h)
                self._apply(pipe, oid, box=box)
                self._inc("prompts_applied")
            except (BadMessage, ValueError, KeyError) as exc:
                self._error("bad_prompts", f"prompt skipped: {exc}")

    def _on_click(self, msg: Any) -> None:
        try:
            pipe, (w, h) = self._target()
            oid, pt = parse_click(msg.x, msg.y, msg.z, w, h)
            self._apply(pipe, oid, points=pt, labels=np.ones(1, np.int32))
            self._inc("clicks_applied")
        except (BadMessage, ValueError, KeyError) as exc:
            self._error("bad_clicks", f"click skipped: {exc}")

    def _apply(self, pipe: Any, oid: Optional[int], **prompt: Any) -> int:
        if oid is None:
            oid = pipe.next_free_id()
            pipe.add_object(oid, **prompt)
        elif oid in pipe.tracker.object_ids:
            pipe.update_object(oid, **prompt)
        else:
            pipe.add_object(oid, **prompt)
        return oid

    def _on_clear(self, msg: Any) -> None:
        if self._pipeline is None:
            self._error("bad_commands", "clear ignored: no pipeline is attached to this node.")
            return
        self._pipeline.clear()
        self._inc("clears")

    def _on_remove(self, msg: Any) -> None:
        try:
            if self._pipeline is None:
                raise BadMessage("no pipeline is attached to this node.")
            oid = int(msg.data)
            known = self._pipeline.tracker.object_ids
            if oid not in known:
                raise BadMessage(f"object {oid} is not tracked (known ids: {known}).")
            self._pipeline.remove_object(oid)
            self._inc("removes")
        except (BadMessage, KeyError, ValueError) as exc:
            self._error("bad_commands", f"remove skipped: {exc}")

    def _inc(self, key: str) -> None:
        with self._lock:
            self._counts[key] += 1

    def _error(self, counter: str, message: str) -> None:
        with self._lock:
            self._counts[counter] += 1
            n = self._counts[counter]
            self.errors.append(message)
        if n <= 3 or n % 100 == 0:
            self._log.warning(f"{message} ({counter}: {n})")

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

    def stats(self) -> dict:
        with self._lock:
            out = dict(self._counts)
            out["last_errors"] = list(self.errors)[-5:]
        out["topics"] = self.topics()
        out["qos"] = str(self.qos)
        out["sources"] = [s.stats() for s in self.image_sources]
        return out

    def _spin_loop(self) -> None:
        while not self._stop.is_set() and self.context.ok():
            try:
                self._executor.spin_once(timeout_sec=0.1)
            except Exception as exc:
                if self._stop.is_set() or not self.context.ok():
                    return
                self._error("callback_errors", f"callback failed: {type(exc).__name__}: {exc}")

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
        self._stop.set()
        if self._spin_thread is not None:
            self._spin_thread.join(timeout=5.0)
        if self._executor is not None:
            self._executor.shutdown(timeout_sec=1.0)
        if self._own_context:
            rclpy = require_rclpy()
            try:
                self.node.destroy_node()
            finally:
                if self.context.ok():
                    rclpy.shutdown(context=self.context)

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

    def __enter__(self) -> "Ros2Bridge":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


#: The publishing sink is the bridge itself; ``Ros2Sink(...)`` reads better in a sinks list.
Ros2Sink = Ros2Bridge
