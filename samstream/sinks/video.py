"""Write overlay frames to a video file (OpenCV ``VideoWriter``)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import cv2

from ..types import Frame, Segmentation
from .overlay import draw_overlay

__all__ = ["VideoSink"]

_FOURCC = {".mp4": "mp4v", ".avi": "MJPG", ".mkv": "mp4v", ".mov": "mp4v"}


class VideoSink:
    """Each frame with its masks drawn on it, written to ``path`` (``.mp4``/``.avi``/``.mkv``).

    Args:
        path: output file; the folder must exist.
        fps: frame rate written into the file.
        alpha: mask opacity.
    The frame size is taken from the first frame; frames of another size are resized to it.
    """

    def __init__(self, path: str | Path, fps: float = 30.0, alpha: float = 0.5):
        self.path = Path(path)
        ext = self.path.suffix.lower()
        if ext not in _FOURCC:
            raise ValueError(f"video output {self.path} must end in one of {sorted(_FOURCC)}.")
        if not self.path.parent.exists():
            raise FileNotFoundError(f"folder {self.path.parent} does not exist: create it or pick another --out.")
        if not fps or fps <= 0:
            raise ValueError(f"fps must be > 0, got {fps}.")
        self.fps, self.alpha = float(fps), float(alpha)
        self._writer: Optional[cv2.VideoWriter] = None
        self._size: Optional[tuple[int, int]] = None
        self.frames = 0

    def write(self, frame: Frame, seg: Segmentation) -> None:
        img = draw_overlay(frame.image, seg, self.alpha)
        if self._writer is None:
            self._size = (img.shape[1], img.shape[0])
            self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*_FOURCC[self.path.suffix.lower()]),
                                           self.fps, self._size)
            if not self._writer.isOpened():
                raise RuntimeError(f"OpenCV could not open {self.path} for writing: try a .avi output.")
        if (img.shape[1], img.shape[0]) != self._size:
            img = cv2.resize(img, self._size)
        self._writer.write(img)
        self.frames += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None
