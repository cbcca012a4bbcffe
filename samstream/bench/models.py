"""Encoder/decoder latency of every backend, side by side in one run.

Each record: ``{model, backend, precision, stage, input_size, median_ms, runs, weights}``.
``weights`` is ``"random"`` when the model was built/exported with random weights (timings are
real; nothing about quality is measured here) and ``"official"`` otherwise."""

from __future__ import annotations


import numpy as np

from ..models.cache import find_exported
from ..models.registry import CLASSIC, get_spec
from ..utils import log
from .common import time_call, machine_info


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


def _bench_torch(name: str, runs: int) -> list[dict]:
    try:
        import torch

        from ..models.build import build_sam
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
            from ..models.export import _Resampled

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
    from ..engine.openvino_sam import OVSamModel, SamPredictor, cpu_supports_bf16

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
