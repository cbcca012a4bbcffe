"""Offline sources: video files and image folders, decoded in the consumer's thread.

Playback:

* default (``realtime=False``): as fast as the consumer reads, every frame, nothing dropped;
* ``realtime=True``: paced to the file's clock. The clock starts at the first read. A consumer
  that is early waits (sleeps) until a frame is due; with ``drop_late=True`` (the default) a
  consumer that is late gets the frame that is due *now*: the frames whose time has passed are
  skipped without being converted (``grab()``; image files are not even read), counted in
  ``stats().frames_dropped``, and leave a gap in ``Frame.index`` exactly as a live camera's
  dropped frames do. With ``drop_late=False`` every frame is delivered and playback just falls
  behind the clock. ``is_live`` is ``True`` in realtime mode (the file stands in for a camera).

Timestamps are ``start_time + media_time`` where media time is ``position / fps`` (the position
counts every frame of the stream, bad or skipped ones too). ``start_time`` defaults to the
wall-clock time of the first read, so in realtime mode a frame's timestamp is when it was due;
pass ``start_time=0.0`` for pure media time.

Bad frames (an image file OpenCV cannot decode, a frame whose size differs from the first one)
are skipped and counted in ``stats().bad_frames`` with a rate-limited warning; they take no
index. ``loop=True`` restarts at the end (indices and timestamps keep increasing).
"""

from __future__ import annotations

import glob
import os
import re
import threading
import time
from pathlib import Path
from typing import Any, Optional, Sequence

import cv2
import numpy as np

from ..types import Frame
from .base import Source, UnreadableFileError, log

__all__ = ["VideoFileSource", "ImageFolderSource", "IMAGE_EXTENSIONS", "VIDEO_EXTENSIONS", "natural_key"]

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pnm")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv",
                    ".ts", ".mts", ".3gp", ".ogv", ".gif", ".mjpeg", ".mjpg", ".h264", ".h265", ".hevc")


