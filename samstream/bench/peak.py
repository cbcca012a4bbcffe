"""This machine's own ceiling: attainable GEMM throughput through OpenVINO, and the CPU's ISA flags.

``samstream bench`` divides each stage's achieved GFLOP/s by these figures (measured in the same
run, so a loaded or throttled machine is compared with itself). The GEMM is one ``N x N x N``
MatMul with constant weights (OpenVINO's CPU plugin runs it as a FullyConnected kernel, the
same kernel the encoders' linear layers use):

* ``fp32``: f32 in, f32 weights, ``INFERENCE_PRECISION_HINT=f32``;
* ``bf16``: the same model executed in bf16 (only where the CPU has AVX512_BF16 or AMX);
* ``int8``: u8 activations (FakeQuantize) x i8 weights, the pattern NNCF writes; measured only where
  the CPU has VNNI (AVX512_VNNI / AVX_VNNI) or AMX, without which INT8 has no throughput gain.

FLOPs are ``2 N^3`` (one multiply + one add per multiply-accumulate), the convention of
``torch.utils.flop_counter`` used for the model FLOPs in ``meta.json``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Optional

import numpy as np

__all__ = ["CpuIsa", "PeakResult", "cpu_isa", "measure_peak", "gemm_call"]

_FLAGS = ("avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "avx512_bf16",
          "amx_tile", "amx_bf16", "amx_int8")


@dataclass(frozen=True)
class CpuIsa:
    """The CPU's vector/matrix ISA as ``/proc/cpuinfo`` lists it (first CPU).

    Attributes:
        flags: those of ``avx2, fma, avx512f, avx512bw, avx512_vnni, avx_vnni, avx512_bf16,
            amx_tile, amx_bf16, amx_int8`` that are present.
        model: the ``model name`` line.
    """

    flags: tuple[str, ...]
    model: str = ""

    @property
    def avx2(self) -> bool:
        return "avx2" in self.flags

    @property
    def avx512(self) -> bool:
        return "avx512f" in self.flags

    @property
    def vnni(self) -> bool:
        """INT8 dot-product instructions (AVX512_VNNI or AVX_VNNI)."""
        return "avx512_vnni" in self.flags or "avx_vnni" in self.flags

    @property
    def amx(self) -> bool:
        return "amx_tile" in self.flags

    @property
    def bf16(self) -> bool:
        """Native bf16 arithmetic (AVX512_BF16 or AMX-BF16)."""
        return "avx512_bf16" in self.flags or "amx_bf16" in self.flags

    @property
    def int8_fast(self) -> bool:
        return self.vnni or "amx_int8" in self.flags

    def to_dict(self) -> dict:
        return {"model": self.model, "flags": list(self.flags), "avx2": self.avx2, "avx512": self.avx512,
                "vnni": self.vnni, "amx": self.amx, "bf16": self.bf16}


def cpu_isa(cpuinfo: str = "/proc/cpuinfo") -> CpuIsa:
    """Read the ISA flags of the first CPU listed in ``cpuinfo`` (empty flags where unreadable)."""
    try:
        text = open(cpuinfo).read()
    except OSError:
        return CpuIsa(flags=())
    flags_line = next((ln for ln in text.splitlines() if ln.startswith("flags")), "")
    have = set(flags_line.split(":", 1)[-1].split())
    model = next((ln.split(":", 1)[1].strip() for ln in text.splitlines() if ln.startswith("model name")), "")
    return CpuIsa(flags=tuple(f for f in _FLAGS if f in have), model=model)


@dataclass(frozen=True)
class PeakResult:
    """Attainable GEMM throughput of this machine, measured now.

    Attributes:
        gemm_n: side ``N`` of the ``N x N x N`` GEMM.
        threads: OpenVINO inference threads (0 = OpenVINO's choice, all cores).
        runs: timed runs per precision (the best is kept: a ceiling, not a typical figure).
        gflops: GFLOP/s per precision (``fp32``, and ``bf16``/``int8`` where the CPU has them).
        skipped: precision -> why it was not measured.
        isa: the CPU's ISA flags.
    """

    gemm_n: int
    threads: int
    runs: int
    gflops: dict = field(default_factory=dict)
    skipped: dict = field(default_factory=dict)
    isa: CpuIsa = field(default_factory=lambda: CpuIsa(flags=()))

    def peak_for(self, precision: str) -> Optional[float]:
        """The peak a stage running at ``precision`` is compared with (fp16 runs as bf16 or f32)."""
        if precision in self.gflops:
            return self.gflops[precision]
        if precision == "fp16":
            return self.gflops.get("bf16", self.gflops.get("fp32"))
        return None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["isa"] = self.isa.to_dict()
        d["gflops"] = {k: round(v, 1) for k, v in self.gflops.items()}
        return d


def _gemm_model(n: int, int8: bool, seed: int = 0):
    import openvino as ov
    import openvino.opset13 as ops

    a = ops.parameter([n, n], ov.Type.f32, name="a")
    w = np.random.default_rng(seed).standard_normal((n, n)).astype(np.float32)
    if int8:
        # NNCF's pattern: FakeQuantize on activations, i8 weights with a per-channel scale
        lo, hi = ops.constant(np.float32(-4.0)), ops.constant(np.float32(4.0))
        x = ops.fake_quantize(a, lo, hi, lo, hi, 256)
        wq = ops.constant(np.clip(np.round(w * 32), -127, 127).astype(np.int8))
        wf = ops.multiply(ops.convert(wq, ov.Type.f32), ops.constant(np.full((n, 1), 1 / 32, np.float32)))
        y = ops.matmul(x, wf, False, False)
    else:
        y = ops.matmul(a, ops.constant(w), False, False)
    return ov.Model([y], [a], f"gemm{n}{'_int8' if int8 else ''}")


def gemm_call(n: int, precision: str, threads: int = 0):
    """A compiled, warmed ``N^3`` GEMM in ``precision`` (``fp32``/``bf16``/``int8``): a no-argument call
    that runs it once (``2 N^3`` FLOPs), to time alone or among other calls."""
    import openvino as ov

    hint = {"fp32": "f32", "bf16": "bf16", "int8": "f32"}[precision]
    cfg = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": hint}
    if threads:
        cfg["INFERENCE_NUM_THREADS"] = int(threads)
    compiled = ov.Core().compile_model(_gemm_model(n, precision == "int8"), "CPU", cfg)
    req = compiled.create_infer_request()
    x = np.random.default_rng(1).standard_normal((n, n)).astype(np.float32)
    req.infer({0: x})  # warm-up: weight repacking, first-touch
    return lambda: req.infer({0: x})


def _time_gemm(n: int, precision: str, runs: int, threads: int) -> float:
    call = gemm_call(n, precision, threads)
    best = float("inf")
    for _ in range(max(1, runs)):
        t0 = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - t0)
    return 2.0 * n ** 3 / best / 1e9


def measure_peak(n: int = 2048, runs: int = 3, threads: int = 0, precisions=("fp32", "bf16", "int8"),
                 isa: Optional[CpuIsa] = None) -> PeakResult:
    """Measure the ``N^3`` GEMM in each precision the CPU has; see the module docstring.

    Args:
        n: GEMM side (>= 64); 2048 takes ~0.1-0.3 s per run in fp32 on a 2-core AVX-512 machine.
        runs: timed runs per precision; the fastest is the peak.
        threads: OpenVINO threads (0 = all cores), as for the stages it is compared with.
    """
    if n < 64:
        raise ValueError(f"GEMM side must be >= 64 (got {n}): use e.g. 1024 or 2048.")
    isa = isa or cpu_isa()
    gflops, skipped = {}, {}
    for prec in precisions:
        if prec == "bf16" and not isa.bf16:
            skipped[prec] = "no AVX512_BF16/AMX on this CPU"
            continue
        if prec == "int8" and not isa.int8_fast:
            skipped[prec] = "no VNNI/AMX on this CPU: INT8 has no throughput advantage here"
            continue
        gflops[prec] = _time_gemm(n, prec, runs, threads)
    return PeakResult(gemm_n=n, threads=threads, runs=runs, gflops=gflops, skipped=skipped, isa=isa)
