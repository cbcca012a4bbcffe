"""Where the time goes: per-layer-type OpenVINO performance counters of the encoder and the decoder.

The decoder is profiled for one prompt and for ``objects`` prompts in one call, so the per-object
cost (and what of it is shared per image) reads directly off the two columns.
"""

from __future__ import annotations

import numpy as np

from ..models.cache import find_exported
from .models import _frame


def _find(model: str):
    from ..engine import parse_model_name
    from ..models.registry import get_spec

    name, weights = parse_model_name(model)
    if get_spec(name).custom and weights == "official":
        weights = "custom"
    exported = find_exported(name, weights or "official")
    if exported is None:
        raise FileNotFoundError(f"{model} is not exported: run `samstream export {name}"
                                + (" --random-init`" if weights == "random-init" else "`") + ".")
    return exported


def _by_type(req, feeds, runs: int) -> tuple[dict, float]:
    req.infer(feeds)
    by_type: dict[str, float] = {}
    total = 0.0
    for _ in range(runs):
        req.infer(feeds)
        for info in req.profiling_info:
            us = info.real_time.total_seconds() * 1e6
            key = f"{info.node_type} [{info.exec_type}]"
            by_type[key] = by_type.get(key, 0.0) + us / runs
            total += us / runs
    return by_type, total


def _rows(by_type: dict, total: float, top: int) -> list[dict]:
    rows = sorted(by_type.items(), key=lambda kv: -kv[1])[:top]
    return [{"type": k, "ms": round(v / 1e3, 2), "share": round(v / max(total, 1e-9), 3)} for k, v in rows]


def profile_encoder(model: str, precision: str = "fp32", runs: int = 3, top: int = 12, objects: int = 4) -> dict:
    """OpenVINO ``PERF_COUNT`` per-node times grouped by layer type: encoder, decoder x1, decoder x``objects``.

    Returns ``{"model", "precision", "total_ms", "by_layer_type", "decoder": {...}}`` (ms summed
    over layers, which on 2 cores is close to, not equal to, wall time).
    """
    from ..engine.openvino_sam import OVSamModel, ov_core

    exported = _find(model)
    ir = exported.encoder_xml("fp16" if precision == "bf16" else precision)
    cfg = {"PERF_COUNT": "YES", "PERFORMANCE_HINT": "LATENCY"}
    if precision == "fp32":
        cfg["INFERENCE_PRECISION_HINT"] = "f32"
    elif precision == "bf16":
        cfg["INFERENCE_PRECISION_HINT"] = "bf16"
    core = ov_core()
    compiled = core.compile_model(core.read_model(ir), "CPU", cfg)
    req = compiled.create_infer_request()
    img, _, _ = _frame()
    inp = OVSamModel.encoder_input_for(img, int(exported.meta["encoder_side"]), exported.meta["pixel_mean"],
                                       ir_version=int(exported.meta.get("ir_version", 1)))
    by_type, total = _by_type(req, {0: inp}, runs)
    emb = np.array(req.get_output_tensor(0).data, copy=True)
    out = {"model": model, "precision": precision, "total_ms": round(total / 1e3, 1),
           "by_layer_type": _rows(by_type, total, top)}
    print(f"{model} encoder {precision}: {out['total_ms']} ms summed over layers")
    for r in out["by_layer_type"]:
        print(f"  {r['share'] * 100:5.1f}%  {r['ms']:8.2f} ms  {r['type']}")

    dec = core.compile_model(core.read_model(exported.decoder_xml), "CPU",
                             {"PERF_COUNT": "YES", "PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"})
    dreq = dec.create_infer_request()
    L = int(exported.meta["low_res_side"])
    dout = {}
    for b in sorted({1, max(1, int(objects))}):
        feeds = {"image_embeddings": emb, "point_coords": np.tile(np.array([[[100.0, 80.0], [0.0, 0.0]]], np.float32), (b, 1, 1)),
                 "point_labels": np.tile(np.array([[1.0, -1.0]], np.float32), (b, 1)),
                 "mask_input": np.zeros((b, 1, L, L), np.float32), "has_mask_input": np.zeros((b, 1), np.float32)}
        by_t, tot = _by_type(dreq, feeds, runs)
        dout[f"x{b}"] = {"objects": b, "total_ms": round(tot / 1e3, 2), "per_object_ms": round(tot / 1e3 / b, 2),
                         "by_layer_type": _rows(by_t, tot, top)}
        print(f"{model} decoder fp32, {b} object(s) in one call: {tot / 1e3:.1f} ms ({tot / 1e3 / b:.1f} ms per object)")
        for r in dout[f"x{b}"]["by_layer_type"][:6]:
            print(f"  {r['share'] * 100:5.1f}%  {r['ms']:8.2f} ms  {r['type']}")
    out["decoder"] = dout
    return out
