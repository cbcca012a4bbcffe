"""Shared pieces of the benchmarks: timing, machine description, memory reading."""

from __future__ import annotations

import platform
import statistics
import time
from typing import Callable

from ..utils import rss_mb

__all__ = ["time_call", "machine_info", "rss"]


def rss() -> float:
    v = rss_mb()
    return float("nan") if v is None else v


def time_call(fn: Callable[[], object], runs: int, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` in milliseconds over ``runs`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(max(1, runs)):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return float(statistics.median(times))


def machine_info() -> dict:
    info = {"python": platform.python_version(), "machine": platform.machine(), "cpus": None, "cpu": ""}
    import os

    info["cpus"] = os.cpu_count()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        flags = next((ln for ln in open("/proc/cpuinfo") if ln.startswith("flags")), "")
        info["isa"] = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "avx_vnni")
                       if f" {f}" in flags]
    except OSError:
        pass
    try:
        import openvino as ov

        info["openvino"] = ov.__version__
    except ImportError:
        pass
    return info
