"""Commands in: prompts, clicks, clear and remove topics acting on a :class:`~samstream.pipeline.Pipeline`.

::

    from samstream.ros2.control import Ros2Control
    from samstream.ros2.runtime import Ros2Runtime

    rt = Ros2Runtime("samstream", "/samstream")
    control = Ros2Control(rt).attach(pipe)       # <ns>/prompts, <ns>/clear, <ns>/remove, <ns>/overlay_mouse_left
    control.watch_clicks("/camera/image_raw")    # and clicks on /camera/image_raw_mouse_left
    control.observe(frame)                       # prompts refer to the latest frame's size

Each command becomes a call of the pipeline's thread-safe object methods: ``add_object``,
``update_object``, ``remove_object``, ``clear`` and ``next_free_id``. Bad input (NaN or
out-of-frame boxes, ids outside 1..255, removing an id that is not tracked, commands before a
pipeline is attached or a frame seen) is logged (rate-limited), counted in :meth:`Ros2Control.stats`
and skipped; the node keeps running. Depends on :mod:`.runtime` and :mod:`.conversions` only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from ..metrics import as_dict
from ..types import Frame
from .counters import Counters
from .conversions import BadMessage, parse_click, parse_prompt_detection
from .qos import QosSpec, to_rclpy
from .runtime import Ros2Runtime

__all__ = ["Ros2Control", "Ros2ControlStats", "CONTROL_QOS", "CONTROL_TOPICS"]

#: prompts, clicks, clear and remove: commands, so reliable (what `ros2 topic pub` and rqt use).
CONTROL_QOS = QosSpec("reliable", "volatile", 10)

#: topic key -> default name (relative to the node's namespace).
CONTROL_TOPICS = {"prompts": "prompts", "clear": "clear", "remove": "remove", "overlay_clicks": "overlay_mouse_left"}

_COUNTERS = ("prompts_applied", "clicks_applied", "clears", "removes", "bad_prompts", "bad_clicks", "bad_commands")


@dataclass(frozen=True)
class Ros2ControlStats:
    """Counters of the command topics.

    Attributes:
        prompts_applied: prompt boxes that created or moved an object; clicks_applied: clicks
            that did; clears; removes.
        bad_prompts, bad_clicks, bad_commands: skipped input (bad boxes/ids, clicks outside the
            frame, clear/remove without a pipeline or of an untracked id).
        last_errors: the latest skip reasons (newest last).
    """

    prompts_applied: int = 0
    clicks_applied: int = 0
    clears: int = 0
    removes: int = 0
    bad_prompts: int = 0
    bad_clicks: int = 0
    bad_commands: int = 0
    last_errors: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return as_dict(self)


class Ros2Control:
    """Subscriptions to the command topics on ``runtime``'s node, applied to an attached pipeline.

    Args:
        runtime: the :class:`~samstream.ros2.runtime.Ros2Runtime` whose node subscribes.
        topics: override topic names (keys: prompts, clear, remove, overlay_clicks).
        pipeline: the pipeline to act on (or :meth:`attach` it later).
        prompts: subscribe to ``prompts`` (needs vision_msgs; default: when it is importable).
    """

    def __init__(self, runtime: Ros2Runtime, *, topics: Optional[dict] = None, pipeline: Any = None,
                 prompts: Optional[bool] = None) -> None:
        if not isinstance(runtime, Ros2Runtime):
            raise ValueError(f"Ros2Control needs a samstream.ros2.runtime.Ros2Runtime, got {type(runtime).__name__}: "
                             "pass Ros2Runtime(node_name, namespace) (or a Ros2Sink's .runtime).")
        from geometry_msgs.msg import Point
        from std_msgs.msg import Empty, Int32

        from .runtime import vision_msgs_available

        names = dict(CONTROL_TOPICS)
        unknown = set(topics or {}) - set(names)
        if unknown:
            raise ValueError(f"unknown control topic key(s) {sorted(unknown)}: known are {sorted(names)}.")
        names.update(topics or {})
        self.topic_names = names
        self.runtime = runtime
        self._log = runtime.logger
        self._counters = Counters(self._log)
        self._lock, self._counts, self.errors = self._counters.lock, self._counters.counts, self._counters.errors
        self._pipeline: Any = pipeline
        self._frame_size: Optional[tuple[int, int]] = None
        self._Point = Point
        self._qos = to_rclpy(CONTROL_QOS)
        self._click_topics: list[str] = []
        node = runtime.node
        self._subs: list[Any] = []
        if vision_msgs_available() if prompts is None else prompts:
            from vision_msgs.msg import Detection2DArray

            self._subs.append(node.create_subscription(Detection2DArray, names["prompts"], self._on_prompts, self._qos))
        self._subs.append(node.create_subscription(Empty, names["clear"], self._on_clear, self._qos))
        self._subs.append(node.create_subscription(Int32, names["remove"], self._on_remove, self._qos))
        self._subs.append(node.create_subscription(Point, names["overlay_clicks"], self._on_click, self._qos))

    # -- wiring ----------------------------------------------------------------------------------
    def attach(self, pipeline: Any) -> "Ros2Control":
        """Commands act on ``pipeline`` (its thread-safe object methods)."""
        self._pipeline = pipeline
        return self

    def watch_clicks(self, image_topic: str) -> None:
        """Also take clicks on ``<image_topic>_mouse_left`` (what ``rqt_image_view`` publishes)."""
        topic = str(image_topic).rstrip("/") + "_mouse_left"
        if topic in self._click_topics:
            return
        self._click_topics.append(topic)
        self._subs.append(self.runtime.node.create_subscription(self._Point, topic, self._on_click, self._qos))

    def observe(self, frame: Frame) -> None:
        """The latest frame processed: prompts and clicks are checked against its size."""
        self._frame_size = (frame.width, frame.height)

    # -- callbacks ---------------------------------------------------------------------------------
    def _target(self) -> tuple[Any, tuple[int, int]]:
        if self._pipeline is None:
            raise BadMessage("no pipeline is attached to this node (Ros2Sink.attach(pipeline)).")
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

    @staticmethod
    def _apply(pipe: Any, oid: Optional[int], **prompt: Any) -> int:
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
        self._counters.inc(key)

    def _error(self, counter: str, message: str) -> None:
        self._counters.error(counter, message)

    def stats(self) -> Ros2ControlStats:
        with self._lock:
            return Ros2ControlStats(**{k: int(self._counts[k]) for k in _COUNTERS},
                                    last_errors=tuple(self.errors)[-5:])
