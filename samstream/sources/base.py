"""The common machinery of every capture source: the iterator protocol, stats, the newest-frame slot.

A source is an iterator of :class:`~samstream.types.Frame`. Two families:

* **offline** sources (video files, image folders, synthetic with ``realtime=False``) decode in
  the consumer's thread, in ``__next__``; nothing is read ahead and, unless ``realtime=True``
  drops late frames, nothing is lost;
* **live** sources (cameras, URLs, :class:`PushSource`, synthetic with ``realtime=True``) are
  filled by a producer (a capture thread, or whoever calls ``push``) into a :class:`LatestSlot`
  that holds **one** frame: a new frame replaces an unread one, which is counted in
  ``stats().frames_dropped``. The consumer therefore always gets the newest frame and never a
  backlog, and memory stays bounded however slow it is.

Frame indices are assigned to every *good* frame the source produces (0, 1, 2, ...), before any
dropping; a consumer of a live source sees strictly increasing indices with gaps where frames
were dropped (``frame.index - previous.index - 1`` frames were missed). Bad frames (undecodable,
wrong size) take no index.

Frame size policy: the first good frame fixes the source's size (unless ``width``/``height``
are known from the device or given). A later frame of another size is, with
``size_policy="skip"`` (the default), skipped and counted in ``stats().bad_frames`` with a
rate-limited ``logging`` warning; with ``size_policy="resize"`` it is resized to the fixed size
and counted in ``stats().resized_frames``.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Optional

import cv2
import numpy as np

from ..metrics import SourceStats
from ..types import Frame, as_image

__all__ = [
    "Source",
    "LiveSource",
    "LatestSlot",
    "SourceOpenError",
    "CameraNotFoundError",
    "UnreadableFileError",
]

log = logging.getLogger("samstream.sources")

SIZE_POLICIES = ("skip", "resize")


class SourceOpenError(OSError):
    """A source that exists could not be opened (camera busy, URL refused, file not decodable)."""


class CameraNotFoundError(SourceOpenError):
    """The requested camera does not exist (no ``/dev/videoN``); the message lists those that do."""


class UnreadableFileError(SourceOpenError, FileNotFoundError):
    """A file or folder exists but holds nothing OpenCV can decode.

    It is also a :class:`FileNotFoundError`, so ``except FileNotFoundError`` catches every
    unusable path (missing or unreadable).
    """


class LatestSlot:
    """A thread-safe mailbox of capacity one: ``put`` replaces, ``get`` waits for something new.

    ``put`` returns ``True`` when it overwrote an item the consumer had not taken (a drop).
    ``high_water`` is the most items ever held at once (by construction never more than 1; the
    tests check it). ``finish()`` marks the end of the stream: ``get`` still returns the last
    item, then ``None`` forever.
    """

    capacity = 1

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: Any = None
        self._has = False
        self._finished = False
        self.high_water = 0

    def put(self, item: Any) -> bool:
        with self._cond:
            if self._finished:
                return False
            dropped = self._has
            self._item, self._has = item, True
            self.high_water = max(self.high_water, 1)
            self._cond.notify_all()
            return dropped

    def get(self, timeout: Optional[float] = None) -> tuple[Any, bool]:
        """``(item, True)``, or ``(None, False)`` on timeout or when finished and empty."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._has and not self._finished:
                # wait in short slices so a blocked consumer still reacts to Ctrl-C promptly
                remaining = 0.25 if deadline is None else min(0.25, deadline - time.monotonic())
                if remaining <= 0:
                    return None, False
                self._cond.wait(remaining)
            if not self._has:
                return None, False
            item, self._item, self._has = self._item, None, False
            return item, True

    def finish(self, discard: bool = False) -> None:
        with self._cond:
            self._finished = True
            if discard:
                self._item, self._has = None, False
            self._cond.notify_all()

    @property
    def finished(self) -> bool:
        return self._finished

    def __len__(self) -> int:
        return int(self._has)


