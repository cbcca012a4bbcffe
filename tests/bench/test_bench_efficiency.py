"""Efficiency rows of ``samstream bench``: peak, FLOPs from meta.json, % of peak, peers, ratios.

Run on the tiny SAM export (real OpenVINO, ONNX Runtime and PyTorch; random weights): the figures
are not checked against any speed (no timed tests), only that they are there and consistent.
"""

from __future__ import annotations

import pytest

from samstream.bench.peak import CpuIsa, cpu_isa, measure_peak


def test_cpu_isa_reads_flags(tmp_path):
    f = tmp_path / "cpuinfo"
    f.write_text("processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: fpu sse avx2 fma avx512f avx512_vnni\n")
    isa = cpu_isa(str(f))
    assert isa.model == "Test CPU" and isa.avx2 and isa.avx512 and isa.vnni and not isa.bf16 and not isa.amx
    assert cpu_isa(str(tmp_path / "missing")).flags == ()


def test_peak_skips_what_the_cpu_lacks_and_measures_the_rest():
    peak = measure_peak(n=128, runs=1, isa=CpuIsa(flags=("avx2",)))
    assert set(peak.gflops) == {"fp32"} and peak.gflops["fp32"] > 0
    assert {"bf16", "int8"} <= set(peak.skipped) and "VNNI" in peak.skipped["int8"]
    assert peak.peak_for("fp16") == peak.gflops["fp32"]
    d = peak.to_dict()
    assert d["isa"]["avx2"] is True and d["gemm_n"] == 128
    with pytest.raises(ValueError, match="GEMM side"):
        measure_peak(n=8)


def test_export_records_flops_in_meta(tiny_export):
    flops = tiny_export.meta["flops"]
    # tiny ViT: 2 blocks of width 48 on an 8x8 token grid + neck; decoder: 2 two-way layers of width 32
    assert 5e6 < flops["encoder"] < 5e7 and 5e5 < flops["decoder_per_prompt"] < 5e6


def test_bench_rows_carry_efficiency_and_peers(tiny_export):
    pytest.importorskip("onnxruntime")
    from samstream.bench.models import _ratios, bench_exported

    peak = measure_peak(n=128, runs=1)
    rows = bench_exported(tiny_export, ["ort", "torch", "fp32", "int8"], runs=1, peak=peak)
    by = {(r["backend"], r["precision"], r["stage"]): r for r in rows}
    for key in [("openvino", "fp32", "encoder"), ("openvino", "fp32", "decoder"), ("openvino", "int8", "encoder"),
                ("onnxruntime", "fp32", "encoder"), ("onnxruntime", "fp32", "decoder"),
                ("pytorch", "fp32", "encoder"), ("pytorch", "fp32", "decoder")]:
        r = by[key]
        assert r["median_ms"] > 0 and r["weights"] == "random"
        gflop = tiny_export.meta["flops"]["encoder" if key[2] == "encoder" else "decoder_per_prompt"] / 1e9
        assert r["gflop"] == pytest.approx(gflop, rel=1e-3)
        assert r["gflops"] == pytest.approx(gflop / (r["median_ms"] / 1e3), rel=0.02)
        ref = peak.peak_for(key[1])
        if ref:
            # the peak is re-timed inside the same rounds as the stages; the row keeps the best of both
            assert r["peak_gflops"] >= round(ref, 1) - 0.05
            assert r["pct_of_peak"] == pytest.approx(100 * r["gflops"] / r["peak_gflops"], rel=0.02)
    ratios = {(q["stage"], q["compared"], q["baseline"]) for q in _ratios(rows)}
    assert ("encoder", "openvino/fp32", "onnxruntime/fp32") in ratios
    assert ("decoder", "openvino/fp32", "pytorch/fp32") in ratios
    assert ("encoder", "openvino/int8", "openvino/fp32") in ratios


def test_interleaved_rounds_time_every_call_its_own_number_of_times():
    from samstream.bench.models import Interleaved

    calls = {"a": 0, "b": 0}
    sched = Interleaved()
    sched.add({"runs": 2, "name": "a"}, lambda: calls.__setitem__("a", calls["a"] + 1))
    sched.add({"runs": 5, "name": "b"}, lambda: calls.__setitem__("b", calls["b"] + 1))
    rows = sched.run()
    assert calls == {"a": 3, "b": 6}  # one warm-up each + its runs
    assert [r["name"] for r in rows] == ["a", "b"] and all(r["median_ms"] >= 0 for r in rows)


def test_profile_covers_encoder_and_decoder_per_object(tmp_path):
    torch = pytest.importorskip("torch")
    from samstream.bench.profile import profile_encoder
    from samstream.models.build import TINY_SPEC, build_sam
    from samstream.models.export import export_model

    ckpt = tmp_path / "t.pt"
    torch.save(build_sam(TINY_SPEC, random_init=True, seed=2).state_dict(), ckpt)
    export_model(TINY_SPEC, checkpoint=ckpt, custom="tiny_prof", log=lambda m: None)
    out = profile_encoder("tiny_prof", "fp32", runs=1, objects=3)
    assert out["total_ms"] > 0 and out["by_layer_type"]
    one, three = out["decoder"]["x1"], out["decoder"]["x3"]
    assert one["objects"] == 1 and three["objects"] == 3
    assert three["per_object_ms"] == pytest.approx(three["total_ms"] / 3, abs=0.01)
    assert sum(r["share"] for r in one["by_layer_type"]) <= 1.001
