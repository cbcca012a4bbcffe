"""Asynchronous, bounded keyframe encoder.

``AsyncEncoder.submit(image, frame_index, timestamp)`` returns at once with an
:class:`EncodeHandle` carrying the frame index and timestamp; the embedding arrives later through
the handle (``result()``/``done()``) and an optional callback. For OpenVINO models the work runs
on the backend's own asynchronous requests when it has them (:meth:`Predictor.async_requests`:
an ``openvino.AsyncInferQueue`` with one callback per finished request, userdata = the handle);
otherwise (``classic``) it runs ``predictor.encode`` on the dispatcher thread.

In-flight work is bounded: at most ``jobs`` requests run and at most ``max_pending`` wait.
When the wait slot is full the ``policy`` decides: ``"drop_oldest"`` (live video: the oldest
waiting frame is dropped and its handle says so) or ``"block"`` (files/offline: ``submit`` waits).
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from typing import Callable, Optional

import numpy as np

from ..metrics import EncoderStats, ErrorInfo
from ..types import as_image
from .base import Embedding, Predictor

__all__ = ["AsyncEncoder", "EncodeHandle", "EncoderDropped"]

POLICIES = ("drop_oldest", "block")

log = logging.getLogger("samstream.engine.encoder")


class EncoderDropped(RuntimeError):
    """The frame was dropped before encoding (drop_oldest policy) or the encoder was closed."""


class EncodeHandle:
    """The promise of one frame's embedding."""

    __slots__ = ("frame_index", "timestamp", "submitted_at", "started_at", "image_hw", "_event",
                 "_embedding", "_error", "_callback", "state")

    def __init__(self, frame_index: int, timestamp: float, image_hw: tuple[int, int],
                 callback: Optional[Callable[["EncodeHandle"], None]]):
        self.frame_index = int(frame_index)
        self.timestamp = float(timestamp)
        self.image_hw = image_hw
        self.submitted_at = time.perf_counter()
        self.started_at = 0.0
        self.state = "pending"  # pending | running | done | dropped | failed
        self._event = threading.Event()
        self._embedding: Optional[Embedding] = None
        self._error: Optional[BaseException] = None
        self._callback = callback

    def done(self) -> bool:
        return self._event.is_set()

    def result(self, timeout: Optional[float] = None) -> Embedding:
        """Wait for the embedding; raises ``EncoderDropped`` if dropped, ``TimeoutError`` on timeout."""
        if not self._event.wait(timeout):
            raise TimeoutError(f"frame {self.frame_index} not encoded within {timeout}s")
        if self._error is not None:
            raise self._error
        if self._embedding is None:
            raise RuntimeError(f"frame {self.frame_index} finished without an embedding")
        return self._embedding

    def _finish(self, embedding: Optional[Embedding], error: Optional[BaseException], state: str) -> None:
        self._settle(embedding, error, state)
        self._run_callback()

    def _settle(self, embedding: Optional[Embedding], error: Optional[BaseException], state: str) -> None:
        self._embedding, self._error, self.state = embedding, error, state
        self._event.set()

    def _run_callback(self) -> None:
        if self._callback is not None:
            try:
                self._callback(self)
            except Exception:  # a user callback must not kill the encoder thread
                pass

    def __repr__(self) -> str:
        return f"EncodeHandle(frame={self.frame_index}, state={self.state})"


