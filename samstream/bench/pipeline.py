"""The live pipeline against the naive per-frame loop: same model, same stream, one run."""

from __future__ import annotations

import os
import time

import numpy as np

from ..geometry import mask_box
from ..utils import log


def _pct(values: list, q: float):
    return round(float(np.percentile(values, q)), 1) if values else None


def _tracker_alone(scene, ids: list[int], frames: int) -> dict:
    """``Tracker.track`` cost with mask prompts and no predictor on pre-rendered frames (flow +
    propagation + snapping + label map), median/p90 ms per frame, and per object."""
    from ..tracker import Tracker
    from ..types import Frame

    rendered = [scene.render(t) for t in range(frames)]
    tr = Tracker(None)
    for k in ids:
        tr.add_object(k, mask=rendered[0][1] == k)
    ms, flow = [], []
    for t, (img, _) in enumerate(rendered):
        t0 = time.perf_counter()
        tr.track(Frame(img, t, t / 30.0))
        if t:
            ms.append((time.perf_counter() - t0) * 1e3)
            flow.append(tr.stats.flow_ms)
    n = max(1, len(ids))
    return {"frames": frames, "objects": len(ids), "ms_per_frame_median": _pct(ms, 50), "ms_per_frame_p90": _pct(ms, 90),
            "flow_ms_median": _pct(flow, 50), "ms_per_frame_per_object_median": round(float(np.median(ms)) / n, 2),
            "config": {k: getattr(tr.config, k) for k in ("flow_width", "flow_preset", "propagation", "snap_radius")}}


# -- pipeline benchmark ------------------------------------------------------------------------
def _gt_box(labels: np.ndarray, oid: int) -> list[float]:
    return mask_box(labels == oid).tolist()


