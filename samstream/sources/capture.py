"""Cameras (``0``, ``/dev/video2``) and network streams (``rtsp://``, ``http(s)://``) via OpenCV.

A capture thread reads the device continuously (keeping the driver's buffer drained) and keeps
only the newest frame (see :mod:`samstream.sources.base`).

Loss and reconnection: when reads fail ``max_read_failures`` times in a row (default 3; a single
glitch is tolerated), the device is released and reopened with exponential backoff
(``backoff_initial`` 0.5 s, doubling, capped at ``backoff_max`` 8 s). Every failed attempt logs a
warning on the ``samstream.sources`` logger and updates ``stats()`` (``state="reconnecting"``,
``reconnect_attempts``, ``last_error``). When a frame is read again, ``stats().reconnects``
increments and iteration simply continues (the consumer was waiting). By default it retries
forever; ``max_retries`` (attempts per outage) and/or ``give_up_after`` (seconds per outage)
make it give up: iteration then ends normally (``StopIteration``, nothing is raised inside the
pipeline) and ``stats().error`` / ``source.error`` say why and what to check
(``state="failed"``).

Opening: a camera index or ``/dev/videoN`` that does not exist raises
:class:`CameraNotFoundError` listing the ``/dev/video*`` devices that do exist and suggesting
``--source synthetic``; a device or URL that exists but cannot be opened raises
:class:`SourceOpenError`. Network URLs are always treated as live streams (an ``http://`` link
to an ``.mp4`` that ends is "lost" and reopened: download it and play it as a file instead).
"""

from __future__ import annotations

import collections
import glob
import os
import re
import sys
import time
from typing import Any, Callable, Optional, Union
from urllib.parse import urlsplit, urlunsplit

import cv2

from .base import CameraNotFoundError, LiveSource, SourceOpenError, log
from .files import natural_key

__all__ = ["CaptureSource", "list_video_devices", "redact_url", "URL_SCHEMES"]

URL_SCHEMES = ("rtsp", "rtsps", "rtmp", "rtmps", "http", "https", "udp", "tcp", "srt")
_DEV_RE = re.compile(r"^/dev/video(\d+)$")


def list_video_devices() -> list[str]:
    """The ``/dev/video*`` device nodes that exist (Linux), naturally sorted."""
    return sorted(glob.glob("/dev/video*"), key=natural_key)


