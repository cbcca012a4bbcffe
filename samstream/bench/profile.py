"""Where the encoder's time goes: per-layer-type OpenVINO performance counters."""

from __future__ import annotations


from ..models.cache import find_exported
from .models import _frame


def profile_encoder(model: str, precision: str = "fp32", runs: int = 3, top: int = 12) -> dict:
    """Where the encoder's time goes: OpenVINO ``PERF_COUNT`` per-node times, grouped by layer type."""
    from ..engine.openvino_sam import OVSamModel, ov_core
    from ..engine import parse_model_name

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
    inp = OVSamModel.encoder_input_for(img, int(exported.meta["encoder_side"]), exported.meta["pixel_mean"],
                                       ir_version=int(exported.meta.get("ir_version", 1)))
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
