"""``samstream bench``: every benchmark, as JSON records measured side by side in one run.

Modules: :mod:`.models` (encoder/decoder latency per backend), :mod:`.pipeline` (live pipeline vs the
naive loop), :mod:`.soak` (memory over a long run), :mod:`.profile` (per-layer encoder time); the
live-view benchmark is :mod:`samstream.ui.bench` (it needs the UI extras).
"""

from __future__ import annotations

from .common import machine_info, time_call
from .models import run_model_bench
from .pipeline import bench_pipeline
from .profile import profile_encoder
from .soak import soak

__all__ = ["run_model_bench", "bench_pipeline", "soak", "profile_encoder", "time_call", "machine_info"]
