"""Small helpers used across samstream: rate meter, process memory, natural sort, stderr log.

One home each (import from here; never copy them into a module).
"""

from __future__ import annotations

import collections
import os
import re
import sys
import time
from typing import Optional

__all__ = ["RateMeter", "rss_mb", "open_fds", "natural_key", "log"]


class RateMeter:
    """Events per second over a sliding window of the last ``n`` events (thread-safe enough for
    one writer and any number of readers: a ``deque`` append is atomic).

    Args:
        n: window length in events.
        stale_after: seconds without an event after which :meth:`value` reports ``0.0``
            (``None``: the last window's rate is kept forever).
    """

    def __init__(self, n: int = 60, stale_after: Optional[float] = None):
        self._t: collections.deque[float] = collections.deque(maxlen=n)
        self.stale_after = stale_after

    def tick(self) -> None:
        self._t.append(time.perf_counter())

    def value(self) -> float:
        """Events per second (``0.0`` with fewer than two events, or when stale)."""
        t = list(self._t)
        if len(t) < 2:
            return 0.0
        if self.stale_after is not None and time.perf_counter() - t[-1] > self.stale_after:
            return 0.0
        span = t[-1] - t[0]
        return (len(t) - 1) / span if span > 0 else 0.0


def rss_mb() -> Optional[float]:
    """This process's resident memory in MiB (Linux ``/proc``), or ``None`` where unavailable."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def open_fds() -> Optional[int]:
    """How many file descriptors this process has open (Linux), or ``None`` where unavailable."""
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return None


def natural_key(text: "os.PathLike | str") -> list:
    """Sort key that puts ``frame2.png`` before ``frame10.png`` (case-insensitive)."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", str(text))]


def log(msg: str) -> None:
    """One progress/status line on stderr (stdout stays for results and JSON)."""
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()
