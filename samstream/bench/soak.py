"""A long run of the live pipeline: do memory, latency, file descriptors and threads stay flat?

``samstream bench --soak --seconds 600 --json soak.json``: the classic backend on a live synthetic
640x480 stream at 30 fps with 3 tracked objects (asynchronous keyframes, newest-frame capture: the
same path as ``samstream run --source 0``). Every ``sample_every`` seconds (default 30) one
:class:`SoakSample` records the process's RSS, the p50/p99 capture-to-result latency of the
frames of that window, the output rate, open file descriptors and threads. The
:class:`SoakResult` compares the samples after ``warmup_s`` (default: min(60 s, a quarter of the
run)): ``rss_drift_mb`` (last minus first post-warm-up sample), ``rss_range_mb`` (max minus min
after warm-up; the goal is within +-20 MB), and the latency of the first vs the last post-warm-up
window. Timings on a loaded machine are indicative; memory, descriptors and threads are not.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from ..metrics import _ToDict
from ..utils import log, open_fds
from .common import machine_info, rss
from .pipeline import _gt_box

__all__ = ["soak", "SoakSample", "SoakResult", "os_threads"]

RSS_GOAL_MB = 20.0


def os_threads() -> Optional[int]:
    """Threads of this process as the OS counts them (OpenVINO/OpenCV pools included), Linux only."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


@dataclass(frozen=True)
class SoakSample(_ToDict):
    """One window of the soak.

    Attributes:
        t_s: seconds since the start; frames: results so far; fps: results per second in this
        window; rss_mb: resident memory (MiB) at the sample; p50_ms / p99_ms: capture-to-result
        latency of this window's frames (ms, ``None`` if none); track_p50_ms: median tracking
        time per frame in this window (the pipeline's own work; it stays flat when only the
        machine's load changes); cpu_pct: this process's CPU time over the window (100 = one core);
        load1: the machine's 1-minute load average (other processes included); fds: open file
        descriptors; threads: OS threads; py_threads: Python threads.
    """

    t_s: float
    frames: int
    fps: float
    rss_mb: float
    p50_ms: Optional[float]
    p99_ms: Optional[float]
    track_p50_ms: Optional[float]
    cpu_pct: float
    load1: Optional[float]
    fds: Optional[int]
    threads: Optional[int]
    py_threads: int


@dataclass(frozen=True)
class SoakResult(_ToDict):
    """The whole soak (see the module docstring); ``to_dict()`` is the JSON record.

    Attributes:
        model, seconds, fps, objects, size: what ran; warmup_s: samples before this are warm-up;
        samples: every :class:`SoakSample` (the first at t=0 after the first result, the last at
        the end); frames: results; dropped_frames: frames the source replaced before the
        pipeline took them (newest-frame capture on a busy machine); keyframes / keyframes_failed;
        errors: the pipeline's recent sink/close errors; rss_drift_mb, rss_range_mb: after
        warm-up; rss_flat: ``abs(drift)`` and range within :data:`RSS_GOAL_MB`;
        p50_start_ms / p50_end_ms / p99_start_ms / p99_end_ms / track_p50_start_ms /
        track_p50_end_ms: first and last post-warm-up windows; fds_start/end, threads_start/end: before the pipeline opened and after it closed;
        machine: :func:`~samstream.bench.common.machine_info`.
    """

    model: str
    seconds: float
    fps: float
    objects: int
    size: tuple[int, int]
    warmup_s: float
    samples: tuple[SoakSample, ...]
    frames: int
    dropped_frames: int
    keyframes: int
    keyframes_failed: int
    errors: tuple[str, ...]
    rss_drift_mb: Optional[float]
    rss_range_mb: Optional[float]
    rss_flat: Optional[bool]
    p50_start_ms: Optional[float]
    p50_end_ms: Optional[float]
    p99_start_ms: Optional[float]
    p99_end_ms: Optional[float]
    track_p50_start_ms: Optional[float]
    track_p50_end_ms: Optional[float]
    fds_start: Optional[int]
    fds_end: Optional[int]
    threads_start: Optional[int]
    threads_end: Optional[int]
    machine: dict = field(default_factory=dict)


def _pct(values: list[float], q: float) -> Optional[float]:
    return round(float(np.percentile(values, q)), 1) if values else None


