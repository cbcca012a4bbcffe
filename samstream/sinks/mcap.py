"""``--record FILE.mcap``: the ROS 2 topics, as ROS 2 CDR messages in an MCAP file.

The same topics and content as the live node (:mod:`samstream.ros2`): ``<ns>/mask`` (mono8 label
map), ``<ns>/mask/compressed`` (PNG, ``"mono8; png compressed"``), ``<ns>/detections``
(``vision_msgs/msg/Detection2DArray``), with ``overlay=True``, ``<ns>/overlay`` (bgr8) and, for
results with depth (``write_3d``), ``<ns>/objects`` (``vision_msgs/msg/Detection3DArray``). Foxglove
Studio opens the file, ``ros2 bag info/play`` too (MCAP storage plugin), and any ``mcap-ros2``
reader decodes it. Written with the ``mcap`` + ``mcap-ros2-support`` packages only: no rclpy, no
ROS install needed (``pip install 'samstream[ros]'`` brings both on any Python).

Every message's ``header`` is its frame's (capture time, ``frame_id``); the MCAP ``log_time`` is the
time it was recorded and ``publish_time`` the frame's capture time. Chunks are zstd-compressed.

With ``foxglove=True`` (``--record-foxglove``) the file also holds the Foxglove channels of
:mod:`samstream.sinks.foxglove` under ``/samstream/foxglove/`` (``image``, ``mask``, ``annotations``
and, with depth, ``calibration``, ``scene``, ``points``), as ``protobuf`` messages with the Foxglove
schemas, so Foxglove shows the overlays and the 3-D without any ROS message definitions. The ROS 2
channels and their message counts (``messages``) stay exactly as without it; the Foxglove messages
are counted in ``foxglove_messages``. A reader that decodes with ``mcap_ros2``'s decoder only must
iterate raw messages for those channels (``make_reader(f).iter_messages()``) or skip them
(``iter_decoded_messages(topics=[...])``).

Encoding (PNG, CDR, zstd) runs in a writer thread fed by a bounded queue (``queue_size`` results,
default 32), in frame order: the pipeline does not wait for the disk. If the writer falls that far
behind, further results are dropped and counted (``dropped``, with a warning) rather than queued
without bound or slowing the stream; ``close()`` writes everything queued, then finishes the file.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from pathlib import Path
from typing import Any, Callable, Optional, Union

from ..types import Frame, Segmentation

__all__ = ["McapSink"]

log = logging.getLogger("samstream.sinks.mcap")


class McapSink:
    """Record results to ``path`` (``.mcap``) as ROS 2 messages.

    Args:
        path: output file (its folder must exist; an existing file is replaced).
        namespace: topic namespace (default ``/samstream``, as the live node).
        frame_id: ``header.frame_id`` (when ``header_fn`` gives none).
        overlay: also record ``overlay`` (bgr8 frames with coloured masks; large).
        compressed: also record ``mask/compressed`` (PNG; default ``True``).
        header_fn: ``fn(frame) -> header dict or None`` (a ROS image source passes the input headers).
        queue_size: results waiting for the writer thread at most (0: write in ``write()`` itself).
        foxglove: also record the Foxglove channels (needs ``foxglove-sdk``; see the module docstring).
        foxglove_prefix: their topic prefix (default ``/samstream/foxglove``).
    """

    @property
    def records_to(self) -> Path:
        """The ``.mcap`` file this sink records to (callers ask this, not the class name)."""
        return self.path

    def __init__(self, path: Union[str, Path], namespace: str = "/samstream", frame_id: str = "camera",
                 overlay: bool = False, compressed: bool = True,
                 header_fn: Optional[Callable[[Frame], Optional[dict]]] = None, png_level: int = 1,
                 overlay_alpha: float = 0.5, queue_size: int = 32, foxglove: bool = False,
                 foxglove_prefix: str = "/samstream/foxglove") -> None:
        try:
            from mcap_ros2.writer import Writer
        except ImportError as exc:
            raise ImportError("--record needs the mcap writers: pip install 'samstream[ros]' "
                              "(or pip install mcap mcap-ros2-support).") from exc
        from ..ros2.conversions import iter_topics
        from ..ros2.msgdefs import TOPIC_TYPES, concatenated

        self.path = Path(path)
        if self.path.suffix.lower() != ".mcap":
            raise ValueError(f"recording {self.path}: the file name must end in .mcap (e.g. --record run.mcap).")
        if not self.path.parent.exists():
            raise FileNotFoundError(f"folder {self.path.parent} does not exist: create it or pick another --record path.")
        self.frame_id, self.header_fn = str(frame_id), header_fn
        self.png_level, self.overlay_alpha = int(png_level), float(overlay_alpha)
        keys = ["mask", "detections"] + (["mask/compressed"] if compressed else []) + (["overlay"] if overlay else [])
        self.topics = dict(zip(keys, iter_topics(namespace, keys)))
        self.namespace = namespace
        self._file = open(self.path, "wb")
        self._writer = Writer(self._file)
        self._schemas = {k: self._writer.register_msgdef(TOPIC_TYPES[k], concatenated(TOPIC_TYPES[k])) for k in keys}
        self._writer.add_metadata("samstream", {"namespace": namespace, "topics": ",".join(self.topics.values())})
        self.foxglove_topics: dict[str, str] = {}
        self._fox_channels: dict[str, int] = {}
        self.foxglove_messages = 0
        if foxglove:
            self.enable_foxglove(foxglove_prefix)
        self.messages = 0
        self.frames = 0
        self.dropped = 0
        self.error: Optional[str] = None
        self._seq = 0
        self._closed = False
        if int(queue_size) < 0:
            raise ValueError(f"queue_size must be >= 0, got {queue_size}.")
        self._queue: Optional[queue.Queue] = queue.Queue(maxsize=int(queue_size)) if queue_size else None
        self._thread: Optional[threading.Thread] = None
        if self._queue is not None:
            self._thread = threading.Thread(target=self._run, name=f"samstream-mcap[{self.path.name}]", daemon=True)
            self._thread.start()

    def enable_foxglove(self, prefix: str = "/samstream/foxglove") -> None:
        """Also record the Foxglove channels (as ``foxglove=True``); call it before the first ``write``."""
        if getattr(self, "frames", 0) or getattr(self, "_seq", 0):
            raise RuntimeError("enable_foxglove() must come before the first result is written.")
        if self._fox_channels:
            return
        from .foxglove import FOXGLOVE_TOPICS, require_foxglove

        fg = require_foxglove()
        raw = getattr(self._writer, "_writer", None)  # mcap_ros2's Writer wraps an mcap.writer.Writer
        if raw is None or not callable(getattr(raw, "register_channel", None)):
            raise RuntimeError("this mcap-ros2-support version hides its MCAP writer: pip install "
                               "'mcap-ros2-support>=0.5,<1' to record the Foxglove channels.")
        self._raw = raw
        prefix = "/" + str(prefix).strip("/")
        schema_ids: dict[str, int] = {}
        for key, name in FOXGLOVE_TOPICS.items():
            if name not in schema_ids:
                schema = getattr(fg.messages, name.split(".", 1)[1]).get_schema()
                schema_ids[name] = raw.register_schema(name=schema.name, encoding=schema.encoding, data=bytes(schema.data))
            topic = f"{prefix}/{key}"
            self.foxglove_topics[key] = topic
            self._fox_channels[key] = raw.register_channel(topic=topic, message_encoding="protobuf",
                                                           schema_id=schema_ids[name])

    def write_3d(self, frame: Frame, seg: Segmentation, objs: Any) -> None:
        """A result with its 3-D objects (the pipeline calls this instead of ``write`` when depth
        matched); the 3-D goes to the Foxglove channels (when recorded)."""
        self.write(frame, seg, objs)

    def write(self, frame: Frame, seg: Segmentation, objs: Any = None) -> None:
        if self._closed:
            raise RuntimeError(f"McapSink({self.path}) is closed.")
        if self.error is not None:
            raise RuntimeError(f"recording to {self.path} failed: {self.error}")
        header = self.header_fn(frame) if self.header_fn is not None else None
        if self._queue is None:
            self._write(frame, seg, header, objs)
            return
        try:
            self._queue.put_nowait((frame, seg, header, objs))
        except queue.Full:
            self.dropped += 1
            if self.dropped <= 3 or self.dropped % 100 == 0:
                log.warning("%s: the recorder is %d results behind; dropped frame %d (%d dropped so far)",
                            self.path, self._queue.maxsize, frame.index, self.dropped)

    def _run(self) -> None:
        q = self._queue
        while q is not None:
            item = q.get()
            if item is None:
                return
            if self.error is not None:
                continue
            try:
                self._write(*item)
            except Exception as exc:  # reported by the next write() and close()
                self.error = f"{type(exc).__name__}: {exc}"
                log.error("%s: recording failed: %s", self.path, self.error)

    def _write(self, frame: Frame, seg: Segmentation, header: Optional[dict], objs: Any = None) -> None:
        from ..ros2.conversions import (
            iter_topics,
            compressed_png_dict,
            detections_dict,
            header_dict,
            image_dict,
            stamp_from_seconds,
        )

        if header is None:
            header = header_dict(stamp_from_seconds(frame.timestamp), self.frame_id)
        stamp_ns = header["stamp"]["sec"] * 1_000_000_000 + header["stamp"]["nanosec"]
        labels = seg.label_map()
        msgs = {"mask": lambda: image_dict(header, labels, "mono8"),
                "detections": lambda: detections_dict(seg, header),
                "mask/compressed": lambda: compressed_png_dict(header, labels, self.png_level),
                "overlay": lambda: image_dict(header, self._overlay(frame, seg), "bgr8")}
        now = time.time_ns()
        for key, topic in self.topics.items():
            msg = msgs[key]()
            if "data" in msg:  # the CDR writer takes bytes for uint8[]
                msg["data"] = msg["data"].tobytes()
            self._writer.write_message(topic, self._schemas[key], msg, log_time=now,
                                       publish_time=stamp_ns, sequence=self._seq)
            self.messages += 1
        if objs is not None:  # results with depth: <ns>/objects (Detection3DArray), channel made on first use
            from ..ros2.spatial import detections3d_dict

            if "objects" not in self._schemas:
                from ..ros2.msgdefs import TOPIC_TYPES, concatenated

                self._schemas["objects"] = self._writer.register_msgdef(TOPIC_TYPES["objects"],
                                                                        concatenated(TOPIC_TYPES["objects"]))
                self.objects_topic = iter_topics(self.namespace, ["objects"])[0]
            self._writer.write_message(self.objects_topic, self._schemas["objects"], detections3d_dict(objs, header),
                                       log_time=now, publish_time=stamp_ns, sequence=self._seq)
            self.messages += 1
        if self._fox_channels:
            from .foxglove import foxglove_messages

            fox = foxglove_messages(frame, seg, objs, getattr(objs, "camera", None), frame_id=header["frame_id"])
            for key, msg in fox.items():
                self._raw.add_message(channel_id=self._fox_channels[key], log_time=now, data=msg.encode(),
                                      publish_time=stamp_ns, sequence=self._seq)
                self.foxglove_messages += 1
        self._seq += 1
        self.frames += 1

    def _overlay(self, frame: Frame, seg: Segmentation) -> Any:
        from .overlay import draw_overlay

        return draw_overlay(frame.image, seg, self.overlay_alpha)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            self._queue.put(None)  # after everything queued
            self._thread.join()
        try:
            self._writer.finish()
        finally:
            self._file.close()

    def __enter__(self) -> "McapSink":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
