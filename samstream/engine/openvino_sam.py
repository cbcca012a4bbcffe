"""SAM-family models on OpenVINO: compiled encoder + prompt decoder and the ``SamPredictor``.

This is the only module (with ``encoder.py``) that imports OpenVINO.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

from ..models.cache import ExportedModel, cache_root, find_exported
from ..models.registry import get_spec
from ..models.registry import PRECISIONS, ir_precision
from .base import DecoderPrompt, DoneCallback, Embedding, Predictor, PredictOutput
from .transforms import SquareFrame

__all__ = ["OVSamModel", "SamPredictor"]

_core_lock = threading.Lock()
_core = None


def ov_core():
    """One shared ``openvino.Core`` with the compiled-model cache enabled (fast second start)."""
    global _core
    with _core_lock:
        if _core is None:
            import openvino as ov

            _core = ov.Core()
            cache = cache_root() / "ov_cache"
            cache.mkdir(parents=True, exist_ok=True)
            _core.set_property({"CACHE_DIR": str(cache)})
        return _core


def cpu_supports_bf16() -> bool:
    caps = ov_core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    return "BF16" in caps


class OVSamModel:
    """An exported SAM-family model, compiled for the CPU.

    Args:
        exported: the folder found by :func:`samstream.models.cache.find_exported`.
        precision: ``fp32`` (FP32 IR, f32 execution), ``fp16`` (FP16-compressed IR, OpenVINO's
            default execution precision: bf16 on CPUs with AVX512_BF16/AMX, else f32),
            ``bf16`` (FP16 IR, forced bf16 execution), ``int8`` (NNCF-quantized encoder).
        num_threads: ``INFERENCE_NUM_THREADS`` for the encoder (``0`` = OpenVINO's choice).
        num_streams: encoder streams; >1 lets several async requests run in parallel.
    """

    def __init__(self, exported: ExportedModel, precision: str = "fp16", num_threads: int = 0,
                 num_streams: int = 1, device: str = "CPU"):
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}.")
        enc_xml = exported.encoder_xml(ir_precision(precision))
        if not enc_xml.exists():
            have = ", ".join(exported.precisions()) or "none"
            hint = f"samstream export {exported.model}" + (" --int8" if precision == "int8" else "")
            if exported.weights == "random-init":
                hint += " --random-init"
            if exported.weights == "custom":
                hint = (f"samstream export {exported.meta.get('base_model', 'BASE')} --checkpoint "
                        f"{exported.meta.get('checkpoint_path', 'PATH')} --custom {exported.model}"
                        + (" --int8" if precision == "int8" else ""))
            raise FileNotFoundError(
                f"{exported.model} has no {precision} encoder in {exported.folder} (have: {have}): run `{hint}`."
            )
        core = ov_core()
        cfg: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": str(num_streams)}
        if num_threads:
            cfg["INFERENCE_NUM_THREADS"] = int(num_threads)
        if precision == "fp32":
            cfg["INFERENCE_PRECISION_HINT"] = "f32"
        elif precision == "bf16":
            if not cpu_supports_bf16():
                raise ValueError("this CPU has no bf16 support (AVX512_BF16/AMX): use --precision fp16 or int8.")
            cfg["INFERENCE_PRECISION_HINT"] = "bf16"
        try:
            self.encoder = core.compile_model(core.read_model(enc_xml), device, cfg)
            self.decoder = core.compile_model(core.read_model(exported.decoder_xml), device,
                                              {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"})
        except RuntimeError as exc:
            raise ValueError(
                f"could not load the OpenVINO IR in {exported.folder} ({str(exc).splitlines()[0]}): the files are "
                f"corrupt or from an incompatible export; re-run `samstream export {exported.model}`."
            ) from None
        self.exported = exported
        self.precision = precision
        meta = exported.meta
        self.encoder_side = int(meta["encoder_side"])
        self.prompt_side = int(meta["prompt_side"])
        self.low_res_side = int(meta["low_res_side"])
        self.pixel_mean_bgr = tuple(reversed([float(v) for v in meta["pixel_mean"]]))
        #: 2: the IR takes the resized unpadded image and zero-pads after normalisation (exact SAM);
        #: 1: older exports, a mean-colour-padded square (still loaded; re-export for exactness)
        self.ir_version = int(meta.get("ir_version", 1))
        if self.ir_version > 2:
            raise ValueError(f"{exported.folder} was exported by a newer samstream (ir_version {self.ir_version}): "
                             f"upgrade samstream or re-run `samstream export {exported.model}`.")
        try:
            hint = self.encoder.get_property("INFERENCE_PRECISION_HINT")
            self.exec_precision = hint.get_type_name() if hasattr(hint, "get_type_name") else str(hint)
        except RuntimeError:
            self.exec_precision = "?"

    @classmethod
    def load(cls, model: str, precision: str = "fp16", weights: str = "official", **kw) -> "OVSamModel":
        """Find ``model``'s export in the cache and compile it; errors name the export command."""
        spec = get_spec(model)
        if spec.custom and weights == "official":
            weights = "custom"  # a user-trained checkpoint exported with --custom NAME
        found = find_exported(spec.name, weights)
        if found is None:
            other = "random-init" if weights == "official" else "official"
            also = find_exported(spec.name, other)
            msg = f"model {spec.name!r} ({weights} weights) is not exported yet: run `samstream export {spec.name}"
            msg += " --random-init`" if weights == "random-init" else "` (needs `pip install samstream[export]` and internet, or --checkpoint PATH)"
            if also is not None:
                msg += f"; a {other} export exists: use --model {spec.name}" + ("@random" if other == "random-init" else "")
            raise FileNotFoundError(msg + ".")
        return cls(found, precision=precision, **kw)

    # -- the two halves ---------------------------------------------------------------------
    def square_frame(self, orig_hw: tuple[int, int]) -> SquareFrame:
        return SquareFrame(orig_hw=orig_hw, side=self.prompt_side, low_res=self.low_res_side)

    def encoder_input(self, image: np.ndarray) -> np.ndarray:
        """The encoder IR's input for one frame: ``uint8 (H, W, 3)`` BGR -> ``uint8 (1, h, w, 3)`` BGR.

        ``(h, w)`` = the frame resized so its longest side is ``encoder_side`` (PIL bilinear, as
        segment-anything's ``ResizeLongestSide``), unpadded: the IR normalises and zero-pads it to
        the square, as SAM does. Exports older than that (``ir_version`` 1) get the old
        ``(1, S, S, 3)`` mean-colour-padded square. This is the one place that builds the input.
        """
        return self.encoder_input_for(image, self.encoder_side, list(reversed(self.pixel_mean_bgr)),
                                      ir_version=self.ir_version)

    @staticmethod
    def encoder_input_for(image: np.ndarray, side: int, pixel_mean_rgb=None, ir_version: int = 2) -> np.ndarray:
        """:meth:`encoder_input` for an IR of input side ``side`` (``pixel_mean_rgb``: pad colour, v1 only)."""
        sq = SquareFrame(orig_hw=image.shape[:2], side=side)
        if ir_version >= 2:
            return sq.resize(image)[None]
        return sq.resize_pad(image, tuple(reversed([float(v) for v in pixel_mean_rgb])))[None]

    def decode(self, embeddings: np.ndarray, coords: np.ndarray, labels: np.ndarray,
               mask_input: np.ndarray, has_mask: np.ndarray, request=None) -> tuple[np.ndarray, np.ndarray]:
        req = request if request is not None else self.decoder.create_infer_request()
        res = req.infer({"image_embeddings": embeddings, "point_coords": coords, "point_labels": labels,
                         "mask_input": mask_input, "has_mask_input": has_mask})
        return np.array(res["iou_predictions"]), np.array(res["low_res_masks"])


class SamPredictor(Predictor):
    """SamPredictor on OpenVINO. ``set_image`` once, then many cheap ``predict`` calls.

    Several objects decode in one call with :meth:`predict_batch`; only the masks returned are
    upsampled, and only over the valid (unpadded) region.
    """

    def __init__(self, model: OVSamModel):
        super().__init__()
        self.model = model
        self.name = model.exported.model
        self.input_side = model.prompt_side
        self.low_res_side = model.low_res_side
        self._enc_req = model.encoder.create_infer_request()
        self._dec_req = model.decoder.create_infer_request()
        self._lock = threading.Lock()

    @property
    def weights(self) -> str:
        """``random``, ``official`` or ``custom`` (a user-trained checkpoint)."""
        return {"random-init": "random", "custom": "custom"}.get(self.model.exported.weights, "official")

    def describe(self) -> dict[str, Any]:
        return {"model": self.name, "backend": "openvino", "precision": self.model.precision,
                "exec_precision": self.model.exec_precision, "weights": self.weights}

    def embedding_from_output(self, output: np.ndarray, orig_hw, frame_index: int, timestamp: float,
                              latency_ms: float) -> Embedding:
        return Embedding(features={"image_embeddings": np.array(output, dtype=np.float32, copy=True)},
                         frame=self.model.square_frame(orig_hw), frame_index=frame_index,
                         timestamp=timestamp, latency_ms=latency_ms)

    def async_requests(self, jobs: int, on_done: DoneCallback) -> "_OVAsyncRequests":
        """The encoder on an ``openvino.AsyncInferQueue`` of ``jobs`` requests."""
        return _OVAsyncRequests(self, jobs, on_done)

    def encode(self, image: np.ndarray, frame_index: int = -1, timestamp: float = 0.0) -> Embedding:
        t0 = time.perf_counter()
        inp = self.model.encoder_input(image)
        with self._lock:
            res = self._enc_req.infer({0: inp})
            out = res[self.model.encoder.output(0)]
        return self.embedding_from_output(out, image.shape[:2], frame_index, timestamp,
                                          (time.perf_counter() - t0) * 1e3)

    def _decode(self, emb: Embedding, prompts: list[DecoderPrompt], multimask_output: bool,
                return_logits: bool) -> list[PredictOutput]:
        sq = emb.frame
        L = self.low_res_side
        rows = []
        for p in prompts:
            c, l = [], []
            if p.points is not None:
                c.append(p.points)
                l.append(p.labels.astype(np.float32))
            if p.box is not None:
                c.append(p.box.reshape(2, 2))
                l.append(np.array([2.0, 3.0], np.float32))
            else:
                c.append(np.zeros((1, 2), np.float32))  # SAM's padding point when there is no box
                l.append(np.array([-1.0], np.float32))
            rows.append((sq.to_input(np.concatenate(c)), np.concatenate(l)))
        # SAM's padding tokens (label -1) take part in attention, so prompts are batched with
        # others of the same token count: a batched answer equals the single-prompt answer.
        groups: dict[int, list[int]] = {}
        for i, (c, _) in enumerate(rows):
            groups.setdefault(c.shape[0], []).append(i)
        iou = np.empty((len(rows), 4), np.float32)
        low = np.empty((len(rows), 4, L, L), np.float32)
        for n, idx in groups.items():
            coords = np.stack([rows[i][0] for i in idx]).astype(np.float32)
            labels = np.stack([rows[i][1] for i in idx]).astype(np.float32)
            mask_in = np.zeros((len(idx), 1, L, L), np.float32)
            has = np.zeros((len(idx), 1), np.float32)
            for j, i in enumerate(idx):
                if prompts[i].mask_input is not None:
                    mask_in[j] = prompts[i].mask_input
                    has[j] = 1.0
            with self._lock:
                g_iou, g_low = self.model.decode(emb.features["image_embeddings"], coords, labels, mask_in, has,
                                                 request=self._dec_req)
            iou[idx], low[idx] = g_iou, g_low
        sel = slice(1, 4) if multimask_output else slice(0, 1)
        out = []
        for i in range(len(rows)):
            lr = low[i, sel].astype(np.float32)
            logits = sq.logits_to_frame(lr)
            masks = logits if return_logits else logits > 0.0
            out.append((masks, iou[i, sel].astype(np.float32), lr))
        return out


class _OVAsyncRequests:
    """:class:`~samstream.engine.base.AsyncRequests` on an ``openvino.AsyncInferQueue``: one
    callback per finished request, the encoder's handle as userdata."""

    def __init__(self, predictor: SamPredictor, jobs: int, on_done: DoneCallback):
        import openvino as ov

        self.jobs = max(1, int(jobs))
        self._predictor = predictor
        self._on_done = on_done
        self._queue = ov.AsyncInferQueue(predictor.model.encoder, self.jobs)
        self._queue.set_callback(self._finished)

    def start(self, image: np.ndarray, handle: Any) -> None:
        self._queue.start_async({0: self._predictor.model.encoder_input(image)}, userdata=handle)

    def _finished(self, request, handle: Any) -> None:
        try:
            out = request.get_output_tensor(0).data
            lat = (time.perf_counter() - handle.started_at) * 1e3
            emb = self._predictor.embedding_from_output(out, handle.image_hw, handle.frame_index,
                                                        handle.timestamp, lat)
        except Exception as exc:
            self._on_done(handle, None, exc)
            return
        self._on_done(handle, emb, None)

    def wait_all(self) -> None:
        self._queue.wait_all()


def load_sam_predictor(model: str, precision: str = "fp16", weights: str = "official", **kw) -> SamPredictor:
    return SamPredictor(OVSamModel.load(model, precision=precision, weights=weights, **kw))