def soak(model: str = "classic", seconds: float = 600.0, objects: int = 3, sample_every: float = 30.0,
         fps: float = 30.0, width: int = 640, height: int = 480, warmup_s: Optional[float] = None,
         progress: bool = True) -> SoakResult:
    """Run the live pipeline for ``seconds`` and sample it every ``sample_every`` seconds.

    Args:
        model: backend (``classic`` needs no weights).
        seconds: length of the run; objects: tracked objects (1..3, boxes from the scene's truth).
        sample_every: seconds per window; fps, width, height: the synthetic stream.
        warmup_s: samples before this time are warm-up (default ``min(60, seconds / 4)``).
        progress: a tqdm bar on stderr.
    """
    from ..pipeline import Pipeline
    from ..sources.synthetic import SyntheticScene
    from ..types import Prompt

    if seconds <= 0 or sample_every <= 0:
        raise ValueError(f"seconds and sample_every must be > 0, got {seconds} and {sample_every}.")
    if not 1 <= objects <= 3:
        raise ValueError(f"the soak tracks 1..3 objects of the synthetic scene, got objects={objects}.")
    warm = min(60.0, seconds / 4) if warmup_s is None else float(warmup_s)
    scene = SyntheticScene(width, height, num_objects=3, seed=11)
    _, labels = scene.render(0)
    ids = [k for k in scene.object_ids() if (labels == k).any()][:objects]
    prompts = [Prompt(k, box=_gt_box(labels, k)) for k in ids]
    fds0, thr0 = open_fds(), os_threads()
    samples: list[SoakSample] = []
    window: list[float] = []
    track: list[float] = []
    cpu0 = [time.process_time()]
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=int(seconds), unit="s", desc=f"soak {model}", leave=False)
    t0 = time.time()
    next_sample, frames, last_frames, last_t = t0, 0, 0, t0

    def sample(now: float) -> None:
        nonlocal last_frames, last_t
        span = now - last_t
        cpu = time.process_time()
        try:
            load1: Optional[float] = round(os.getloadavg()[0], 2)
        except OSError:
            load1 = None
        samples.append(SoakSample(
            t_s=round(now - t0, 1), frames=frames, fps=round((frames - last_frames) / span, 2) if span > 0 else 0.0,
            rss_mb=round(rss(), 1), p50_ms=_pct(window, 50), p99_ms=_pct(window, 99),
            track_p50_ms=_pct(track, 50), cpu_pct=round(100 * (cpu - cpu0[0]) / span, 1) if span > 0 else 0.0,
            load1=load1, fds=open_fds(), threads=os_threads(), py_threads=threading.active_count()))
        cpu0[0] = cpu
        window.clear()
        track.clear()
        last_frames, last_t = frames, now
        x = samples[-1]
        log(f"soak: t={x.t_s:.0f}s rss={x.rss_mb} MB p50={x.p50_ms} ms p99={x.p99_ms} ms track={x.track_p50_ms} ms "
            f"cpu={x.cpu_pct}% load={x.load1} fps={x.fps} fds={x.fds} threads={x.threads}")

    pipe = Pipeline(f"synthetic:{width}x{height}@{fps:g},seed=11,objects=3", model=model, prompts=prompts)
    try:
        with pipe:
            for _ in pipe:
                now = time.time()
                window.append((now - pipe.last_frame.timestamp) * 1e3)
                track.append(pipe.tracker.stats.track_ms)
                frames += 1
                if frames == 1:  # t=0: after the first result (model loaded, first keyframe done)
                    sample(now)
                    next_sample = now + sample_every
                elif now >= next_sample:
                    sample(now)
                    next_sample += sample_every
                if bar is not None and min(int(now - t0), int(seconds)) != bar.n:
                    bar.n = min(int(now - t0), int(seconds))
                    bar.refresh()
                if now - t0 >= seconds:
                    break
        if window:
            sample(time.time())
        m = pipe.metrics()
    finally:
        if bar is not None:
            bar.close()
    post = [s for s in samples if s.t_s >= warm] or samples[-1:]
    lat = [s for s in post if s.p50_ms is not None]
    drift = round(post[-1].rss_mb - post[0].rss_mb, 1) if len(post) >= 2 else None
    rng = round(max(s.rss_mb for s in post) - min(s.rss_mb for s in post), 1) if len(post) >= 2 else None
    return SoakResult(
        model=model, seconds=float(seconds), fps=float(fps), objects=len(ids), size=(width, height), warmup_s=warm,
        samples=tuple(samples), frames=frames, dropped_frames=m.dropped_frames, keyframes=m.keyframes,
        keyframes_failed=m.keyframes_failed, errors=m.errors, rss_drift_mb=drift, rss_range_mb=rng,
        rss_flat=None if drift is None else bool(abs(drift) <= RSS_GOAL_MB and rng <= RSS_GOAL_MB),
        p50_start_ms=lat[0].p50_ms if lat else None, p50_end_ms=lat[-1].p50_ms if lat else None,
        p99_start_ms=lat[0].p99_ms if lat else None, p99_end_ms=lat[-1].p99_ms if lat else None,
        track_p50_start_ms=lat[0].track_p50_ms if lat else None, track_p50_end_ms=lat[-1].track_p50_ms if lat else None,
        fds_start=fds0, fds_end=open_fds(), threads_start=thr0, threads_end=os_threads(),
        machine=machine_info())