def natural_key(path: os.PathLike | str) -> list:
    """Sort key that puts ``frame2.png`` before ``frame10.png``."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", str(path))]


class _OfflineSource(Source):
    """Pull-based source with optional realtime pacing; subclasses implement ``_read_raw``."""

    def __init__(self, name: str, *, fps: Optional[float], realtime: bool, drop_late: bool,
                 start_time: Optional[float], loop: bool, **kw) -> None:
        super().__init__(name, is_live=bool(realtime), fps=fps, **kw)
        self.realtime = bool(realtime)
        self.drop_late = bool(drop_late)
        self.loop = bool(loop)
        self._start_time = start_time
        self._t0: Optional[float] = None  # monotonic time of the first read
        self._pos = 0  # stream position: every frame read, skipped or bad, across loops
        self._pending: Optional[tuple[Frame, float]] = None  # decoded, waiting for its time

    # subclasses --------------------------------------------------------------------------
    def _read_raw(self, grab: bool) -> tuple[bool, Any, str]:
        """``(more, image_or_None, label)``; ``more=False`` at the end of the stream.

        With ``grab=True`` the frame is only skipped (image may be ``None``).
        """
        raise NotImplementedError

    # -------------------------------------------------------------------------------------
    @property
    def _period(self) -> float:
        return 1.0 / (self.fps or 30.0)

    def _next_frame(self, timeout: Optional[float]) -> Optional[Frame]:
        if self._closed:
            return None
        if self._pending is None:
            if self._t0 is None:
                self._t0 = time.monotonic()
                if self._start_time is None:
                    self._start_time = time.time()
            self._pending = self._decode_next()
            if self._pending is None:
                return None
        frame, due = self._pending
        if self.realtime:
            wait = due - time.monotonic()
            if timeout is not None and wait > timeout:
                time.sleep(max(0.0, timeout))  # keep the frame for the next call
                return None
            if wait > 0:
                time.sleep(wait)
        self._pending = None
        return frame

    def _decode_next(self) -> Optional[tuple[Frame, float]]:
        """The next good frame and its due time (monotonic clock), or ``None`` at the end."""
        while not self._closed and not self._ended:
            if self.realtime and self.drop_late:
                late = time.monotonic() - self._t0
                # the frame at self._pos is stale once the next one is already due
                while (self._pos + 1) * self._period <= late:
                    more, _, _ = self._read_raw(grab=True)
                    if not more:
                        self._end()
                        return None
                    self._pos += 1
                    with self._lock:
                        self._next_index += 1
                        self._counts["frames_dropped"] += 1
            more, image, label = self._read_raw(grab=False)
            if not more:
                self._end()
                return None
            media_t = self._pos * self._period
            self._pos += 1
            if image is None:
                self._bad(f"{label}: could not be decoded")
                continue
            frame = self._make_frame(image, self._start_time + media_t, what=label)
            if frame is not None:
                return frame, self._t0 + media_t
        return None


class VideoFileSource(_OfflineSource):
    """A video file decoded with OpenCV (FFmpeg backend).

    Args:
        path: the file.
        realtime: pace to the file's fps (see the module docstring); default as fast as possible.
        drop_late: in realtime mode, skip frames the consumer is too late for (default ``True``).
        loop: restart at the end (a looping demo "camera").
        start_time: timestamp of the first frame (default: wall clock at the first read).
        fps: override the container's frame rate (used when it reports none: default 30).
        size_policy: ``"skip"`` or ``"resize"`` frames whose size differs from the first.
        capture_factory: ``callable(path) -> cv2.VideoCapture``-like, for tests.

    Attributes: ``frame_count`` (from the container; may be approximate, ``None`` if unknown),
    ``fps``, ``width``, ``height``.

    Raises:
        FileNotFoundError: the path does not exist.
        UnreadableFileError: (a ``FileNotFoundError``) it exists but no frame can be decoded.
    """

    kind = "video"

    def __init__(self, path: os.PathLike | str, *, realtime: bool = False, drop_late: bool = True,
                 loop: bool = False, start_time: Optional[float] = None, fps: Optional[float] = None,
                 size_policy: str = "skip", capture_factory=None, name: Optional[str] = None) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFoundError(f"video file not found: {self.path} (check the path; "
                                    f"working directory is {os.getcwd()})")
        if self.path.is_dir():
            raise UnreadableFileError(f"{self.path} is a folder, not a video file: use "
                                      "ImageFolderSource / open_source(folder) for image folders.")
        if not os.access(self.path, os.R_OK):
            raise UnreadableFileError(f"video file {self.path} is not readable (permission denied).")
        self._factory = capture_factory or (lambda p: cv2.VideoCapture(str(p), cv2.CAP_FFMPEG))
        cap = self._factory(self.path)
        if cap is None or not cap.isOpened():
            raise UnreadableFileError(
                f"OpenCV could not open video file {self.path}: it is not a video OpenCV's FFmpeg "
                "backend can decode (corrupt, or an unsupported codec/container). Try re-encoding it: "
                f"ffmpeg -i {self.path} -c:v libx264 out.mp4")
        ok, first = cap.read()
        if not ok or first is None:
            cap.release()
            raise UnreadableFileError(f"OpenCV opened {self.path} but could not decode its first frame: "
                                      "the file is empty, truncated or uses an unsupported codec.")
        native_fps = _get(cap, cv2.CAP_PROP_FPS)
        nominal = float(fps) if fps is not None else (native_fps if 0 < native_fps < 1000 else None)
        count = _get(cap, cv2.CAP_PROP_FRAME_COUNT)
        self.frame_count: Optional[int] = int(count) if count > 0 else None
        super().__init__(name or str(self.path), fps=nominal, realtime=realtime, drop_late=drop_late,
                         start_time=start_time, loop=loop, size_policy=size_policy)
        self._cap = cap
        # held around every call into the decoder and around release(): close() from another
        # thread (a UI, a signal handler's helper) waits for the read in progress instead of
        # freeing the FFmpeg context under it (which can abort inside libavcodec)
        self._cap_lock = threading.RLock()
        self.width, self.height = int(first.shape[1]), int(first.shape[0])
        self._pending_raw: Optional[np.ndarray] = first
        self._pass_frames = 0
        self._decode_errors = 0

    def _read_raw(self, grab: bool) -> tuple[bool, Any, str]:
        label = f"frame {self._pos} of {self.path.name}"
        if self._pending_raw is not None:
            img, self._pending_raw = self._pending_raw, None
            self._pass_frames += 1
            return True, img, label
        with self._cap_lock:
            if self._cap is None or self._closed:
                return False, None, label
            try:
                if grab:
                    ok, img = bool(self._cap.grab()), None
                else:
                    ok, img = self._cap.read()
            except cv2.error as e:  # a decoder error mid-file: the caller skips and counts the frame
                self._decode_errors += 1
                if self._decode_errors > 100:  # the same error over and over: give up on the file
                    self._end(f"{self.path.name}: the decoder failed 100 times in a row ({e})")
                    return False, None, label
                return True, None, label
            self._decode_errors = 0
            if ok:
                self._pass_frames += 1
                return True, img, label
            if not self.loop or self._pass_frames == 0:
                self._check_early_end()
                return False, None, label
            return self._reopen(grab, label)

    def _check_early_end(self) -> None:
        """At the end of the stream: say so (``stats().last_error``) when it ended well before
        the frame count the container announced (a file truncated or still being written)."""
        n = self.frame_count
        if n is not None and self._pass_frames < 0.95 * n:
            self._set_error(f"{self.path.name} ended after {self._pass_frames} of the {n} frames its container "
                            "announces: the file is truncated or corrupt (or was cut while playing).")

    def _reopen(self, grab: bool, label: str) -> tuple[bool, Any, str]:
        # loop: reopen from the start
        self._cap.release()
        self._cap = self._factory(self.path)
        self._pass_frames = 0
        if not self._cap.isOpened():
            self._set_error(f"could not reopen {self.path} to loop")
            return False, None, label
        return self._read_raw(grab)

    def _close_impl(self) -> None:
        with self._cap_lock:  # never while a read is in progress (see __init__)
            if self._cap is not None:
                self._cap.release()
                self._cap = None


class ImageFolderSource(_OfflineSource):
    """Images of a folder (or an explicit list / glob), in natural sort order.

    Args:
        folder: a directory (its files with an image extension, not recursive), a glob pattern
            (``"frames/*.png"``), a single image file, or a sequence of image paths.
        fps: nominal rate for timestamps and realtime pacing (images have none): default 30.
        realtime, drop_late, loop, start_time, size_policy: as for :class:`VideoFileSource`.

    An image OpenCV cannot decode, or one whose size differs from the first good one, is skipped
    and counted (``stats().bad_frames``), never fatal.

    Raises:
        FileNotFoundError: the folder/file does not exist, or holds no image files.
    """

    kind = "images"

    def __init__(self, folder: os.PathLike | str | Sequence[os.PathLike | str], *, fps: Optional[float] = 30.0,
                 realtime: bool = False, drop_late: bool = True, loop: bool = False,
                 start_time: Optional[float] = None, size_policy: str = "skip",
                 extensions: Sequence[str] = IMAGE_EXTENSIONS, name: Optional[str] = None) -> None:
        exts = tuple(e.lower() if e.startswith(".") else "." + e.lower() for e in extensions)
        if isinstance(folder, (str, os.PathLike)):
            spec = str(folder)
            p = Path(folder)
            if p.is_dir():
                files = [f for f in p.iterdir() if f.is_file() and f.suffix.lower() in exts]
                label = str(p)
                if not files:
                    raise FileNotFoundError(f"no image files ({', '.join(exts)}) in folder {p}")
            elif p.is_file():
                files, label = [p], str(p)
            elif glob.has_magic(spec):
                files = [Path(f) for f in glob.glob(spec) if Path(f).is_file()]
                label = spec
                if not files:
                    raise FileNotFoundError(f"no files match the pattern {spec}")
            else:
                raise FileNotFoundError(f"image folder not found: {p} (working directory is {os.getcwd()})")
        else:
            files = [Path(f) for f in folder]
            label = f"{len(files)} images"
            if not files:
                raise FileNotFoundError("the list of image files is empty")
            missing = [str(f) for f in files if not f.is_file()]
            if missing:
                raise FileNotFoundError(f"image file(s) not found: {', '.join(missing[:5])}"
                                        + (" ..." if len(missing) > 5 else ""))
        self.files: list[Path] = sorted(files, key=natural_key)
        self.frame_count: Optional[int] = len(self.files)
        super().__init__(name or label, fps=fps, realtime=realtime, drop_late=drop_late,
                         start_time=start_time, loop=loop, size_policy=size_policy)
        self._i = 0  # index into self.files
        self._pass_good = 0

    def _read_raw(self, grab: bool) -> tuple[bool, Any, str]:
        if self._i >= len(self.files):
            if not self.loop or self._pass_good == 0:
                if self._pass_good == 0 and self._counts["frames_read"] == 0 and not self._ended:
                    self._end(f"none of the {len(self.files)} image files in {self.name} could be "
                              "decoded by OpenCV")
                return False, None, ""
            self._i, self._pass_good = 0, 0
        path = self.files[self._i]
        self._i += 1
        if grab:
            self._pass_good += 1  # assume good: we did not look
            return True, None, str(path)
        try:
            img = cv2.imread(str(path), cv2.IMREAD_COLOR)
        except cv2.error as e:  # pragma: no cover - OpenCV usually returns None instead
            log.debug("imread(%s) raised %s", path, e)
            img = None
        if img is not None:
            self._pass_good += 1
        return True, img, str(path)


def _get(cap: Any, prop: int) -> float:
    try:
        v = float(cap.get(prop))
    except Exception:
        return 0.0
    return v if np.isfinite(v) else 0.0
