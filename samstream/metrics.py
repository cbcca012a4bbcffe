"""Typed statistics that cross module boundaries: sources, encoder, tracker, pipeline.

Each is a frozen dataclass (a snapshot: safe to hand to another thread) with ``to_dict()`` for
JSON. Only the standard library is imported here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Optional

__all__ = ["ErrorInfo", "SourceStats", "EncoderStats", "TrackerStats", "PipelineMetrics", "as_dict"]


def as_dict(obj: Any) -> Any:
    """``to_dict()`` of a stats dataclass (nested ones included); other values unchanged."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: as_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [as_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: as_dict(v) for k, v in obj.items()}
    return obj


class _ToDict:
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict of every field (nested stats included)."""
        return as_dict(self)


@dataclass(frozen=True)
class SourceStats(_ToDict):
    """Counters and state of a capture source (see :meth:`samstream.sources.Source.stats`).

    Attributes:
        name, kind: the source's label and kind (``camera``, ``file``, ``synthetic``, ...).
        is_live: frames arrive in real time (a slot of one keeps the newest).
        state: ``open`` / ``reconnecting`` / ``ended`` / ``failed`` / ``closed``.
        frames_read: good frames captured/decoded; frames_delivered: handed to the consumer.
        frames_dropped: good frames replaced before the consumer took them (or late in realtime
            playback); bad_frames: undecodable / wrong-size frames skipped; resized_frames.
        read_failures: failed device reads; reconnects: successful re-openings;
            reconnect_attempts.
        last_error: the latest problem (``None`` if none); error: why the stream ended early.
        fps: nominal frame rate; capture_fps: measured; size: ``(width, height)`` or ``None``.
    """

    name: str = ""
    kind: str = ""
    is_live: bool = False
    state: str = "open"
    frames_read: int = 0
    frames_delivered: int = 0
    frames_dropped: int = 0
    bad_frames: int = 0
    resized_frames: int = 0
    read_failures: int = 0
    reconnects: int = 0
    reconnect_attempts: int = 0
    last_error: Optional[str] = None
    error: Optional[str] = None
    fps: Optional[float] = None
    capture_fps: Optional[float] = None
    size: Optional[tuple[int, int]] = None


@dataclass(frozen=True)
class ErrorInfo(_ToDict):
    """One kind of failure, typed: what raised, how often, the latest occurrence.

    Attributes:
        kind: the exception's class name (``"RuntimeError"``, ``"ValueError"``, ...);
        message: the latest occurrence's message; count: occurrences so far;
        frame_index: the frame it happened on (``-1`` if none); time: ``time.time()`` of the
        latest occurrence (seconds since the epoch).
    """

    kind: str
    message: str
    count: int = 1
    frame_index: int = -1
    time: float = 0.0


@dataclass(frozen=True)
class EncoderStats(_ToDict):
    """The asynchronous encoder's counters.

    Attributes:
        submitted: keyframes handed to the encoder; completed: embeddings produced;
        failed: requests that raised; dropped: requests replaced by newer ones (``drop_oldest``);
        in_flight: requests running now; latency_ms: the last request's submit-to-result time;
        last_error: the latest failure's message (``"Kind: message"``, ``None`` if none);
        last_failure: the latest failure, typed (:class:`ErrorInfo`); failures: one
        :class:`ErrorInfo` per kind of failure seen, in order of first occurrence;
        reachable: ``False`` while a remote encoder cannot be reached.
    """

    submitted: int = 0
    completed: int = 0
    failed: int = 0
    dropped: int = 0
    in_flight: int = 0
    latency_ms: float = 0.0
    last_error: Optional[str] = None
    last_failure: Optional[ErrorInfo] = None
    failures: tuple[ErrorInfo, ...] = ()
    reachable: bool = True


@dataclass(frozen=True)
class TrackerStats(_ToDict):
    """The tracker's counters and the last frame's costs.

    Attributes:
        frames: frames tracked; keyframes_submitted / keyframes_applied / keyframes_failed:
            keyframe refreshes asked for, merged into the objects, and failed (encoder or decoder
            raised; the objects kept their propagated masks); last_error: the latest keyframe
            failure (``None`` if none); flow_ms / track_ms: the last frame's optical flow and total
            tracking time; encoder_ms: the last keyframe's encoder latency; objects / lost: how many
            objects are tracked / lost now.
    """

    frames: int = 0
    keyframes_submitted: int = 0
    keyframes_applied: int = 0
    keyframes_failed: int = 0
    last_error: Optional[str] = None
    flow_ms: float = 0.0
    track_ms: float = 0.0
    encoder_ms: float = 0.0
    objects: int = 0
    lost: int = 0


@dataclass(frozen=True)
class PipelineMetrics(_ToDict):
    """Live numbers of a :class:`~samstream.pipeline.Pipeline` (``Pipeline.metrics()``).

    Attributes:
        frames_out: results yielded; input_fps / output_fps: frames in / results out per second;
        latency_ms: capture-to-result time of the last frame; sink_ms: time in sinks for it;
        keyframe_age_frames: ``frame_index - keyframe_index`` of the last result (``None`` before
            the first keyframe); model: the predictor's ``describe()``; source_label: the source's
            name; source / tracker / encoder: the typed stats of each stage (``encoder`` is ``None``
            for inline keyframes); errors: recent sink/close errors (newest last);
            keyframes_failed / last_keyframe_error: copied from ``tracker`` for readouts.
    """

    frames_out: int = 0
    input_fps: float = 0.0
    output_fps: float = 0.0
    latency_ms: float = 0.0
    sink_ms: float = 0.0
    keyframe_age_frames: Optional[int] = None
    model: dict = field(default_factory=dict)
    source_label: str = ""
    source: SourceStats = field(default_factory=SourceStats)
    tracker: TrackerStats = field(default_factory=TrackerStats)
    encoder: Optional[EncoderStats] = None
    errors: tuple[str, ...] = ()

    @property
    def keyframes(self) -> int:
        return self.tracker.keyframes_applied

    @property
    def keyframes_failed(self) -> int:
        return self.tracker.keyframes_failed

    @property
    def last_keyframe_error(self) -> Optional[str]:
        return self.tracker.last_error

    @property
    def encoder_latency_ms(self) -> float:
        return self.tracker.encoder_ms

    @property
    def dropped_frames(self) -> int:
        return self.source.frames_dropped

    @property
    def bad_frames(self) -> int:
        return self.source.bad_frames

    def to_dict(self) -> dict[str, Any]:
        d = as_dict(self)
        d.update(keyframes=self.keyframes, keyframes_failed=self.keyframes_failed,
                 last_keyframe_error=self.last_keyframe_error, encoder_latency_ms=self.encoder_latency_ms,
                 dropped_frames=self.dropped_frames, bad_frames=self.bad_frames)
        return d
