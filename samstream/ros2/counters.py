"""Thread-safe counters with rate-limited warnings, shared by the ROS 2 sink and control."""

from __future__ import annotations

import collections
import threading
from typing import Any


class Counters:
    """Named counters plus the latest error messages (bounded), safe from any thread.

    Args:
        logger: anything with ``warning(str)`` (an rclpy or ``logging`` logger).
        keep: how many recent error messages to keep.
    """

    def __init__(self, logger: Any, keep: int = 20):
        self._log = logger
        self.lock = threading.Lock()
        self.counts: collections.Counter = collections.Counter()
        self.errors: collections.deque[str] = collections.deque(maxlen=keep)

    def inc(self, key: str) -> None:
        with self.lock:
            self.counts[key] += 1

    def error(self, counter: str, message: str) -> None:
        """Count one failure and remember its message; warn for the first 3, then every 100th."""
        with self.lock:
            self.counts[counter] += 1
            n = self.counts[counter]
            self.errors.append(message)
        if n <= 3 or n % 100 == 0:
            self._log.warning(f"{message} ({counter}: {n})")

    def snapshot(self) -> tuple[dict[str, int], list[str]]:
        with self.lock:
            return dict(self.counts), list(self.errors)