def bench_pipeline(model: str, seconds: float = 15.0, objects: int = 1, fps: float = 30.0,
                   width: int = 640, height: int = 480) -> dict:
    """Masks/s and added latency of samstream's pipeline vs the naive loop, same model, same stream.

    Both read the same live synthetic stream (``width`` x ``height`` at ``fps``, newest-frame
    capture): the naive loop runs the full predictor (encode + decode) on each frame it gets.

    Tracker figures (samstream run): ``tracker_ms_per_frame`` is the median main-thread time of
    ``Tracker.track`` (flow + propagation + merging keyframes; the encoder runs beside it),
    ``tracker_ms_per_frame_per_object`` that over ``objects``; ``staleness_*`` is the age of the
    keyframe behind each published mask (``frame_index - keyframe_index``), median and p90, in
    frames and in ms of capture time.
    """
    from ..engine import load_predictor
    from ..engine.base import DecoderPrompt
    from ..pipeline import Pipeline
    from ..sources import open_source
    from ..sources.synthetic import SyntheticScene

    scene = SyntheticScene(width, height, num_objects=max(3, objects), seed=11)
    _, labels = scene.render(0)
    # the objects least occluded over the run come first (occlusion is not what this measures)
    frames_gt = [scene.render(t)[1] for t in range(0, int(seconds * fps) + 1, 15)]
    steadiness = {k: min(np.count_nonzero(g == k) for g in frames_gt) / max(1, np.count_nonzero(labels == k))
                  for k in scene.object_ids()}
    ids = sorted((k for k in scene.object_ids() if (labels == k).any()), key=lambda k: -steadiness[k])[:objects]
    boxes = {k: _gt_box(labels, k) for k in ids}
    spec = f"synthetic:{width}x{height}@{fps:g},seed=11,objects={max(3, objects)}"
    predictor = load_predictor(model)
    weights = predictor.describe().get("weights", "")

    def run_ours() -> dict:
        from ..types import Prompt

        src = open_source(spec)
        lat, n_mask, n = [], 0, 0
        track_ms, flow_ms = [], []
        stamps: dict[int, float] = {}  # frame index -> capture time, for the keyframe age in ms
        age_frames, age_ms = [], []
        t_end = time.time() + seconds
        with Pipeline(src, predictor=predictor, prompts=[Prompt(k, box=b) for k, b in boxes.items()]) as pipe:
            t0 = time.time()
            for seg in pipe:
                now = time.time()
                n += 1
                n_mask += int(len(seg) > 0 and all(m.any() for m in seg.masks))
                lat.append((now - seg.timestamp) * 1e3)
                st = pipe.tracker.stats
                track_ms.append(st.track_ms)
                flow_ms.append(st.flow_ms)
                stamps[seg.frame_index] = seg.timestamp
                stamps.pop(seg.frame_index - 600, None)
                if seg.keyframe_index >= 0 and len(seg) and not all(seg.lost):
                    # staleness: how old the keyframe behind this published mask is
                    age_frames.append(seg.frame_index - seg.keyframe_index)
                    if seg.keyframe_index in stamps:
                        age_ms.append((seg.timestamp - stamps[seg.keyframe_index]) * 1e3)
                if now > t_end:
                    break
            elapsed = time.time() - t0
            m = pipe.metrics()
        return {"frames": n, "results_per_s": n / elapsed, "masks_per_s": n_mask / elapsed,
                "latency_ms_median": float(np.median(lat)), "source_dropped": m.dropped_frames,
                "tracker_ms_per_frame": float(np.median(track_ms)), "flow_ms_per_frame": float(np.median(flow_ms)),
                "tracker_ms_per_frame_p90": float(np.percentile(track_ms, 90)),
                "staleness_frames_median": _pct(age_frames, 50), "staleness_frames_p90": _pct(age_frames, 90),
                "staleness_ms_median": _pct(age_ms, 50), "staleness_ms_p90": _pct(age_ms, 90),
                "keyframes": m.keyframes,
                "keyframes_failed": m.keyframes_failed, "encoder_latency_ms": m.encoder_latency_ms}

    def run_naive() -> dict:
        src = open_source(spec)
        lat, n = [], 0
        t_end = time.time() + seconds
        t0 = time.time()
        with src:
            for frame in src:
                predictor.set_image(frame.image)
                predictor.predict_batch([DecoderPrompt(box=np.array(b, np.float32)) for b in boxes.values()])
                n += 1
                lat.append((time.time() - frame.timestamp) * 1e3)
                if time.time() > t_end:
                    break
            elapsed = time.time() - t0
            dropped = src.stats().frames_dropped
        return {"frames": n, "results_per_s": n / elapsed, "masks_per_s": n / elapsed,
                "latency_ms_median": float(np.median(lat)), "source_dropped": dropped}

    log(f"bench --pipeline: the tracker alone, {objects} object(s), {width}x{height} ...")
    alone = _tracker_alone(scene, ids, frames=int(min(150, max(30, seconds * 10))))
    log(f"bench --pipeline: {model}, {objects} object(s), naive loop for {seconds:.0f}s ...")
    naive = run_naive()
    log(f"bench --pipeline: {model}, samstream pipeline for {seconds:.0f}s ...")
    ours = run_ours()
    note = ("random weights: masks are meaningless and the tracker often marks objects lost; compare results_per_s"
            if "random" in str(weights) else "")
    return {"model": model, "weights": weights, "note": note, "stream": f"{width}x{height}@{fps:g}", "objects": objects,
            "seconds": seconds, "naive": naive, "samstream": ours,
            "masks_per_s_ratio": round(ours["masks_per_s"] / max(naive["masks_per_s"], 1e-9), 2),
            "results_per_s_ratio": round(ours["results_per_s"] / max(naive["results_per_s"], 1e-9), 2),
            "tracker_alone": alone,
            "load_average_1min": round(os.getloadavg()[0], 2),  # other work on the cores inflates every ms figure
            # the tracker's own cost, measured without an encoder thread competing for the cores
            "tracker_ms_per_frame_per_object": alone["ms_per_frame_per_object_median"],
            "pipeline_tracker_ms_per_frame_per_object": round(ours["tracker_ms_per_frame"] / max(1, objects), 2),
            "staleness_frames_median": ours["staleness_frames_median"], "staleness_frames_p90": ours["staleness_frames_p90"],
            "staleness_ms_median": ours["staleness_ms_median"], "staleness_ms_p90": ours["staleness_ms_p90"]}
