"""N cameras on one encoder server vs each camera with its own local encoder, in one run.

``samstream bench --remote --models mobilesam-256@random --cameras 1,2,4`` starts one model
server (``samstream serve``, the kserve ModelServer, in its own process), then runs 1, 2, 4
live pipelines on synthetic 30 fps streams against it, and the same pipelines each with its own
local encoder. Reported per camera: results/s, keyframes/s, median encoder latency (submit to
embedding, ms) and the longest gap between two results (ms: "nothing stalls"). On a small
machine the server shares the cores with the cameras, so the point is the shape of the curves,
not a speed-up.
"""

from __future__ import annotations

import statistics
import threading
import time
from typing import Optional, Sequence

import numpy as np

from ..utils import log
from .common import machine_info

__all__ = ["bench_remote"]


def _camera(predictor, spec: str, box: list[float], seconds: float, start: threading.Barrier) -> dict:
    from ..pipeline import Pipeline
    from ..sources import open_source
    from ..tracker import TrackerConfig
    from ..types import Prompt

    # random weights: keep every refresh, so keyframes count the same way in both modes
    cfg = TrackerConfig(lost_score=0.0, min_area_frac=0.0, min_consistency=0.0)
    enc_ms: list[float] = []
    gaps: list[float] = []
    n = 0
    src = open_source(spec)
    with Pipeline(src, predictor=predictor, prompts=[Prompt(1, box=box)], tracker_config=cfg) as pipe:
        t0 = None
        applied = k0 = f0 = 0
        for _ in pipe:
            now = time.perf_counter()
            st = pipe.tracker.stats
            if t0 is None:  # warm-up: the first frame (resolved inline); then all cameras start together
                start.wait()
                t0 = last = time.perf_counter()
                applied = k0 = st.keyframes_applied
                f0 = st.keyframes_failed
                continue
            gaps.append((now - last) * 1e3)
            last = now
            n += 1
            if st.keyframes_applied > applied:
                applied = st.keyframes_applied
                enc_ms.append(st.encoder_ms)
            if now - t0 >= seconds:
                break
        elapsed = time.perf_counter() - t0
        m = pipe.metrics()
    enc = m.encoder
    keys = m.keyframes - k0
    return {"results": n, "results_per_s": round(n / elapsed, 2),
            "keyframes": keys, "keyframes_per_s": round(keys / elapsed, 2),
            "keyframes_failed": m.keyframes_failed - f0,
            "encoder_ms_median": round(statistics.median(enc_ms or [float("nan")]), 1),
            "max_gap_ms": round(max(gaps or [0.0]), 1),
            "reachable": None if enc is None else enc.reachable}


def _run(predictors: list, spec: str, box: list[float], seconds: float) -> list[dict]:
    out: list[Optional[dict]] = [None] * len(predictors)
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(predictors))

    def go(i: int) -> None:
        try:
            out[i] = _camera(predictors[i], spec, box, seconds, barrier)
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=go, args=(i,), daemon=True) for i in range(len(predictors))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 120)
    if errors:
        raise errors[0]
    return [r for r in out if r is not None]


def _summary(rows: list[dict]) -> dict:
    return {"results_per_s_per_camera": round(statistics.mean(r["results_per_s"] for r in rows), 2),
            "keyframes_per_s_per_camera": round(statistics.mean(r["keyframes_per_s"] for r in rows), 2),
            "keyframes_per_s_total": round(sum(r["keyframes_per_s"] for r in rows), 2),
            "encoder_ms_median": round(statistics.median(r["encoder_ms_median"] for r in rows), 1),
            "max_gap_ms": max(r["max_gap_ms"] for r in rows)}


def bench_remote(model: str = "mobilesam-256@random", cameras: Sequence[int] = (1, 2, 4), seconds: float = 5.0,
                 precision: str = "fp16", protocol: str = "grpc", encoder: Optional[str] = None,
                 streams: int = 1, width: int = 640, height: int = 480, fps: float = 30.0) -> dict:
    """One server, ``cameras`` pipelines against it, then each with a local encoder (see module doc).

    ``encoder``: an already running server's URL (``grpc://host:9000/NAME``); otherwise one is
    started here (``samstream serve MODEL --streams STREAMS``) and stopped at the end.
    """
    from ..engine import load_predictor
    from ..geometry import mask_box
    from ..serve import ServerProcess
    from ..sources.synthetic import SyntheticScene

    if protocol not in ("grpc", "http"):
        raise ValueError(f"protocol must be grpc or http, got {protocol!r}.")
    cameras = sorted({int(c) for c in cameras})
    if not cameras or cameras[0] < 1:
        raise ValueError("--cameras must be positive counts, e.g. --cameras 1,2,4.")
    scene = SyntheticScene(width, height, num_objects=3, seed=11)
    _, labels = scene.render(0)
    oid = next(k for k in scene.object_ids() if (labels == k).any())
    box = mask_box(labels == oid).tolist()
    spec = f"synthetic:{width}x{height}@{fps:g},seed=11,objects=3"
    server = None
    if encoder is None:
        log(f"bench --remote: starting the model server for {model} ({precision}, {streams} stream(s)) ...")
        server = ServerProcess(model, precision=precision, streams=streams).start(timeout=300)
        encoder = server.grpc_url if protocol == "grpc" else server.rest_url
    rows = []
    try:
        for n in cameras:
            for mode in ("remote", "local"):
                log(f"bench --remote: {n} camera(s), {mode} encoder{'s' if mode == 'local' and n > 1 else ''}, "
                    f"{seconds:g} s ...")
                preds = [load_predictor(model, precision=precision, encoder=encoder if mode == "remote" else None)
                         for _ in range(n)]
                per = _run(preds, spec, box, seconds)
                rows.append({"cameras": n, "encoder": mode, **_summary(per), "per_camera": per})
                del preds
    finally:
        if server is not None:
            server.close()
    weights = "random" if "@random" in model else "official"
    return {"benchmark": "remote", "machine": machine_info(), "model": model, "weights": weights,
            "precision": precision, "protocol": protocol, "server": encoder if server is None else "samstream serve",
            "server_streams": streams, "stream": f"{width}x{height}@{fps:g}", "seconds": seconds,
            "note": ("server and cameras share this machine's cores: the point is the shape of the curves "
                     "(per-camera keyframe rate vs cameras, nothing stalls), not a speed-up"),
            "rows": rows}
