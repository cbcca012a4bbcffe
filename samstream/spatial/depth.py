"""Depth images: decoding (``16UC1`` millimetres, ``32FC1`` metres) and stamp matching.

A decoded depth image is ``float32`` ``(H, W)`` in **metres**, ``NaN`` where the sensor gave no
reading (``0`` in ``16UC1``; ``0``, ``NaN`` or ``inf`` in ``32FC1``; negative values), aligned pixel
for pixel with the colour image (see :mod:`samstream.spatial.camera`).

:class:`DepthMatcher` pairs colour frames with depth images by timestamp: it keeps the last
``history`` depth images (a bounded ring) and :meth:`DepthMatcher.match` returns the nearest one
within ``tolerance_s``, or ``None`` (then the frame gets no 3-D result, never a stale one).
"""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .camera import CameraInfo

__all__ = ["DepthFrame", "DepthMatcher", "DepthMatchStats", "decode_depth", "DEPTH_ENCODINGS"]

#: ROS ``sensor_msgs/Image`` encodings accepted as depth, and their unit scale to metres.
DEPTH_ENCODINGS = {"16UC1": 0.001, "mono16": 0.001, "32FC1": 1.0}


def decode_depth(data: np.ndarray, encoding: str = "", *, scale: Optional[float] = None) -> np.ndarray:
    """Depth image -> ``float32`` ``(H, W)`` metres, ``NaN`` = no reading.

    Args:
        data: ``(H, W)`` ``uint16`` (millimetres) or ``float32``/``float64`` (metres), or a
            ``(H, W, 1)`` array of those.
        encoding: the ROS encoding (``16UC1``/``mono16`` = mm, ``32FC1`` = m); ``""`` infers it
            from the dtype.
        scale: metres per unit, overriding the encoding (e.g. ``0.0001`` for 0.1 mm sensors).
    """
    d = np.asarray(data)
    if d.ndim == 3 and d.shape[2] == 1:
        d = d[:, :, 0]
    if d.ndim != 2 or d.size == 0:
        raise ValueError(f"depth image has shape {d.shape}: expected a single-channel (H, W) image.")
    enc = str(encoding).strip()
    if enc and enc not in DEPTH_ENCODINGS:
        raise ValueError(f"depth encoding {enc!r} is not supported: publish 16UC1 (millimetres) or 32FC1 "
                         "(metres), e.g. the aligned depth of a RealSense (aligned_depth_to_color/image_raw).")
    if enc in ("16UC1", "mono16") and d.dtype != np.uint16:
        raise ValueError(f"{enc} depth must be uint16, got {d.dtype}.")
    if enc == "32FC1" and not np.issubdtype(d.dtype, np.floating):
        raise ValueError(f"32FC1 depth must be float32, got {d.dtype}.")
    if d.dtype == np.uint16:
        s = 0.001 if scale is None else float(scale)
        out = d.astype(np.float32) * np.float32(s)
        out[d == 0] = np.nan
        return out
    if np.issubdtype(d.dtype, np.floating):
        s = 1.0 if scale is None else float(scale)
        out = d.astype(np.float32) * np.float32(s)
        out[~np.isfinite(out) | (out <= 0)] = np.nan
        return out
    raise ValueError(f"depth dtype {d.dtype} is not supported: give uint16 millimetres (16UC1) or float32 "
                     "metres (32FC1).")


@dataclass(frozen=True)
class DepthFrame:
    """One decoded depth image with its camera.

    Attributes:
        depth: ``float32`` ``(H, W)`` metres, ``NaN`` = no reading (see :func:`decode_depth`).
        timestamp: capture time in seconds (same clock as the colour frames).
        camera: intrinsics of the colour-aligned depth image (its size must match ``depth``).
    """

    depth: np.ndarray
    timestamp: float
    camera: CameraInfo

    def __post_init__(self) -> None:
        d = np.asarray(self.depth)
        if d.ndim != 2 or d.dtype != np.float32:
            raise ValueError(f"DepthFrame.depth must be float32 (H, W) metres, got {d.dtype} {d.shape}: "
                             "decode it with samstream.spatial.decode_depth(data, encoding).")
        if d.shape != (self.camera.height, self.camera.width):
            raise ValueError(f"depth is {d.shape[1]}x{d.shape[0]} but the CameraInfo is "
                             f"{self.camera.width}x{self.camera.height}: use the CameraInfo of the aligned "
                             "depth stream (or CameraInfo.scaled).")
        if not np.isfinite(self.timestamp):
            raise ValueError("DepthFrame.timestamp must be a finite number of seconds.")


@dataclass(frozen=True)
class DepthMatchStats:
    """Counters of a :class:`DepthMatcher`: depth images pushed, colour frames matched and missed
    (no depth within the tolerance), and the last |colour - depth| stamp difference (seconds)."""

    pushed: int = 0
    matched: int = 0
    missed: int = 0
    last_dt_s: Optional[float] = None


class DepthMatcher:
    """Pairs colour frames with depth images by stamp (thread-safe; a bounded ring).

    Args:
        tolerance_s: the largest |colour stamp - depth stamp| accepted (default 0.02 s; a 30 fps
            camera's aligned depth has the same stamp, a separate sensor is within half a period).
        history: depth images kept (default 8).
    """

    def __init__(self, tolerance_s: float = 0.02, history: int = 8) -> None:
        if not float(tolerance_s) >= 0:
            raise ValueError(f"depth tolerance must be >= 0 seconds, got {tolerance_s}.")
        if int(history) < 1:
            raise ValueError(f"history must be >= 1, got {history}.")
        self.tolerance_s, self.history = float(tolerance_s), int(history)
        self._ring: list[DepthFrame] = []  # sorted by timestamp
        self._lock = threading.Lock()
        self._pushed = self._matched = self._missed = 0
        self._last_dt: Optional[float] = None

    def push(self, depth: DepthFrame) -> None:
        """Add a depth image (any order); the oldest is dropped beyond ``history``."""
        with self._lock:
            keys = [d.timestamp for d in self._ring]
            self._ring.insert(bisect.bisect_right(keys, depth.timestamp), depth)
            del self._ring[: max(0, len(self._ring) - self.history)]
            self._pushed += 1

    def match(self, timestamp: float) -> Optional[DepthFrame]:
        """The depth image nearest to ``timestamp`` within the tolerance, else ``None``."""
        with self._lock:
            best = min(self._ring, key=lambda d: abs(d.timestamp - timestamp), default=None)
            if best is None or abs(best.timestamp - timestamp) > self.tolerance_s:
                self._missed += 1
                return None
            self._matched += 1
            self._last_dt = abs(best.timestamp - timestamp)
            return best

    def stats(self) -> DepthMatchStats:
        with self._lock:
            return DepthMatchStats(self._pushed, self._matched, self._missed, self._last_dt)
