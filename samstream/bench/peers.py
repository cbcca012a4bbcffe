"""The runtimes users would pick instead, on the same model with the same weights, in the same run.

* **ONNX Runtime** (CPU execution provider, all graph optimisations): what samexporter / sam-onnx
  users run. The encoder and the prompt decoder are exported to ONNX from the very torch modules
  the OpenVINO IR was converted from (same weights: the official/custom checkpoint, or the same
  seeded random initialisation), cached under ``<cache>/onnx/<model>/<weights>/``.
* **PyTorch eager** (fp32, ``torch.no_grad``).

The encoder is timed on an already normalised ``float32 (1, 3, S, S)`` input (ORT and PyTorch get
no host pre-processing in the timing; OpenVINO's encoder includes its in-graph normalisation, so
the comparison is, if anything, in the peers' favour). The decoder is the same
``PromptDecoder`` module as the decoder IR, timed on one prompt (one point + SAM's padding point).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import numpy as np

from ..models.cache import ExportedModel, cache_root
from ..models.registry import spec_from_meta
from ..utils import log
from .common import time_call

__all__ = ["bench_peers", "torch_model_for", "PEER_BACKENDS"]

PEER_BACKENDS = ("onnxruntime", "pytorch")


def torch_model_for(exported: ExportedModel):
    """The torch ``Sam`` with the weights ``exported`` was made from, its encoder wrapped like the IR's."""
    from ..models.build import build_sam, require_torch
    from ..models.export import _Resampled

    torch = require_torch()
    spec = spec_from_meta(exported.meta)
    if exported.weights == "random-init":
        sam = build_sam(spec, random_init=True)
    else:
        ckpt = exported.meta.get("checkpoint_path")
        if exported.weights == "official" or not ckpt:
            from ..models.cache import fetch_checkpoint

            ckpt = fetch_checkpoint(spec)
        sam = build_sam(spec, checkpoint=Path(ckpt))
    S = spec.encoder_side
    with torch.no_grad():
        emb = sam.image_encoder(torch.zeros(1, 3, S, S))
    native = spec.prompt_side // 16
    if emb.shape[-1] != native:
        sam.image_encoder = _Resampled(sam.image_encoder, native)
    return sam


def _decoder_args(torch, embed, L: int):
    return (embed, torch.tensor([[[400.0, 300.0], [0.0, 0.0]]]), torch.tensor([[1.0, -1.0]]),
            torch.zeros(1, 1, L, L), torch.zeros(1, 1))


def _onnx_files(sam, exported: ExportedModel, S: int, L: int) -> tuple[Path, Path]:
    """Export (once, cached) the encoder and the decoder to ONNX; returns their paths."""
    import torch

    from ..models.export import DECODER_INPUTS, DECODER_OUTPUTS, _decoder_module

    folder = cache_root() / "onnx" / exported.model / exported.weights
    stamp = str(exported.meta.get("exported_at", "")) + str(exported.meta.get("checkpoint_sha256", ""))
    enc_p, dec_p, stamp_p = folder / "encoder.onnx", folder / "decoder.onnx", folder / "source.txt"
    if enc_p.exists() and dec_p.exists() and stamp_p.exists() and stamp_p.read_text() == stamp:
        return enc_p, dec_p
    folder.mkdir(parents=True, exist_ok=True)
    log(f"bench: exporting {exported.model} ({exported.weights}) to ONNX for ONNX Runtime (once, cached) ...")
    x = torch.zeros(1, 3, S, S)
    with torch.no_grad():
        torch.onnx.export(sam.image_encoder, (x,), str(enc_p), dynamo=False, opset_version=17,
                          input_names=["image"], output_names=["image_embeddings"])
        emb = sam.image_encoder(x)
        dec = _decoder_module(sam)
        torch.onnx.export(dec, _decoder_args(torch, emb, L), str(dec_p), dynamo=False, opset_version=17,
                          input_names=list(DECODER_INPUTS), output_names=list(DECODER_OUTPUTS),
                          dynamic_axes={"point_coords": {0: "B", 1: "N"}, "point_labels": {0: "B", 1: "N"},
                                        "mask_input": {0: "B"}, "has_mask_input": {0: "B"}})
    stamp_p.write_text(stamp)
    return enc_p, dec_p