class Source:
    """Base class: iterator of :class:`Frame`, context manager, ``close()``, ``stats()``.

    Attributes:
        name: a short label (also ``Frame.source``); URLs have their password removed.
        is_live: ``True`` when frames arrive on their own clock and a slow consumer misses some
            (camera, URL, push, synthetic/file with ``realtime=True``).
        fps: nominal frame rate, or ``None`` when unknown.
        width, height: frame size in pixels once known (else ``None``); ``size`` is
            ``(width, height)`` (width first, like ``cv2.resize``).
        error: ``None``, or why the stream ended early (a camera that never came back, ...).
    """

    kind = "source"

    def __init__(self, name: str, *, is_live: bool, fps: Optional[float] = None,
                 width: Optional[int] = None, height: Optional[int] = None,
                 size_policy: str = "skip") -> None:
        if size_policy not in SIZE_POLICIES:
            raise ValueError(f"size_policy must be one of {SIZE_POLICIES}, got {size_policy!r}.")
        if (width is None) != (height is None):
            raise ValueError("give both width and height, or neither.")
        if width is not None and (int(width) <= 0 or int(height) <= 0):
            raise ValueError(f"frame size must be positive, got {width}x{height}.")
        if fps is not None and not (float(fps) > 0 and np.isfinite(fps)):
            raise ValueError(f"fps must be a positive number, got {fps!r}.")
        self.name = str(name)
        self.is_live = bool(is_live)
        self.fps: Optional[float] = None if fps is None else float(fps)
        self.width: Optional[int] = None if width is None else int(width)
        self.height: Optional[int] = None if height is None else int(height)
        self.size_policy = size_policy
        self.error: Optional[str] = None
        self._lock = threading.Lock()
        self._closed = False
        self._ended = False
        self._next_index = 0
        self._state = "open"
        self._counts = dict(frames_read=0, frames_delivered=0, frames_dropped=0, bad_frames=0,
                            resized_frames=0, read_failures=0, reconnects=0, reconnect_attempts=0)
        self._last_error: Optional[str] = None
        self._last_capture: Optional[float] = None
        self._capture_fps: Optional[float] = None
        self._last_index_delivered = -1

    # ------------------------------------------------------------------ public API
    @property
    def size(self) -> Optional[tuple[int, int]]:
        return None if self.width is None else (self.width, self.height)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def ended(self) -> bool:
        """``True`` once no more frames will come (end of file, gave up, closed)."""
        return self._ended or self._closed

    def __iter__(self) -> "Source":
        return self

    def __next__(self) -> Frame:
        while True:
            if self._closed:
                raise StopIteration
            frame = self._next_frame(None)
            if frame is not None:
                return self._delivered(frame)
            if self.ended:
                raise StopIteration

    def read(self, timeout: Optional[float] = None) -> Optional[Frame]:
        """The next frame, or ``None`` after ``timeout`` seconds or at the end (see ``ended``)."""
        if self._closed:
            return None
        frame = self._next_frame(timeout)
        return None if frame is None else self._delivered(frame)

    def close(self) -> None:
        """Stop capture threads and release devices/files. Idempotent; iteration then stops."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._state not in ("failed",):
                self._state = "closed"
        self._close_impl()

    def stats(self) -> SourceStats:
        """Counters and state, a snapshot (safe to call from any thread): see
        :class:`samstream.metrics.SourceStats` for every field."""
        with self._lock:
            return SourceStats(name=self.name, kind=self.kind, is_live=self.is_live, state=self._state,
                               last_error=self._last_error, error=self.error, fps=self.fps,
                               capture_fps=self._capture_fps, size=self.size, **self._counts)

    def __enter__(self) -> "Source":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        size = f"{self.width}x{self.height}" if self.width else "?x?"
        return f"<{type(self).__name__} {self.name!r} {size} fps={self.fps} state={self._state}>"

    # ------------------------------------------------------------------ for subclasses
    def _next_frame(self, timeout: Optional[float]) -> Optional[Frame]:  # pragma: no cover
        raise NotImplementedError

    def _close_impl(self) -> None:
        pass

    def _delivered(self, frame: Frame) -> Frame:
        with self._lock:
            self._counts["frames_delivered"] += 1
            self._last_index_delivered = frame.index
        return frame

    def _count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self._counts[key] += n

    def _set_error(self, message: str, *, level: int = logging.WARNING) -> None:
        with self._lock:
            self._last_error = message
        log.log(level, "%s: %s", self.name, message)

    def _set_state(self, state: str) -> None:
        with self._lock:
            if not self._closed or state == "failed":
                self._state = state

    def _end(self, error: Optional[str] = None) -> None:
        """No more frames: normal end (``error=None``) or give-up (state ``failed``)."""
        with self._lock:
            self._ended = True
            if error is not None:
                self.error = error
                self._last_error = error
                self._state = "failed"
            elif self._state not in ("closed", "failed"):
                self._state = "ended"
        if error is not None:
            log.error("%s: %s", self.name, error)

    def _bad(self, message: str) -> None:
        with self._lock:
            self._counts["bad_frames"] += 1
            n = self._counts["bad_frames"]
            self._last_error = message
        if n <= 3 or n % 100 == 0:
            log.warning("%s: skipped a bad frame (%d so far): %s", self.name, n, message)

    def _make_frame(self, image: Any, timestamp: Optional[float] = None, *,
                    index: Optional[int] = None, what: str = "frame") -> Optional[Frame]:
        """Validate ``image`` against the size policy and wrap it in a Frame with the next index.

        Returns ``None`` (and counts a bad frame) when the image is unusable.
        """
        try:
            img = as_image(image, what)
        except ValueError as e:
            self._bad(str(e))
            return None
        h, w = img.shape[:2]
        if self.width is None:
            with self._lock:
                if self.width is None:
                    self.width, self.height = int(w), int(h)
        if (w, h) != (self.width, self.height):
            if self.size_policy == "resize":
                img = cv2.resize(img, (self.width, self.height), interpolation=cv2.INTER_AREA)
                self._count("resized_frames")
            else:
                self._bad(f"{what} is {w}x{h} but this source is {self.width}x{self.height} "
                          "(size fixed by the first frame); pass size_policy='resize' to rescale "
                          "such frames instead of skipping them.")
                return None
        try:
            ts = time.time() if timestamp is None else float(timestamp)
        except (TypeError, ValueError):
            ts = float("nan")
        if not np.isfinite(ts):
            self._bad(f"{what} has a non-finite timestamp {timestamp!r}")
            return None
        with self._lock:
            if index is None:
                index = self._next_index
            elif index < self._next_index:
                raise ValueError(f"frame index {index} is not above the previous one.")
            self._next_index = int(index) + 1
            self._counts["frames_read"] += 1
            now = time.monotonic()
            if self._last_capture is not None and now > self._last_capture:
                inst = 1.0 / (now - self._last_capture)
                self._capture_fps = inst if self._capture_fps is None else 0.9 * self._capture_fps + 0.1 * inst
            self._last_capture = now
        return Frame(img, int(index), ts, self.name)


class LiveSource(Source):
    """A source filled by a producer into a :class:`LatestSlot` (newest frame only).

    Subclasses either start a capture thread running :meth:`_run` (``_start_thread()``) or let
    callers produce frames (``PushSource``). The producer calls :meth:`_publish`.
    """

    kind = "live"

    def __init__(self, name: str, **kw) -> None:
        kw.setdefault("is_live", True)
        super().__init__(name, **kw)
        self._slot = LatestSlot()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        # index assignment and the slot update happen together, so frames published from
        # several threads still reach the consumer in index order
        self._publish_lock = threading.Lock()

    def _start_thread(self) -> None:
        self._thread = threading.Thread(target=self._thread_main, name=f"samstream-capture[{self.name}]",
                                        daemon=True)
        self._thread.start()

    def _thread_main(self) -> None:
        try:
            self._run()
        except Exception as e:  # never let a capture thread die silently
            log.exception("%s: capture thread crashed", self.name)
            self._end(f"capture thread crashed: {type(e).__name__}: {e}")
        finally:
            if not self._ended:
                self._end()
            self._slot.finish()

    def _run(self) -> None:  # pragma: no cover - subclasses
        raise NotImplementedError

    def _publish(self, image: Any, timestamp: Optional[float] = None, *,
                 index: Optional[int] = None) -> Optional[Frame]:
        """Validate, index and offer a frame; the unread previous one is dropped and counted."""
        with self._publish_lock:
            if self._closed or self._slot.finished:
                return None
            frame = self._make_frame(image, timestamp, index=index)
            if frame is None:
                return None
            if self._slot.put(frame):
                self._count("frames_dropped")
            return frame

    def _next_frame(self, timeout: Optional[float]) -> Optional[Frame]:
        if timeout is not None:
            item, ok = self._slot.get(timeout)
            return item if ok else None
        while not self._closed:
            item, ok = self._slot.get(1.0)
            if ok:
                return item
            if self._slot.finished:
                return None
        return None

    @property
    def ended(self) -> bool:
        return self._closed or (self._slot.finished and len(self._slot) == 0)

    def _close_impl(self) -> None:
        self._stop.set()
        self._slot.finish(discard=True)
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout=5.0)
            if t.is_alive():
                log.warning("%s: capture thread did not stop within 5 s (blocked in a read); "
                            "it is a daemon thread and will not keep the process alive.", self.name)
                return
        self._release()

    def _release(self) -> None:
        """Release the device once the thread has stopped (subclasses)."""

    def _sleep(self, seconds: float) -> bool:
        """Sleep unless closed first; ``True`` if the source is still running."""
        if seconds > 0:
            return not self._stop.wait(seconds)
        return not self._stop.is_set()
