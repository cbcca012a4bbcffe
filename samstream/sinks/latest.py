"""A slot of one: the never-block contract of the viewer sinks (Foxglove, Rerun).

:class:`LatestWorker` runs ``fn(*item)`` in a thread of its own on the newest item handed to
:meth:`LatestWorker.put`. ``put`` never waits: when the worker is still busy with an older item, the
waiting (unprocessed) one is replaced and counted in ``dropped``. So a slow viewer, network or disk
costs frames on the viewer, never time in the pipeline, and nothing queues without bound.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable, Optional

__all__ = ["LatestWorker", "ViewerStats"]

log = logging.getLogger("samstream.sinks")


@dataclass(frozen=True)
class ViewerStats:
    """Counters of a viewer sink (``viewer_stats()``): results sent, dropped (replaced while the
    previous one was being sent: a slow viewer), failed sends and the last error, and where it goes.

    Attributes:
        viewer: ``"foxglove"`` or ``"rerun"``; target: ``ws://HOST:PORT``, a ``.rrd`` path or ``"viewer"``.
    """

    viewer: str
    sent: int
    dropped: int
    errors: int
    last_error: Optional[str]
    target: str


class LatestWorker:
    """Process the newest item in a background thread (see the module docstring).

    Args:
        fn: called as ``fn(*item)`` in the worker thread; an exception is counted in ``errors``
            (the message in ``last_error``) and the worker goes on.
        name: thread name.
        threaded: ``False`` runs ``fn`` inside ``put`` (deterministic; for tests and offline files).
    """

    def __init__(self, fn: Callable[..., None], name: str = "samstream-sink", threaded: bool = True) -> None:
        self.fn, self.threaded = fn, bool(threaded)
        self.done = self.dropped = self.errors = 0
        self.last_error: Optional[str] = None
        self._pending: Optional[tuple] = None
        self._busy = False
        self._closed = False
        self._cond = threading.Condition()
        self._thread: Optional[threading.Thread] = None
        if self.threaded:
            self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
            self._thread.start()

    def put(self, *item: Any) -> None:
        """Hand over ``item`` (never blocks; replaces a waiting older one)."""
        if self._closed:
            raise RuntimeError("this sink is closed.")
        if not self.threaded:
            self._run(item)
            return
        with self._cond:
            if self._pending is not None:
                self.dropped += 1
            self._pending = item
            self._cond.notify()

    def _run(self, item: tuple) -> None:
        try:
            self.fn(*item)
            self.done += 1
        except Exception as exc:  # the worker never dies
            self.errors += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            if self.errors <= 3:
                log.warning("sink worker: %s", self.last_error)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._closed:
                    self._cond.wait(0.5)
                if self._pending is None:
                    return
                item, self._pending = self._pending, None
                self._busy = True
            self._run(item)
            with self._cond:
                self._busy = False
                self._cond.notify_all()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until the waiting item (if any) is processed; ``False`` on timeout."""
        if not self.threaded:
            return True
        with self._cond:
            return self._cond.wait_for(lambda: self._pending is None and not self._busy, timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Process the waiting item, then stop the thread."""
        if self._closed:
            return
        self.flush(timeout)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
