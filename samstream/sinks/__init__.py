"""Sinks: one ``write(frame, seg)`` method each (settings in ``__init__``), optional ``close()``.

``VideoSink`` and ``OverlayRenderer`` are here; ``CallbackSink`` wraps a plain function.
"""

from __future__ import annotations

from typing import Callable

from ..types import Frame, Segmentation
from .overlay import OverlayRenderer, colour_for, draw_overlay
from .video import VideoSink

__all__ = ["CallbackSink", "OverlayRenderer", "VideoSink", "colour_for", "draw_overlay"]


class CallbackSink:
    """Call ``fn(frame, seg)`` for every result."""

    def __init__(self, fn: Callable[[Frame, Segmentation], None]):
        if not callable(fn):
            raise ValueError("CallbackSink needs a callable fn(frame, seg).")
        self.fn = fn

    def write(self, frame: Frame, seg: Segmentation) -> None:
        self.fn(frame, seg)
