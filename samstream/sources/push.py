"""``PushSource``: frames handed in by code (a ROS image callback, the web UI, a test).

Any thread calls ``push(image, timestamp=None)``; the consumer iterates. Like every live source
it keeps only the newest frame: pushing faster than the consumer reads drops the unread frame
(counted in ``stats().frames_dropped``), so a slow pipeline never builds a backlog and
``push`` never blocks. ``end()`` finishes the stream (the consumer gets the last frame, then
``StopIteration``); ``close()`` stops at once.

``push`` never raises for bad input (a ROS callback must not die): an image that is not a
``uint8`` ``(H, W[, 3|4])`` array, or whose size differs from the first frame, is skipped and
counted in ``stats().bad_frames`` with the reason in ``stats().last_error``; ``push``
then returns ``None``.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..types import Frame
from .base import LiveSource

__all__ = ["PushSource"]


class PushSource(LiveSource):
    """A live source fed by ``push()`` from any thread.

    Args:
        name: label for ``Frame.source`` (e.g. ``"ros2:/camera/image_raw"``).
        fps: nominal rate, if the producer has one (informational).
        width, height: expected size (default: fixed by the first pushed frame).
        copy: copy pushed images (default ``True``), so a producer that reuses its buffer cannot
            change a frame after the fact; ``False`` saves a copy when the producer hands over
            fresh arrays.
        size_policy: ``"skip"`` or ``"resize"`` frames whose size differs from the first.
    """

    kind = "push"

    def __init__(self, name: str = "push", *, fps: Optional[float] = None, width: Optional[int] = None,
                 height: Optional[int] = None, copy: bool = True, size_policy: str = "skip") -> None:
        super().__init__(name, fps=fps, width=width, height=height, size_policy=size_policy)
        self.copy = bool(copy)

    def push(self, image: Any, timestamp: Optional[float] = None) -> Optional[Frame]:
        """Offer a frame (``uint8`` BGR or grey; ``timestamp`` defaults to ``time.time()``).

        Returns the :class:`Frame` made from it (with its index), or ``None`` when it was skipped
        (bad image, wrong size, or the source is ended/closed). Thread-safe; never blocks.
        """
        if self.copy and isinstance(image, np.ndarray):
            image = image.copy()
        return self._publish(image, timestamp)

    def end(self) -> None:
        """No more frames: the consumer drains the last one, then its iteration stops."""
        self._end()
        self._slot.finish()
