"""``samstream bench``: encoder/decoder latency of every backend, side by side in one run.

Each record: ``{model, backend, precision, stage, input_size, median_ms, runs, weights}``.
``weights`` is ``"random"`` when the model was built/exported with random weights (timings are
real; nothing about quality is measured here) and ``"official"`` otherwise.
"""

from __future__ import annotations

import platform
import statistics
import sys
import time
from typing import Callable

import numpy as np

from .geometry import mask_box
from .models.cache import find_exported
from .models.registry import CLASSIC, get_spec
from .utils import log, rss_mb

__all__ = ["run_model_bench", "time_call", "machine_info"]


def _rss() -> float:
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


def _frame():
    from .sources.synthetic import SyntheticScene

    img, labels = SyntheticScene(640, 480, seed=1).render(0)
    ys, xs = np.nonzero(labels == 1)
    box = np.array([xs.min(), ys.min(), xs.max(), ys.max()], np.float32)
    point = np.array([[xs.mean(), ys.mean()]], np.float32)
    return img, box, point


def _rec(model, backend, precision, stage, size, ms, runs, weights):
    return {"model": model, "backend": backend, "precision": precision, "stage": stage, "input_size": size,
            "median_ms": round(ms, 2), "runs": runs, "weights": weights}


def _bench_classic(runs: int) -> list[dict]:
    from .engine.classic import ClassicPredictor

    img, box, point = _frame()
    p = ClassicPredictor()
    enc = time_call(lambda: p.set_image(img), runs)
    p.set_image(img)
    dec_box = time_call(lambda: p.predict(box=box, multimask_output=False), runs)
    dec_pt = time_call(lambda: p.predict(point_coords=point, point_labels=[1], multimask_output=False), runs)
    size = "640x480"
    return [_rec(CLASSIC, "opencv", "-", "encoder", size, enc, runs, "none"),
            _rec(CLASSIC, "opencv", "-", "decoder", size, dec_box, runs, "none"),
            _rec(CLASSIC, "opencv", "-", "decoder_point", size, dec_pt, runs, "none")]


def _ensure_export(name: str):
    """The official export if there is one, else a random-init export (made now if missing)."""
    found = find_exported(name, "official")
    if found is not None:
        return found
    found = find_exported(name, "random-init")
    if found is None or "int8" not in found.precisions():
        from .models.export import export_model

        log(f"bench: no export of {name} in the cache; exporting the real architecture with RANDOM weights")
        export_model(get_spec(name), random_init=True, int8=True, calib_size=16)
        found = find_exported(name, "random-init")
    return found


