"""Encoder/decoder latency of every backend, side by side in one run.

Each record: ``{model, backend, precision, stage, input_size, median_ms, runs, weights}``, plus, for
the stages whose FLOPs ``meta.json`` holds (``encoder``: one pass; ``decoder``: one prompt through the
decoder network), ``gflop``, achieved ``gflops`` and ``pct_of_peak`` (of this machine's GEMM peak
in the stage's precision, measured in the same run by :mod:`.peak`: once at the start, and again
inside the interleaved rounds of each model; ``peak_gflops`` is the higher of the two). Stages: ``encoder`` (the
encoder network on a prepared input), ``set_image`` (host resize + encoder), ``decoder`` (the
decoder network, one prompt), ``predict`` (one box, with upsampling to the frame),
``decoder_x4`` (four boxes in one call). Backends: ``openvino``, and the peers ``onnxruntime``
and ``pytorch`` (:mod:`.peers`, same model and weights).
``weights`` is ``"random"`` when the model was built/exported with random weights (timings are
real; nothing about quality is measured here) and ``"official"`` otherwise."""

from __future__ import annotations

import statistics
import time
from dataclasses import replace
from typing import Callable, Optional

import numpy as np

from ..models.cache import find_exported
from ..models.registry import CLASSIC, get_spec, spec_from_meta
from ..utils import log
from .common import time_call, machine_info
from .peak import PeakResult, gemm_call, measure_peak
from .peers import bench_peers


def _frame():
    from ..sources.synthetic import SyntheticScene

    img, labels = SyntheticScene(640, 480, seed=1).render(0)
    ys, xs = np.nonzero(labels == 1)
    box = np.array([xs.min(), ys.min(), xs.max(), ys.max()], np.float32)
    point = np.array([[xs.mean(), ys.mean()]], np.float32)
    return img, box, point


def _rec(model, backend, precision, stage, size, ms, runs, weights):
    return {"model": model, "backend": backend, "precision": precision, "stage": stage, "input_size": size,
            "median_ms": round(ms, 2), "runs": runs, "weights": weights}


def _bench_classic(runs: int) -> list[dict]:
    from ..engine.classic import ClassicPredictor

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
        from ..models.export import export_model

        log(f"bench: no export of {name} in the cache; exporting the real architecture with RANDOM weights")
        export_model(get_spec(name), random_init=True, int8=True, calib_size=16)
        found = find_exported(name, "random-init")
    return found


def _flops(exported) -> Optional[dict]:
    """FLOPs from ``meta.json`` (counted at export); counted now for exports that predate it."""
    if exported.meta.get("flops"):
        return exported.meta["flops"]
    try:
        from ..models.build import build_sam
        from ..models.export import count_flops

        spec = spec_from_meta(exported.meta)
        return count_flops(build_sam(spec, random_init=True), spec)
    except ImportError:
        return None


class Interleaved:
    """Times many calls in rounds (each call once per round), so a load that changes during the run
    hits every backend alike and the same-run ratios stay fair. ``add`` a record (its
    ``median_ms`` is filled by :meth:`run`) with the call to time and its run count."""

    def __init__(self):
        self._jobs: list[tuple[dict, Callable[[], object], int]] = []

    def add(self, record: dict, fn: Callable[[], object]) -> None:
        self._jobs.append((record, fn, int(record["runs"])))

    def run(self) -> list[dict]:
        for _, fn, _ in self._jobs:
            fn()  # warm-up
        times: list[list[float]] = [[] for _ in self._jobs]
        for r in range(max((n for _, _, n in self._jobs), default=0)):
            for (_, fn, n), ts in zip(self._jobs, times):
                if r < n:
                    t0 = time.perf_counter()
                    fn()
                    ts.append((time.perf_counter() - t0) * 1e3)
        out = []
        for (rec, _, _), ts in zip(self._jobs, times):
            rec["median_ms"] = round(float(statistics.median(ts)), 2)
            rec["best_ms"] = round(float(min(ts)), 3)
            out.append(rec)
        return out


