"""The server side of the live view: the session hub (shared stream + tabs) and the MJPEG stream.

How frames reach the browser
    Each browser tab is a :class:`~samstream.ui.prompts.View`; its ``<img>`` reads
    ``/samstream/live.mjpg?sid=...`` (:meth:`Hub.mjpeg`), a ``multipart/x-mixed-replace`` stream
    whose generator waits for a *newer* result than the one it sent last, renders it with the
    tab's own settings (:mod:`samstream.ui.readout`: overlay, prompts, frame stamp, JPEG) and
    sends it, followed at once by the next part's boundary and header (Chromium shows a part only
    once the next part's header has arrived; without it every frame would be shown one frame late).

Stale frames are dropped, never queued
    A tab that is slower than the stream (slow network, busy browser) simply skips to the newest
    result when it is ready for the next one. Nothing is queued per frame, so memory is bounded
    however long a page stays open, and nothing is written to disk (the MJPEG route uses no
    files; Gradio's own cache is bounded separately by :mod:`samstream.ui.app`).

Sharing
    The server-side source (a camera, file, URL, synthetic scene) is opened once and shared by
    every tab: its objects (and their ids, the ones published to ROS 2) are the same for
    everybody, while opacity, hidden objects, click mode and the object being edited are per
    tab. A tab's browser webcam gets a stream of its own. The number of tabs (LRU) and of webcam
    streams is capped.

No Gradio here.
"""

from __future__ import annotations

import collections
import threading
import time
from typing import Iterator, Optional, Union

from .prompts import View
from .stream import Stream

__all__ = ["Hub", "BOUNDARY", "MJPEG_PATH"]

BOUNDARY = "samstreamframe"
MJPEG_PATH = "/samstream/live.mjpg"
_NEXT = b"\r\n--" + BOUNDARY.encode() + b"\r\nContent-Type: image/jpeg\r\n\r\n"


class Hub:
    """The server side of the live view: the shared source stream and the tabs looking at it.

    Args:
        source: the server-side source spec (default ``synthetic``: no camera needed).
        model: ``classic`` (no weights) or an exported SAM model.
        precision: SAM encoder precision.
        max_views: tabs remembered at once (least recently seen are dropped beyond this).
        max_webcams: browser-webcam streams at once (each runs a pipeline).
        idle_s: a tab with no open stream and no event for this long is dropped.
    """

    def __init__(self, source: Union[str, int] = "synthetic", model: str = "classic", precision: str = "fp16",
                 max_views: int = 16, max_webcams: int = 2, idle_s: float = 600.0) -> None:
        if max_views < 1 or max_webcams < 0:
            raise ValueError("max_views must be >= 1 and max_webcams >= 0.")
        self.precision = precision
        self.source_spec = source
        self.server = Stream(source, model=model, precision=precision, label=str(source))
        self.max_views, self.max_webcams, self.idle_s = int(max_views), int(max_webcams), float(idle_s)
        self._views: "collections.OrderedDict[str, View]" = collections.OrderedDict()
        self._lock = threading.Lock()
        self.closed = False

    def view(self, sid: str) -> View:
        """The view of tab ``sid`` (created on first use)."""
        if not isinstance(sid, str) or not sid or len(sid) > 128:
            raise ValueError("a session id is a non-empty string: reload the page.")
        drop: list[View] = []
        created = False
        with self._lock:
            v = self._views.get(sid)
            if v is None:
                v = View(sid, self)
                self._views[sid] = v
                created = True
            self._views.move_to_end(sid)
            now = time.monotonic()
            for k, old in list(self._views.items()):
                if old is not v and not old.streaming and now - old.last_seen > self.idle_s:
                    drop.append(self._views.pop(k))
            while len(self._views) > self.max_views:
                drop.append(self._views.popitem(last=False)[1])
        for old in drop:
            old.close()
        if created or drop:
            self.balance()
        v.touch()
        return v

    def find(self, sid: str) -> Optional[View]:
        """The view of tab ``sid`` if it exists (never creates one)."""
        with self._lock:
            return self._views.get(sid)

    def drop(self, sid: str) -> None:
        """Forget tab ``sid`` (its webcam stream stops)."""
        with self._lock:
            v = self._views.pop(sid, None)
        if v is not None:
            v.close()
            self.balance()

    def balance(self) -> None:
        """Pause the shared source while no tab watches it (every tab is closed or on its own
        webcam: 2 cores are precious); resume it, objects kept, when a tab comes back to it."""
        with self._lock:
            wanted = any(not v.use_webcam for v in self._views.values() if not v.closed)
        if not wanted and self.server.state in ("running", "starting"):
            self.server.stop()
            self.server.state = "paused"
        elif wanted and self.server.state == "paused":
            self.server.restart()

    def reserve_webcam(self, view: View) -> None:
        """``ValueError`` naming the fix when ``max_webcams`` other tabs already stream a webcam."""
        with self._lock:
            n = sum(1 for v in self._views.values() if v.webcam is not None and v is not view)
        if n >= self.max_webcams:
            raise ValueError(f"{n} browser webcams are already streaming to this server (limit {self.max_webcams}): "
                             "close another tab's webcam, or start `samstream demo` with a larger limit.")

    @property
    def views(self) -> list[View]:
        with self._lock:
            return list(self._views.values())

    def mjpeg(self, sid: str, idle_resend_s: float = 1.0) -> Iterator[bytes]:
        """The ``multipart/x-mixed-replace`` body for tab ``sid``: newest frame only, forever.

        Yields the first part's header, then ``JPEG + next part's header`` per frame; with no new
        frame for ``idle_resend_s`` seconds the last picture (or a card) is sent again. Ends when
        the tab opens a newer stream, the view is dropped or the hub closes.
        """
        view = self.view(sid)
        conn = view.open_connection()
        view.streaming = True
        try:
            yield _NEXT[2:]
            last: tuple[Optional[Stream], Optional[int]] = (None, None)
            last_sent = 0.0
            while not self.closed and not view.closed and view.connection == conn:
                stream = view.stream
                item = stream.wait_newer(last[1] if last[0] is stream else None, timeout=0.25)
                if view.connection != conn or view.closed or self.closed:
                    break
                if item is None:
                    if time.monotonic() - last_sent < idle_resend_s:
                        continue
                    jpeg = view.still(stream)
                else:
                    last = (stream, item[0])
                    jpeg = view.render(item[1], item[2], stream)
                view.frames_sent += 1
                view.sent.tick()
                view.touch()
                yield jpeg + _NEXT
                last_sent = time.monotonic()
        finally:
            if view.connection == conn:
                view.streaming = False

    def close(self) -> None:
        self.closed = True
        for v in self.views:
            v.close()
        self.server.close()