def _bench_torch(name: str, runs: int) -> list[dict]:
    try:
        import torch

        from .models.build import build_sam
    except ImportError:
        log("bench: torch not installed, skipping the PyTorch rows (pip install samstream[export])")
        return []
    spec = get_spec(name)
    sam = build_sam(spec, random_init=True)
    x = torch.zeros(1, 3, spec.encoder_side, spec.encoder_side)
    with torch.no_grad():
        emb = sam.image_encoder(x)
        native = spec.prompt_side // 16
        if emb.shape[-1] != native:  # size variant: the export resamples the embedding the same way
            from .models.export import _Resampled

            sam.image_encoder = _Resampled(sam.image_encoder, native)
            emb = sam.image_encoder(x)
        enc = time_call(lambda: sam.image_encoder(x), max(2, runs // 4 if spec.arch == "vit_b" else runs))
        pts = (torch.tensor([[[400.0, 300.0], [0.0, 0.0]]]), torch.tensor([[1, -1]]))

        def dec():
            sp, de = sam.prompt_encoder(points=pts, boxes=None, masks=None)
            return sam.mask_decoder(image_embeddings=emb, image_pe=sam.prompt_encoder.get_dense_pe(),
                                    sparse_prompt_embeddings=sp, dense_prompt_embeddings=de, multimask_output=False)

        decm = time_call(dec, runs * 2)
    size = f"{spec.encoder_side}"
    return [_rec(name, "pytorch", "fp32", "encoder", size, enc, runs, "random"),
            _rec(name, "pytorch", "fp32", "decoder", size, decm, runs * 2, "random")]


def _bench_openvino(name: str, precisions: list[str], runs: int, threads: int) -> list[dict]:
    from .engine.openvino_sam import OVSamModel, SamPredictor, cpu_supports_bf16

    exported = _ensure_export(name)
    weights = "random" if exported.weights == "random-init" else "official"
    img, box, point = _frame()
    out = []
    for prec in precisions:
        if prec == "bf16" and not cpu_supports_bf16():
            log("bench: this CPU has no bf16; skipping bf16")
            continue
        if prec == "int8" and "int8" not in exported.precisions():
            log(f"bench: no INT8 export of {name}; skipping")
            continue
        p = SamPredictor(OVSamModel(exported, precision=prec, num_threads=threads))
        size = f"{p.model.encoder_side}"
        label = f"{prec} (exec {p.model.exec_precision})"
        log(f"bench: {name} openvino {label} ...")
        enc = time_call(lambda: p.set_image(img), runs)
        out.append(_rec(name, "openvino", prec, "encoder", size, enc, runs, weights))
        if prec == precisions[0] or prec == "fp32":
            p.set_image(img)
            one = time_call(lambda: p.predict(box=box, multimask_output=False), runs * 3)
            four = time_call(lambda: p.predict_batch([(None, None, box, None)] * 4), runs * 3)
            out.append(_rec(name, "openvino", "fp32", "decoder", size, one, runs * 3, weights))
            out.append(_rec(name, "openvino", "fp32", "decoder_x4", size, four, runs * 3, weights))
    return out


def _ratios(records: list[dict]) -> list[dict]:
    out = []
    for model in dict.fromkeys(r["model"] for r in records):
        enc = {(r["backend"], r["precision"]): r["median_ms"] for r in records
               if r["model"] == model and r["stage"] == "encoder"}
        for base_key in (("pytorch", "fp32"), ("openvino", "fp32")):
            if base_key not in enc:
                continue
            for key, ms in enc.items():
                if key != base_key and ms > 0:
                    out.append({"model": model, "stage": "encoder", "baseline": "/".join(base_key),
                                "compared": "/".join(key), "speedup": round(enc[base_key] / ms, 2)})
    return out


def run_model_bench(models: list[str], backends: list[str], runs: int = 10, threads: int = 0) -> dict:
    """Measure and print a table; returns ``{"machine", "records", "ratios"}``."""
    valid = {"torch", "fp32", "fp16", "bf16", "int8"}
    bad = [b for b in backends if b not in valid]
    if bad:
        raise ValueError(f"unknown backend(s) {bad}: choose from {sorted(valid)}.")
    if runs < 1:
        raise ValueError("--runs must be >= 1.")
    records: list[dict] = []
    for m in models:
        if m == CLASSIC:
            log("bench: classic ...")
            records += _bench_classic(runs)
            continue
        name = get_spec(m).name
        if "torch" in backends:
            log(f"bench: {name} pytorch eager fp32 ...")
            records += _bench_torch(name, runs)
        precs = [b for b in ("fp32", "fp16", "bf16", "int8") if b in backends]
        if precs:
            records += _bench_openvino(name, precs, runs, threads)
    result = {"machine": machine_info(), "records": records, "ratios": _ratios(records)}
    _print_table(result)
    return result


def _print_table(result: dict) -> None:
    print(f"{'model':<12} {'backend':<9} {'prec':<5} {'stage':<14} {'input':<8} {'median ms':>10}  weights")
    for r in result["records"]:
        print(f"{r['model']:<12} {r['backend']:<9} {r['precision']:<5} {r['stage']:<14} {r['input_size']:<8} "
              f"{r['median_ms']:>10.1f}  {r['weights']}")
    if result["ratios"]:
        print("\nencoder speed-ups (same run):")
        for q in result["ratios"]:
            print(f"  {q['model']:<12} {q['compared']:<14} vs {q['baseline']:<14} x{q['speedup']:.2f}")
    if any(r["weights"] == "random" for r in result["records"]):
        print("\n'random' = real architecture with random weights: timings only, no quality measured.")


# -- pipeline benchmark ------------------------------------------------------------------------
def _gt_box(labels: np.ndarray, oid: int) -> list[float]:
    return mask_box(labels == oid).tolist()


def bench_pipeline(model: str, seconds: float = 15.0, objects: int = 1, fps: float = 30.0,
                   width: int = 640, height: int = 480) -> dict:
    """Masks/s and added latency of samstream's pipeline vs the naive loop, same model, same stream.

    Both read the same live synthetic stream (``width`` x ``height`` at ``fps``, newest-frame
    capture): the naive loop runs the full predictor (encode + decode) on each frame it gets.
    """
    from .engine import load_predictor
    from .pipeline import Pipeline
    from .sources import open_source
    from .sources.synthetic import SyntheticScene

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
        from .types import Prompt

        src = open_source(spec)
        lat, n_mask, n = [], 0, 0
        track_ms = []
        t_end = time.time() + seconds
        with Pipeline(src, predictor=predictor, prompts=[Prompt(k, box=b) for k, b in boxes.items()]) as pipe:
            t0 = time.time()
            for seg in pipe:
                now = time.time()
                n += 1
                n_mask += int(len(seg) > 0 and all(m.any() for m in seg.masks))
                lat.append((now - seg.timestamp) * 1e3)
                track_ms.append(pipe.tracker.stats.track_ms)
                if now > t_end:
                    break
            elapsed = time.time() - t0
            m = pipe.metrics()
        return {"frames": n, "results_per_s": n / elapsed, "masks_per_s": n_mask / elapsed,
                "latency_ms_median": float(np.median(lat)), "source_dropped": m.dropped_frames,
                "tracker_ms_per_frame": float(np.median(track_ms)), "keyframes": m.keyframes,
                "keyframes_failed": m.keyframes_failed, "encoder_latency_ms": m.encoder_latency_ms}

    def run_naive() -> dict:
        src = open_source(spec)
        lat, n = [], 0
        t_end = time.time() + seconds
        t0 = time.time()
        with src:
            for frame in src:
                predictor.set_image(frame.image)
                predictor.predict_batch([(None, None, np.array(b, np.float32), None) for b in boxes.values()])
                n += 1
                lat.append((time.time() - frame.timestamp) * 1e3)
                if time.time() > t_end:
                    break
            elapsed = time.time() - t0
            dropped = src.stats().frames_dropped
        return {"frames": n, "results_per_s": n / elapsed, "masks_per_s": n / elapsed,
                "latency_ms_median": float(np.median(lat)), "source_dropped": dropped}

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
            "tracker_ms_per_frame_per_object": round(ours["tracker_ms_per_frame"] / max(1, objects), 2)}


def soak(model: str = "classic", seconds: float = 600.0, objects: int = 2, sample_every: float = 30.0) -> dict:
    """Run the pipeline on a synthetic 640x480 stream for ``seconds``; RSS sampled over time."""
    from .pipeline import Pipeline
    from .sources.synthetic import SyntheticScene
    from .types import Prompt

    scene = SyntheticScene(640, 480, num_objects=3, seed=11)
    _, labels = scene.render(0)
    ids = [k for k in scene.object_ids() if (labels == k).any()][:objects]
    prompts = [Prompt(k, box=_gt_box(labels, k)) for k in ids]
    samples = []
    t0 = time.time()
    next_sample = t0
    frames = 0
    with Pipeline("synthetic:640x480@30,seed=11,objects=3", model=model, prompts=prompts) as pipe:
        for _ in pipe:
            frames += 1
            now = time.time()
            if now >= next_sample:
                samples.append({"t_s": round(now - t0, 1), "frames": frames, "rss_mb": round(_rss(), 1)})
                log(f"soak: {samples[-1]}")
                next_sample += sample_every
            if now - t0 > seconds:
                break
    samples.append({"t_s": round(time.time() - t0, 1), "frames": frames, "rss_mb": round(_rss(), 1)})
    warm = [s["rss_mb"] for s in samples if s["t_s"] >= min(60.0, seconds / 4)]
    return {"model": model, "seconds": seconds, "objects": objects, "samples": samples,
            "rss_growth_mb_after_warmup": round(max(warm) - min(warm), 1) if warm else None}


def profile_encoder(model: str, precision: str = "fp32", runs: int = 3, top: int = 12) -> dict:
    """Where the encoder's time goes: OpenVINO ``PERF_COUNT`` per-node times, grouped by layer type."""
    from .engine.openvino_sam import OVSamModel, ov_core
    from .engine import parse_model_name

    name, weights = parse_model_name(model)
    exported = find_exported(name, weights or "official")
    if exported is None:
        raise FileNotFoundError(f"{model} is not exported: run `samstream export {name}`"
                                + (" --random-init`" if weights == "random-init" else "`") + ".")
    ir = exported.encoder_xml("fp16" if precision == "bf16" else precision)
    cfg = {"PERF_COUNT": "YES", "PERFORMANCE_HINT": "LATENCY"}
    if precision == "fp32":
        cfg["INFERENCE_PRECISION_HINT"] = "f32"
    core = ov_core()
    compiled = core.compile_model(core.read_model(ir), "CPU", cfg)
    req = compiled.create_infer_request()
    img, _, _ = _frame()
    inp = OVSamModel.encoder_input_for(img, int(exported.meta["encoder_side"]), exported.meta["pixel_mean"])
    req.infer({0: inp})
    by_type: dict[str, float] = {}
    total = 0.0
    for _ in range(runs):
        req.infer({0: inp})
        for info in req.profiling_info:
            us = info.real_time.total_seconds() * 1e6
            key = f"{info.node_type} [{info.exec_type}]"
            by_type[key] = by_type.get(key, 0.0) + us / runs
            total += us / runs
    rows = sorted(by_type.items(), key=lambda kv: -kv[1])[:top]
    out = {"model": model, "precision": precision, "total_ms": round(total / 1e3, 1),
           "by_layer_type": [{"type": k, "ms": round(v / 1e3, 2), "share": round(v / total, 3)} for k, v in rows]}
    print(f"{model} {precision}: {out['total_ms']} ms summed over layers")
    for r in out["by_layer_type"]:
        print(f"  {r['share'] * 100:5.1f}%  {r['ms']:8.2f} ms  {r['type']}")
    return out