def redact_url(url: str) -> str:
    """``rtsp://user:secret@host/x`` -> ``rtsp://user:***@host/x`` (for names and logs)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def _no_camera_message(what: str) -> str:
    devices = list_video_devices()
    if devices:
        have = (f"Video devices present: {', '.join(devices)}; pick one of those "
                "(--source N for /dev/videoN; `v4l2-ctl --list-devices` names them)")
    else:
        have = ("No /dev/video* device exists on this machine: plug in a camera (in a container, "
                "pass it through, e.g. docker run --device /dev/video0)")
    return (f"camera {what} does not exist. {have}, play a file (--source clip.mp4), "
            "or run without a camera using --source synthetic.")


class CaptureSource(LiveSource):
    """A camera or network stream read by a capture thread (newest frame only).

    Args:
        target: camera index (``0``), device path (``"/dev/video2"``) or URL.
        width, height, fps: requested capture mode (cameras; best effort, the device decides).
        capture_factory: ``callable() -> capture`` used for every (re)open instead of
            ``cv2.VideoCapture``; a capture needs ``isOpened()``, ``read() -> (ok, image)``,
            ``release()`` and optionally ``get``/``set``. Used by tests to simulate devices.
        backoff_initial, backoff_max: reconnect delays in seconds (doubling, capped).
        max_retries: give up after this many failed reconnect attempts in one outage (``None``:
            never).
        give_up_after: give up after this many seconds of one outage (``None``: never).
        max_read_failures: consecutive failed reads that count as a loss (default 3).
        open_timeout, read_timeout: seconds, for URLs (FFmpeg backend).
        size_policy: ``"skip"`` or ``"resize"`` frames whose size differs from the first.
        name: label for ``Frame.source`` (default ``camera:0`` / the device path / the URL
            without its password).

    Raises:
        CameraNotFoundError: no such camera (lists the devices that exist).
        SourceOpenError: the camera/URL exists but OpenCV cannot open it.
    """

    def __init__(self, target: Union[int, str], *, width: Optional[int] = None,
                 height: Optional[int] = None, fps: Optional[float] = None,
                 capture_factory: Optional[Callable[[], Any]] = None,
                 backoff_initial: float = 0.5, backoff_max: float = 8.0,
                 max_retries: Optional[int] = None, give_up_after: Optional[float] = None,
                 max_read_failures: int = 3, open_timeout: float = 10.0, read_timeout: float = 5.0,
                 size_policy: str = "skip", name: Optional[str] = None) -> None:
        if backoff_initial <= 0 or backoff_max < backoff_initial:
            raise ValueError("need 0 < backoff_initial <= backoff_max (seconds).")
        if max_retries is not None and max_retries < 0:
            raise ValueError(f"max_retries must be >= 0 or None (retry forever), got {max_retries}.")
        if give_up_after is not None and give_up_after < 0:
            raise ValueError(f"give_up_after must be >= 0 seconds or None, got {give_up_after}.")
        self.target = target
        self.backoff_initial, self.backoff_max = float(backoff_initial), float(backoff_max)
        self.max_retries, self.give_up_after = max_retries, give_up_after
        self.max_read_failures = max(1, int(max_read_failures))
        self._req = (width, height, fps)
        self._timeouts = (open_timeout, read_timeout)
        #: delays (s) slept before each reconnect attempt, most recent last (bounded)
        self.backoff_delays: collections.deque = collections.deque(maxlen=64)

        if isinstance(target, bool) or not isinstance(target, (int, str)):
            raise ValueError(f"camera target must be an index, a /dev/videoN path or a URL, got {target!r}.")
        if isinstance(target, int):
            if target < 0:
                raise ValueError(f"camera index must be >= 0, got {target}.")
            self.kind, label, devpath = "camera", f"camera:{target}", f"/dev/video{target}"
        elif _DEV_RE.match(target) or target.startswith("/dev/"):
            self.kind, label, devpath = "camera", target, target
        else:
            self.kind, label, devpath = "url", redact_url(target), None

        if capture_factory is None:
            if devpath is not None and sys.platform.startswith("linux") and not os.path.exists(devpath):
                raise CameraNotFoundError(_no_camera_message(
                    f"{target} ({devpath})" if isinstance(target, int) else devpath))
            capture_factory = self._default_factory
        self._factory = capture_factory

        super().__init__(name or label, fps=None, size_policy=size_policy)
        try:
            cap = self._open_capture()
            opened = cap is not None and bool(cap.isOpened())
        except Exception as e:  # a factory that raises
            cap, opened, why = None, False, f"{type(e).__name__}: {e}"
        else:
            why = "OpenCV returned a closed capture"
        if not opened:
            _safe_release(cap)
            raise SourceOpenError(self._open_failed_message(devpath, why))
        self._cap = cap
        native_fps = _get(cap, cv2.CAP_PROP_FPS)
        self.fps = native_fps if 0 < native_fps <= 240 else (float(fps) if fps else None)
        w, h = int(_get(cap, cv2.CAP_PROP_FRAME_WIDTH)), int(_get(cap, cv2.CAP_PROP_FRAME_HEIGHT))
        if w > 0 and h > 0:
            self.width, self.height = w, h
        self._start_thread()

    # ----------------------------------------------------------------------------- opening
    def _default_factory(self) -> Any:
        t = self.target
        if isinstance(t, int):
            return cv2.VideoCapture(t, cv2.CAP_V4L2 if sys.platform.startswith("linux") else cv2.CAP_ANY)
        if self.kind == "camera":
            return cv2.VideoCapture(t, cv2.CAP_V4L2)
        o, r = self._timeouts
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(o * 1000), cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(r * 1000)]
        return cv2.VideoCapture(t, cv2.CAP_FFMPEG, params)

    def _open_capture(self) -> Any:
        cap = self._factory()
        if cap is not None and self.kind == "camera" and hasattr(cap, "set"):
            w, h, fps = self._req
            try:
                if w and h:
                    cap.set(cv2.CAP_PROP_FRAME_WIDTH, float(w))
                    cap.set(cv2.CAP_PROP_FRAME_HEIGHT, float(h))
                if fps:
                    cap.set(cv2.CAP_PROP_FPS, float(fps))
                cap.set(cv2.CAP_PROP_BUFFERSIZE, 1.0)  # lower latency where the driver allows it
            except Exception:  # best effort
                pass
        return cap

    def _open_failed_message(self, devpath: Optional[str], why: str) -> str:
        if self.kind == "camera":
            known = devpath is not None and os.path.exists(devpath)
            hint = (("it exists but could not be opened: " if known else "is it connected? ")
                    + "Is another program using it? Is your user in the 'video' group "
                    f"(ls -l {devpath or '/dev/video*'})? Is it a capture node (some cameras expose a "
                    "second, metadata-only /dev/videoN)? Or run without a camera using --source synthetic.")
            return f"could not open camera {self.name} ({why}): {hint}"
        return (f"could not open stream {self.name} ({why}): check the address, port, path and "
                "credentials, that the server is up and reachable (try `ffplay URL`), and for RTSP "
                "whether it needs TCP (set OPENCV_FFMPEG_CAPTURE_OPTIONS=rtsp_transport;tcp).")

    # ----------------------------------------------------------------------------- capture
    def _run(self) -> None:
        cap = self._cap
        fails = 0
        while not self._stop.is_set():
            try:
                ok, img = cap.read()
                why = "read() returned no frame"
            except Exception as e:
                ok, img, why = False, None, f"read() raised {type(e).__name__}: {e}"
            ts = time.time()
            if self._stop.is_set():
                break
            if ok and img is not None:
                fails = 0
                self._publish(img, ts)
                continue
            fails += 1
            self._count("read_failures")
            if fails < self.max_read_failures:
                self._sleep(0.01)
                continue
            cap = self._reconnect(why)
            if cap is None:
                return
            fails = 0

    def _reconnect(self, why: str) -> Optional[Any]:
        lost_at = time.monotonic()
        self._set_state("reconnecting")
        self._set_error(f"lost the {self.kind} ({self.max_read_failures} reads in a row failed: {why}); "
                        f"reconnecting with backoff {self.backoff_initial:g} s .. {self.backoff_max:g} s")
        _safe_release(self._cap)
        self._cap = None
        delay, attempt, last = self.backoff_initial, 0, why
        while True:
            elapsed = time.monotonic() - lost_at
            out_of_tries = self.max_retries is not None and attempt >= self.max_retries
            out_of_time = self.give_up_after is not None and elapsed >= self.give_up_after
            if out_of_tries or out_of_time:
                limit = (f"max_retries={self.max_retries}" if out_of_tries
                         else f"give_up_after={self.give_up_after:g} s")
                self._end(f"gave up on {self.name} after {attempt} reconnect attempt(s) over "
                          f"{elapsed:.1f} s ({limit}); last error: {last}. Check the cable/power or "
                          "network and that no other program holds the device; raise max_retries/"
                          "give_up_after (None = retry forever) to wait longer.")
                return None
            wait = delay
            if self.give_up_after is not None:
                wait = max(0.0, min(wait, self.give_up_after - elapsed))
            self.backoff_delays.append(wait)
            if not self._sleep(wait):
                return None
            attempt += 1
            self._count("reconnect_attempts")
            cap = None
            try:
                cap = self._open_capture()
                if cap is not None and cap.isOpened():
                    ok, img = cap.read()
                    if ok and img is not None:
                        if self._stop.is_set():
                            _safe_release(cap)
                            return None
                        self._cap = cap
                        self._count("reconnects")
                        self._set_state("open")
                        log.warning("%s: reconnected after %.1f s (attempt %d)", self.name,
                                    time.monotonic() - lost_at, attempt)
                        self._publish(img, time.time())
                        return cap
                    last = "reopened, but read() still returns no frame"
                else:
                    last = "could not reopen (device/stream not available)"
            except Exception as e:
                last = f"reopen raised {type(e).__name__}: {e}"
            _safe_release(cap)
            delay = min(delay * 2, self.backoff_max)
            self._set_error(f"reconnect attempt {attempt} failed: {last}; next attempt in {delay:g} s")

    def _release(self) -> None:
        _safe_release(self._cap)
        self._cap = None


def _safe_release(cap: Any) -> None:
    if cap is None:
        return
    try:
        cap.release()
    except Exception:  # pragma: no cover
        pass


def _get(cap: Any, prop: int) -> float:
    try:
        v = float(cap.get(prop))
    except Exception:
        return 0.0
    return v if v == v and abs(v) != float("inf") else 0.0