def _rec(model, backend, stage, size, ms, runs, weights):
    return {"model": model, "backend": backend, "precision": "fp32", "stage": stage, "input_size": size,
            "median_ms": round(ms, 2), "runs": runs, "weights": weights}


class _Now:
    """Times each call as it is added (when no interleaved scheduler is given)."""

    def __init__(self):
        self.records: list[dict] = []

    def add(self, record: dict, fn) -> None:
        record["median_ms"] = round(time_call(fn, record["runs"]), 2)
        self.records.append(record)


def bench_peers(exported: ExportedModel, runs: int, threads: int = 0,
                backends=PEER_BACKENDS, sched=None) -> list[dict]:
    """Encoder and decoder median ms of ONNX Runtime and PyTorch on ``exported``'s model.

    ``sched``: an object with ``add(record, fn)`` that times later (``bench.models.Interleaved``,
    rounds shared with OpenVINO); without it each call is timed now and the records returned.
    PyTorch keeps ``threads`` (all cores when 0) as its thread count afterwards.
    A missing runtime is skipped with a note on stderr (``pip install 'samstream[bench]'``).
    """
    now = _Now() if sched is None else None
    sched = sched or now
    try:
        import torch
    except ImportError:
        log("bench: torch not installed, skipping the ONNX Runtime and PyTorch rows (pip install 'samstream[export]')")
        return []
    spec = spec_from_meta(exported.meta)
    S, L = spec.encoder_side, spec.low_res_side
    weights = {"random-init": "random"}.get(exported.weights, exported.weights)
    n_threads = threads or os.cpu_count() or 1
    sam = torch_model_for(exported)
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((1, 3, S, S)).astype(np.float32))
    enc_runs = max(2, runs // 4) if spec.arch == "vit_b" else runs
    if "pytorch" in backends:
        log(f"bench: {exported.model} pytorch eager fp32 ...")
        torch.set_num_threads(n_threads)
        from ..models.export import _decoder_module

        with torch.no_grad():
            emb = sam.image_encoder(x)
        dec_mod = _decoder_module(sam)
        args = _decoder_args(torch, emb, L)

        def enc_call():
            with torch.no_grad():
                return sam.image_encoder(x)

        def dec_call():
            with torch.no_grad():
                return dec_mod(*args)

        sched.add(_rec(exported.model, "pytorch", "encoder", str(S), 0.0, enc_runs, weights), enc_call)
        sched.add(_rec(exported.model, "pytorch", "decoder", str(S), 0.0, runs * 3, weights), dec_call)
    if "onnxruntime" in backends:
        try:
            import onnxruntime as ort
        except ImportError:
            log("bench: onnxruntime not installed, skipping its rows (pip install 'samstream[bench]')")
            return now.records if now is not None else []
        try:
            enc_p, dec_p = _onnx_files(sam, exported, S, L)
        except Exception as exc:  # an exporter limitation must not sink the whole benchmark
            log(f"bench: ONNX export of {exported.model} failed ({str(exc).splitlines()[0][:200]}); no ONNX Runtime rows")
            return now.records if now is not None else []
        log(f"bench: {exported.model} onnxruntime cpu fp32 ({ort.__version__}) ...")
        so = ort.SessionOptions()
        so.intra_op_num_threads = n_threads
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        es = ort.InferenceSession(str(enc_p), so, providers=["CPUExecutionProvider"])
        xn = x.numpy()
        emb = es.run(None, {"image": xn})[0]
        ds = ort.InferenceSession(str(dec_p), so, providers=["CPUExecutionProvider"])
        feeds = dict(zip([i.name for i in ds.get_inputs()],
                         [a.numpy() for a in _decoder_args(torch, torch.from_numpy(emb), L)]))
        sched.add(_rec(exported.model, "onnxruntime", "encoder", str(S), 0.0, enc_runs, weights),
                  lambda: es.run(None, {"image": xn}))
        sched.add(_rec(exported.model, "onnxruntime", "decoder", str(S), 0.0, runs * 3, weights),
                  lambda: ds.run(None, feeds))
    return now.records if now is not None else []


def ort_version() -> Optional[str]:
    try:
        import onnxruntime as ort

        return ort.__version__
    except ImportError:
        return None