def _bench_openvino(exported, precisions: list[str], runs: int, threads: int, sched: Interleaved) -> None:
    from ..engine.openvino_sam import OVSamModel, SamPredictor, cpu_supports_bf16

    name = exported.model
    weights = {"random-init": "random"}.get(exported.weights, exported.weights)
    img, box, point = _frame()
    for prec in precisions:
        if prec == "bf16" and not cpu_supports_bf16():
            log("bench: this CPU has no bf16; skipping bf16")
            continue
        if prec == "int8" and "int8" not in exported.precisions():
            log(f"bench: no INT8 export of {name}; skipping")
            continue
        p = SamPredictor(OVSamModel(exported, precision=prec, num_threads=threads))
        size = f"{p.model.encoder_side}"
        log(f"bench: {name} openvino {prec} (exec {p.model.exec_precision}) ...")
        inp = p.model.encoder_input(img)
        req = p.model.encoder.create_infer_request()
        sched.add(_rec(name, "openvino", prec, "encoder", size, 0.0, runs, weights), lambda r=req, x=inp: r.infer({0: x}))
        sched.add(_rec(name, "openvino", prec, "set_image", size, 0.0, max(1, runs // 2), weights),
                  lambda p=p: p.set_image(img))
        if prec == precisions[0] or prec == "fp32":
            p.set_image(img)
            L = p.model.low_res_side
            emb = p.embedding.features["image_embeddings"]
            args = (emb, p.embedding.frame.to_input(np.array([[[400.0, 300.0], [0.0, 0.0]]], np.float32)),
                    np.array([[1.0, -1.0]], np.float32), np.zeros((1, 1, L, L), np.float32), np.zeros((1, 1), np.float32))
            dreq = p.model.decoder.create_infer_request()
            sched.add(_rec(name, "openvino", "fp32", "decoder", size, 0.0, runs * 3, weights),
                      lambda m=p.model, a=args, r=dreq: m.decode(*a, request=r))
            sched.add(_rec(name, "openvino", "fp32", "predict", size, 0.0, runs * 3, weights),
                      lambda p=p: p.predict(box=box, multimask_output=False))
            sched.add(_rec(name, "openvino", "fp32", "decoder_x4", size, 0.0, runs * 3, weights),
                      lambda p=p: p.predict_batch([(None, None, box, None)] * 4))


#: the stages whose FLOPs are known: stage -> (meta.json flops key, prompts per call)
_STAGE_FLOPS = {"encoder": ("encoder", 1), "decoder": ("decoder_per_prompt", 1)}


def _efficiency(records: list[dict], flops: Optional[dict], peak: Optional[PeakResult]) -> None:
    """Add ``gflop``, ``gflops`` (achieved) and ``pct_of_peak`` to the records whose FLOPs are known."""
    for r in records:
        key = _STAGE_FLOPS.get(r["stage"])
        if flops is None or key is None or not flops.get(key[0]):
            continue
        gflop = flops[key[0]] * key[1] / 1e9
        r["gflop"] = float(f"{gflop:.6g}")
        r["gflops"] = float(f"{gflop / (r['median_ms'] / 1e3):.4g}")
        ref = peak.peak_for(r["precision"]) if peak is not None else None
        if ref:
            r["peak_gflops"] = round(ref, 1)
            r["pct_of_peak"] = float(f"{100.0 * r['gflops'] / ref:.3g}")


def _ratios(records: list[dict]) -> list[dict]:
    """Speed-ups in the same run: every OpenVINO precision against each peer, per stage; and INT8/bf16/fp16 vs fp32."""
    out = []
    for model in dict.fromkeys(r["model"] for r in records):
        for stage in ("encoder", "decoder"):
            ms = {(r["backend"], r["precision"]): r["median_ms"] for r in records
                  if r["model"] == model and r["stage"] == stage and r["median_ms"] > 0}
            bases = [("onnxruntime", "fp32"), ("pytorch", "fp32"), ("openvino", "fp32")]
            for base in bases:
                if base not in ms:
                    continue
                for key, t in ms.items():
                    if key[0] == "openvino" and key != base:
                        out.append({"model": model, "stage": stage, "baseline": "/".join(base),
                                    "compared": "/".join(key), "speedup": round(ms[base] / t, 2)})
    return out


def bench_exported(exported, backends: list[str], runs: int, threads: int = 0,
                   peak: Optional[PeakResult] = None) -> list[dict]:
    """The records of one exported model: OpenVINO precisions, peers, and efficiency against ``peak``."""
    sched = Interleaved()
    precs = [b for b in ("fp32", "fp16", "bf16", "int8") if b in backends]
    if precs:
        _bench_openvino(exported, precs, runs, threads, sched)
    peers = [p for p, b in (("onnxruntime", "ort"), ("pytorch", "torch")) if b in backends]
    if peers:
        bench_peers(exported, runs, threads, backends=peers, sched=sched)
    if peak is not None:
        # the GEMM ceiling re-measured inside the same rounds, so stage and peak see the same load
        for prec in peak.gflops:
            sched.add({"stage": "peak", "precision": prec, "runs": runs}, gemm_call(peak.gemm_n, prec, peak.threads))
    log(f"bench: {exported.model}: timing every backend in {runs * 3} interleaved rounds ...")
    rows = sched.run()
    if peak is not None:
        best = {r["precision"]: 2.0 * peak.gemm_n ** 3 / (r["best_ms"] / 1e3) / 1e9 for r in rows if r["stage"] == "peak"}
        rows = [r for r in rows if r["stage"] != "peak"]
        # the higher of the two measurements is the ceiling (a quiet moment in either)
        peak = replace(peak, gflops={k: max(v, best.get(k, 0.0)) for k, v in peak.gflops.items()})
    _efficiency(rows, _flops(exported), peak)
    return rows


def run_model_bench(models: list[str], backends: list[str], runs: int = 10, threads: int = 0,
                    peak_n: int = 2048) -> dict:
    """Measure and print a table; returns ``{"machine", "peak", "records", "ratios"}``.

    ``backends``: ``ort`` (ONNX Runtime), ``torch`` (PyTorch eager), ``fp32``/``fp16``/``bf16``/``int8``
    (OpenVINO precisions). ``peak_n``: side of the GEMM that measures this machine's peak (0 = skip).
    """
    valid = {"torch", "ort", "fp32", "fp16", "bf16", "int8"}
    bad = [b for b in backends if b not in valid]
    if bad:
        raise ValueError(f"unknown backend(s) {bad}: choose from {sorted(valid)}.")
    if runs < 1:
        raise ValueError("--runs must be >= 1.")
    records: list[dict] = []
    peak = None
    sam_models = [m for m in models if m != CLASSIC]
    if sam_models and peak_n:
        log(f"bench: this machine's peak ({peak_n}^3 GEMM through OpenVINO) ...")
        peak = measure_peak(n=peak_n, threads=threads)
    for m in models:
        if m == CLASSIC:
            log("bench: classic ...")
            records += _bench_classic(runs)
            continue
        records += bench_exported(_ensure_export(get_spec(m).name), backends, runs, threads, peak)
    machine = machine_info()
    if peak is not None:
        machine["isa"] = list(peak.isa.flags)
    result = {"machine": machine, "peak": peak.to_dict() if peak is not None else None,
              "records": records, "ratios": _ratios(records)}
    _print_table(result)
    return result


def _print_table(result: dict) -> None:
    peak = result.get("peak")
    if peak:
        isa = peak["isa"]
        print(f"CPU: {isa['model']}  ISA: {' '.join(isa['flags'])}")
        print("peak (GEMM %d^3, OpenVINO): %s" % (peak["gemm_n"], ", ".join(f"{k} {v:.1f} GFLOP/s" for k, v in peak["gflops"].items()))
              + "".join(f"; {k}: {why}" for k, why in peak["skipped"].items()) + "\n")
    print(f"{'model':<12} {'backend':<11} {'prec':<5} {'stage':<11} {'input':<8} {'median ms':>10} {'GFLOP/s':>8} {'% peak':>7}  weights")
    for r in result["records"]:
        gf = f"{r['gflops']:.1f}" if "gflops" in r else "-"
        pct = f"{r['pct_of_peak']:.0f}%" if "pct_of_peak" in r else "-"
        print(f"{r['model']:<12} {r['backend']:<11} {r['precision']:<5} {r['stage']:<11} {r['input_size']:<8} "
              f"{r['median_ms']:>10.1f} {gf:>8} {pct:>7}  {r['weights']}")
    if result["ratios"]:
        print("\nspeed-ups (same run):")
        for q in result["ratios"]:
            print(f"  {q['model']:<12} {q['stage']:<8} {q['compared']:<14} vs {q['baseline']:<17} x{q['speedup']:.2f}")
    if any(r["weights"] == "random" for r in result["records"]):
        print("\n'random' = real architecture with random weights: timings only, no quality measured.")