class AsyncEncoder:
    """Encode frames in the background for ``predictor`` (see module docstring).

    Args:
        predictor: any :class:`Predictor`; OpenVINO predictors use ``AsyncInferQueue``.
        jobs: parallel infer requests (OpenVINO only; with ``num_streams`` > 1 they overlap).
        max_pending: frames allowed to wait for a free request.
        policy: ``"drop_oldest"`` or ``"block"``.
    """

    def __init__(self, predictor: Predictor, jobs: int = 1, max_pending: int = 1, policy: str = "drop_oldest"):
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}.")
        if jobs < 1 or max_pending < 1:
            raise ValueError("jobs and max_pending must be >= 1 (the queue is always bounded).")
        self.predictor = predictor
        self.policy = policy
        self.max_pending = int(max_pending)
        self._pending: collections.deque[tuple[EncodeHandle, np.ndarray]] = collections.deque()
        self._cond = threading.Condition()
        self._closed = False
        self._running = 0
        self.submitted = 0
        self.dropped = 0
        self.completed = 0
        self.failed = 0
        self.last_error: Optional[str] = None
        #: kind (exception class name) -> ErrorInfo; each kind is logged once (a warning), its
        #: later occurrences only counted
        self._failures: dict[str, ErrorInfo] = {}
        self._last_failure: Optional[ErrorInfo] = None
        self._latency_ms = 0.0
        self._requests = predictor.async_requests(int(jobs), self._complete)
        #: ``True`` when the backend's own asynchronous requests run the work (OpenVINO's
        #: ``AsyncInferQueue``, a model server); ``False``: ``predictor.encode`` on a worker thread.
        self.uses_backend_requests = self._requests is not None
        self.jobs = int(self._requests.jobs) if self._requests is not None else 1
        self._thread = threading.Thread(target=self._dispatch, name="samstream-encoder", daemon=True)
        self._thread.start()

    # -- public -----------------------------------------------------------------------------
    def submit(self, image: np.ndarray, frame_index: int, timestamp: float,
               callback: Optional[Callable[[EncodeHandle], None]] = None) -> EncodeHandle:
        """Queue ``image`` (``uint8 (H, W, 3)`` BGR) for encoding; returns immediately (``drop_oldest``)."""
        frame = as_image(image)
        # Own the pixels: submit returns before encoding, and live sources reuse (or draw on)
        # their frame buffer; as_image returns the caller's array when it is already uint8 BGR.
        image = frame.copy() if np.may_share_memory(frame, image) else frame
        handle = EncodeHandle(frame_index, timestamp, image.shape[:2], callback)
        dropped: list[EncodeHandle] = []
        with self._cond:
            if self._closed:
                raise RuntimeError("the encoder is closed")
            if self.policy == "block":
                while len(self._pending) >= self.max_pending and not self._closed:
                    self._cond.wait()
                if self._closed:  # closed while waiting: nothing would ever encode this frame
                    raise RuntimeError("the encoder is closed")
            else:
                while len(self._pending) >= self.max_pending:
                    old, _ = self._pending.popleft()
                    dropped.append(old)
                    self.dropped += 1
            self._pending.append((handle, image))
            self.submitted += 1
            self._cond.notify_all()
        for old in dropped:
            old._finish(None, EncoderDropped(f"frame {old.frame_index} dropped: a newer frame replaced it"), "dropped")
        return handle

    @property
    def busy(self) -> bool:
        """True while a frame is being encoded or waits to be."""
        with self._cond:
            return bool(self._running or self._pending)

    @property
    def in_flight(self) -> int:
        with self._cond:
            return self._running + len(self._pending)

    def wait_idle(self, timeout: Optional[float] = None) -> bool:
        """Block until nothing is pending or running (``True``) or ``timeout`` passes (``False``)."""
        end = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._running or self._pending:
                left = None if end is None else end - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close(self) -> None:
        """Stop: pending frames are dropped, running ones finish."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            pending = list(self._pending)
            self._pending.clear()
            self._cond.notify_all()
        for h, _ in pending:
            h._finish(None, EncoderDropped("encoder closed"), "dropped")
        self._thread.join(timeout=5)
        if self._requests is not None:
            self._requests.wait_all()

    def stats(self) -> EncoderStats:
        """A snapshot of the counters (safe from any thread)."""
        with self._cond:
            return EncoderStats(submitted=self.submitted, completed=self.completed, failed=self.failed,
                                dropped=self.dropped, in_flight=self._running + len(self._pending),
                                latency_ms=round(self._latency_ms, 2), last_error=self.last_error,
                                reachable=bool(getattr(self._requests, "reachable", True)),
                                last_failure=self._last_failure, failures=tuple(self._failures.values()))

    def __enter__(self) -> "AsyncEncoder":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- internals --------------------------------------------------------------------------
    def _dispatch(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                while self._requests is not None and self._running >= self.jobs and not self._closed:
                    self._cond.wait()
                if self._closed or not self._pending:
                    continue
                handle, image = self._pending.popleft()
                self._running += 1
                self._cond.notify_all()
            handle.state = "running"
            handle.started_at = time.perf_counter()
            if self._requests is not None:
                try:
                    self._requests.start(image, handle)
                except Exception as exc:  # bad input or runtime failure: report on the handle
                    self._complete(handle, None, exc)
            else:
                try:
                    emb = self.predictor.encode(image, handle.frame_index, handle.timestamp)
                    self._complete(handle, emb, None)
                except Exception as exc:
                    self._complete(handle, None, exc)

    def _complete(self, handle: EncodeHandle, emb: Optional[Embedding], err: Optional[BaseException]) -> None:
        # Settle the handle before the counters say it left the queue: once wait_idle()/busy
        # report idle, every handle is done(); the callback runs last, with the counters current.
        handle._settle(emb, err, "done" if err is None else "failed")
        first_of_kind = False
        with self._cond:
            self._running -= 1
            if err is None:
                self.completed += 1
                self._latency_ms = emb.latency_ms if emb is not None else 0.0
            else:
                self.failed += 1
                kind = type(err).__name__
                self.last_error = f"{kind}: {err}"
                old = self._failures.get(kind)
                first_of_kind = old is None
                info = ErrorInfo(kind, str(err), (old.count if old else 0) + 1, handle.frame_index, time.time())
                self._failures[kind] = self._last_failure = info
            self._cond.notify_all()
        if first_of_kind:  # once per kind: a model that fails on every keyframe must not flood the log
            log.warning("keyframe encode of frame %d failed: %s (further %s failures are counted in "
                        "EncoderStats.failures, not logged)", handle.frame_index, self.last_error, type(err).__name__)
        handle._run_callback()
