"""``SyntheticSource``: a :class:`SyntheticScene` played as a camera, with its answer key.

Frame ``i`` is always ``scene.render(i)`` (so the stream is deterministic in ``seed`` whatever
the consumer's speed), and its ground-truth label map (``uint8`` ``(H, W)``, 0 background,
``k`` = object ``k``) is available from :meth:`SyntheticSource.ground_truth` ``(frame.index)``.
The label maps of the last ``gt_history`` rendered frames (default 64) are kept in a bounded
ring; an older index is re-rendered on demand (deterministic, ~15 ms at 640x480).

``realtime=True`` (the default, a stand-in for a webcam): a capture thread renders at ``fps``
and keeps only the newest frame, like any live source (a slow consumer sees gaps in the indices;
``stats().frames_dropped``). If rendering is slower than ``fps`` the clock slips rather than
bursting to catch up. ``realtime=False``: frames are rendered on demand in ``__next__``, every
index is delivered, timestamps are ``start_time + i / fps`` (``start_time`` defaults to the wall
clock at the first read).

``frames=N`` ends the stream after frame ``N - 1``; ``frames=None`` (default) never ends.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from typing import Optional

import numpy as np

from ..types import Frame
from .base import LiveSource, Source
from .synthetic import SyntheticScene

__all__ = ["SyntheticSource", "MAX_PIXELS"]

#: the largest synthetic frame (width x height): 8K UHD (7680 x 4320) and then some
MAX_PIXELS = 40_000_000

log = logging.getLogger("samstream.sources")


class SyntheticSource(LiveSource):
    """Synthetic camera with ground truth (see the module docstring).

    Args:
        width, height: frame size (>= 32).
        fps: frame rate (realtime pacing and timestamps), default 30.
        seed: scene seed (background, objects, paths).
        num_objects: 1..16 moving objects, ids ``1..num_objects``.
        speed: motion speed multiplier.
        frames: number of frames, or ``None`` for an endless stream.
        realtime: render on a clock in a capture thread (default) or on demand.
        start_time: first timestamp in on-demand mode (default: wall clock at the first read).
        gt_history: how many recent label maps to keep (bounded ring).
    """

    kind = "synthetic"

    def __init__(self, width: int = 640, height: int = 480, fps: float = 30.0, seed: int = 0,
                 num_objects: int = 3, speed: float = 1.0, frames: Optional[int] = None,
                 realtime: bool = True, start_time: Optional[float] = None, gt_history: int = 64,
                 name: str = "synthetic") -> None:
        if isinstance(frames, str) and frames.strip().lower() in ("inf", "infinite", "none", "endless"):
            frames = None
        if isinstance(frames, float) and np.isinf(frames):
            frames = None
        if frames is not None and int(frames) < 0:
            raise ValueError(f"frames must be >= 0 or None (endless), got {frames}.")
        if int(gt_history) < 1:
            raise ValueError(f"gt_history must be >= 1, got {gt_history}.")
        if not np.isfinite(float(speed)):
            raise ValueError(f"speed must be a finite number (1.0 = normal motion), got {speed!r}.")
        if int(width) * int(height) > MAX_PIXELS:
            raise ValueError(f"synthetic frames of {int(width)}x{int(height)} would not fit in memory: use at most "
                             f"{MAX_PIXELS // 10**6} megapixels, e.g. synthetic:1920x1080.")
        self.scene = SyntheticScene(int(width), int(height), int(num_objects), int(seed), float(speed))
        super().__init__(name, is_live=bool(realtime), fps=float(fps), width=int(width), height=int(height))
        self.seed, self.num_objects = int(seed), int(num_objects)
        self.frames: Optional[int] = None if frames is None else int(frames)
        self.frame_count = self.frames
        self.realtime = bool(realtime)
        self.gt_history = int(gt_history)
        self._gt: "collections.OrderedDict[int, np.ndarray]" = collections.OrderedDict()
        self._gt_lock = threading.Lock()
        self._start_time = start_time
        self._i = 0  # next frame to render (on-demand mode)
        if self.realtime:
            self._start_thread()

    # ---------------------------------------------------------------- ground truth
    @property
    def object_ids(self) -> list[int]:
        return self.scene.object_ids()

    def ground_truth(self, frame_index: int) -> np.ndarray:
        """Label map (read-only ``uint8`` ``(H, W)``) of frame ``frame_index``."""
        i = int(frame_index)
        if i < 0 or (self.frames is not None and i >= self.frames):
            raise KeyError(f"frame index {i} is outside this synthetic stream "
                           f"(0..{'inf' if self.frames is None else self.frames - 1}).")
        with self._gt_lock:
            labels = self._gt.get(i)
        if labels is None:  # evicted (or never rendered): rendering is deterministic
            log.debug("%s: ground truth of frame %d not in the ring; re-rendering", self.name, i)
            _, labels = self.scene.render(i)
            labels.setflags(write=False)
        return labels

    # ---------------------------------------------------------------- depth (RGB-D)
    @property
    def camera_info(self):
        """The intrinsics of the synthetic camera (:class:`~samstream.spatial.CameraInfo`)."""
        return self.scene.camera()

    def depth_for(self, frame: Frame):
        """The colour-aligned depth of ``frame`` (:class:`~samstream.spatial.DepthFrame`, ``float32``
        metres, same stamp): known geometry (see :meth:`SyntheticScene.depth_from_labels`)."""
        from ..spatial.depth import DepthFrame

        labels = self.ground_truth(frame.index)
        return DepthFrame(self.scene.depth_from_labels(labels, frame.index), frame.timestamp, self.camera_info)

    def _render(self, i: int) -> np.ndarray:
        img, labels = self.scene.render(i)
        labels.setflags(write=False)
        with self._gt_lock:
            self._gt[i] = labels
            while len(self._gt) > self.gt_history:
                self._gt.popitem(last=False)
        return img

    # ---------------------------------------------------------------- realtime (thread)
    def _run(self) -> None:
        period = 1.0 / self.fps
        due = time.monotonic()
        i = 0
        while not self._stop.is_set() and (self.frames is None or i < self.frames):
            if not self._sleep(due - time.monotonic()):
                return
            img = self._render(i)
            self._publish(img, time.time(), index=i)
            i += 1
            due += period
            now = time.monotonic()
            if due < now - period:  # fell behind (slow machine): slip the clock, no burst
                due = now

    # ---------------------------------------------------------------- on demand
    def _next_frame(self, timeout: Optional[float]) -> Optional[Frame]:
        if self.realtime:
            return super()._next_frame(timeout)
        if self._closed or self._ended:
            return None
        if self.frames is not None and self._i >= self.frames:
            self._end()
            return None
        if self._start_time is None:
            self._start_time = time.time()
        i = self._i
        self._i += 1
        return self._make_frame(self._render(i), self._start_time + i / self.fps, index=i)

    @property
    def ended(self) -> bool:
        if self.realtime:
            return LiveSource.ended.fget(self)
        return Source.ended.fget(self)
