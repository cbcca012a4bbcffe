"""Export SAM-family torch models to OpenVINO IR: encoder and prompt decoder, FP32/FP16/INT8.

The encoder IR (``ir_version`` 2) takes a ``uint8 (1, h, w, 3)`` **BGR** image resized so its
longest side is ``S`` (``h, w`` dynamic, ``max(h, w) == S``; PIL bilinear as the official
predictor, see ``SquareFrame.resize``), **unpadded**; colour conversion, mean/std normalisation and
the NHWC->NCHW layout change are folded into the model with ``PrePostProcessor``, and the
normalised image is padded bottom/right with exact zeros to ``S x S`` inside the graph, as
segment-anything's ``Sam.preprocess`` does. (``ir_version`` 1 exports took a mean-colour-padded
``(1, S, S, 3)`` square.)

The decoder IR has a fixed input list (batch ``B`` objects, ``N`` points each, both dynamic):

==================  =====================  ====================================================
name                shape                  meaning
==================  =====================  ====================================================
image_embeddings    (1, C, E, E) f32       encoder output
point_coords        (B, N, 2) f32          (x, y) in the prompt frame (``prompt_side`` square)
point_labels        (B, N) f32             1 include, 0 exclude, 2/3 box corners, -1 padding
mask_input          (B, 1, L, L) f32       previous low-res logits (zeros when unused)
has_mask_input      (B, 1) f32             1 where mask_input is used, else 0
==================  =====================  ====================================================

Outputs: ``iou_predictions (B, 4)`` and ``low_res_masks (B, 4, L, L)`` — index 0 is the
single-mask answer, 1..3 the multimask candidates. Upsampling to the frame happens on the host,
only for the masks actually used.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from .build import build_sam, require_torch
from .cache import fetch_checkpoint, ir_dir, sha256_file
from ..utils import log as _log
from .registry import ModelSpec

__all__ = ["export_model", "calibration_frames", "count_flops", "DECODER_INPUTS", "DECODER_OUTPUTS"]

DECODER_INPUTS = ("image_embeddings", "point_coords", "point_labels", "mask_input", "has_mask_input")
DECODER_OUTPUTS = ("iou_predictions", "low_res_masks")


def _resampled_cls():
    torch = require_torch()

    class Resampled(torch.nn.Module):
        """An image encoder whose output is bilinearly resampled to ``side`` x ``side``."""

        def __init__(self, encoder, side: int):
            super().__init__()
            self.encoder, self.side = encoder, side

        def forward(self, x):
            return torch.nn.functional.interpolate(self.encoder(x), size=(self.side, self.side), mode="bilinear",
                                                   align_corners=False)

    return Resampled


def _Resampled(encoder, side: int):
    return _resampled_cls()(encoder, side)


#: the encoder IR's input contract; bumped when it changes (``meta.json`` records it)
IR_VERSION = 2


def _padded_cls():
    torch = require_torch()

    class PadToSquare(torch.nn.Module):
        """``(1, 3, h, w)`` normalised image -> zero-padded bottom/right to ``(1, 3, S, S)`` -> encoder."""

        def __init__(self, encoder, side: int):
            super().__init__()
            self.encoder, self.side = encoder, side

        def forward(self, x):
            h, w = x.shape[-2], x.shape[-1]
            x = torch.nn.functional.pad(x, (0, self.side - w, 0, self.side - h))
            # a constant shape, so everything after the pad is static in the IR
            return self.encoder(x.reshape(1, 3, self.side, self.side))

    return PadToSquare


def _decoder_module(sam):
    """A torch module with the fixed decoder signature (see module docstring)."""
    torch = require_torch()

    class PromptDecoder(torch.nn.Module):
        def __init__(self, sam):
            super().__init__()
            self.prompt_encoder = sam.prompt_encoder
            self.mask_decoder = sam.mask_decoder
            self.side = float(sam.prompt_encoder.input_image_size[0])

        def _sparse(self, coords, labels):
            pe = self.prompt_encoder
            # Same geometry as SAM: pixel centres, normalised to [0, 1] of the prompt frame.
            xy = (coords + 0.5) / self.side
            emb = pe.pe_layer._pe_encoding(xy)
            lab = labels.unsqueeze(-1)
            emb = emb * (lab != -1).to(emb.dtype)
            emb = emb + pe.not_a_point_embed.weight * (lab == -1).to(emb.dtype)
            for i in range(pe.num_point_embeddings):
                emb = emb + pe.point_embeddings[i].weight * (lab == i).to(emb.dtype)
            return emb

        def forward(self, image_embeddings, point_coords, point_labels, mask_input, has_mask_input):
            pe = self.prompt_encoder
            sparse = self._sparse(point_coords, point_labels)
            has = has_mask_input.reshape(-1, 1, 1, 1)
            dense = pe.mask_downscaling(mask_input) * has + (1.0 - has) * pe.no_mask_embed.weight.reshape(1, -1, 1, 1)
            masks, iou = self.mask_decoder.predict_masks(
                image_embeddings=image_embeddings,
                image_pe=pe.get_dense_pe(),
                sparse_prompt_embeddings=sparse,
                dense_prompt_embeddings=dense,
            )
            return iou, masks

    return PromptDecoder(sam).eval()


def count_flops(sam, spec: ModelSpec) -> dict:
    """FLOPs of one encoder pass and of one decoder prompt, counted by ``torch.utils.flop_counter``.

    ``sam.image_encoder`` is run on a ``(1, 3, S, S)`` input (``S = spec.encoder_side``, the
    resampling to the decoder's grid included when present); the decoder on one prompt (one point
    plus SAM's padding point, no mask input), through the same module the decoder IR is made of.
    FLOPs = 2 x multiply-accumulates of matmuls, convolutions and attention (element-wise ops are
    not counted). Returns ``{"encoder": int, "decoder_per_prompt": int, "counter": "..."}``.
    """
    torch = require_torch()
    from torch.utils.flop_counter import FlopCounterMode

    S = spec.encoder_side
    with torch.no_grad():
        with FlopCounterMode(display=False) as fc:
            emb = sam.image_encoder(torch.zeros(1, 3, S, S))
        enc = fc.get_total_flops()
        dec = _decoder_module(sam)
        L = spec.low_res_side
        args = (emb, torch.tensor([[[10.0, 10.0], [0.0, 0.0]]]), torch.tensor([[1.0, -1.0]]),
                torch.zeros(1, 1, L, L), torch.zeros(1, 1))
        with FlopCounterMode(display=False) as fc:
            dec(*args)
        return {"encoder": int(enc), "decoder_per_prompt": int(fc.get_total_flops()),
                "counter": "torch.utils.flop_counter (2 x MACs of matmul/conv/attention)"}


def _encoder_ir(sam, spec: ModelSpec):
    import openvino as ov
    from openvino.preprocess import ColorFormat, PrePostProcessor

    torch = require_torch()
    S = spec.encoder_side
    example = torch.zeros(1, 3, (S * 3) // 4, S)
    with torch.no_grad():
        model = ov.convert_model(_padded_cls()(sam.image_encoder, S), example_input=example,
                                 input=[([1, 3, -1, -1], ov.Type.f32)])
    model.inputs[0].get_tensor().set_names({"image"})
    model.outputs[0].get_tensor().set_names({"image_embeddings"})
    ppp = PrePostProcessor(model)
    inp = ppp.input(0)
    inp.tensor().set_element_type(ov.Type.u8).set_layout(ov.Layout("NHWC")).set_color_format(ColorFormat.BGR)
    inp.preprocess().convert_element_type(ov.Type.f32).convert_color(ColorFormat.RGB).mean(
        list(spec.pixel_mean)).scale(list(spec.pixel_std))
    inp.model().set_layout(ov.Layout("NCHW"))
    return ppp.build()


def _decoder_ir(sam, spec: ModelSpec, embed_shape):
    import openvino as ov

    torch = require_torch()
    L = spec.low_res_side
    dec = _decoder_module(sam)
    example = (
        torch.zeros(*embed_shape),
        torch.zeros(2, 3, 2),
        torch.tensor([[1.0, 0.0, -1.0], [2.0, 3.0, -1.0]]),
        torch.zeros(2, 1, L, L),
        torch.tensor([[0.0], [1.0]]),
    )
    shapes = [list(embed_shape), [-1, -1, 2], [-1, -1], [-1, 1, L, L], [-1, 1]]
    with torch.no_grad():
        model = ov.convert_model(dec, example_input=example, input=[(s, ov.Type.f32) for s in shapes])
    for port, name in zip(model.inputs, DECODER_INPUTS):
        port.get_tensor().set_names({name})
    for port, name in zip(model.outputs, DECODER_OUTPUTS):
        port.get_tensor().set_names({name})
    return model


def calibration_frames(source: Optional[str], side: int, count: int) -> list[np.ndarray]:
    """Up to ``count`` BGR frames for INT8 calibration, already resized to longest side ``side`` (unpadded).

    ``source`` is a folder of images, a video file, or ``None`` for deterministic synthetic
    scenes (textured moving objects, the same generator as the ``synthetic`` source).
    """
    import cv2

    from ..engine.transforms import SquareFrame

    frames: list[np.ndarray] = []
    if source is None:
        from ..sources.synthetic import SyntheticScene

        scene = SyntheticScene(width=640, height=480, seed=7)
        frames = [scene.render(i * 5)[0] for i in range(count)]
    else:
        path = Path(source).expanduser()
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".bmp", ".webp"))
            if not files:
                raise FileNotFoundError(f"--calib {path} holds no .jpg/.png images: point it at a folder of frames or a video.")
            step = max(1, len(files) // count)
            for p in files[::step][:count]:
                img = cv2.imread(str(p), cv2.IMREAD_COLOR)
                if img is not None:
                    frames.append(img)
        elif path.is_file():
            cap = cv2.VideoCapture(str(path))
            n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
            step = max(1, n // count) if n else 1
            i = 0
            while len(frames) < count:
                ok, img = cap.read()
                if not ok:
                    break
                if i % step == 0:
                    frames.append(img)
                i += 1
            cap.release()
        else:
            raise FileNotFoundError(f"--calib {path} does not exist: give a folder of images or a video file.")
        if not frames:
            raise ValueError(f"--calib {path}: no readable frames found.")
    return [SquareFrame(f.shape[:2], side=side).resize(f) for f in frames]


def _quantize(model, frames: list[np.ndarray], spec: ModelSpec, smooth_quant_alpha: Optional[float]):
    import nncf

    data = nncf.Dataset(frames, lambda f: f[None])
    kwargs = {}
    if spec.arch in ("vit_b", "tiny_vit", "tiny", "efficientvit_l0"):
        kwargs["model_type"] = nncf.ModelType.TRANSFORMER
    if smooth_quant_alpha is not None:
        kwargs["advanced_parameters"] = nncf.AdvancedQuantizationParameters(
            smooth_quant_alphas=nncf.AdvancedSmoothQuantParameters(matmul=smooth_quant_alpha)
        )
    return nncf.quantize(model, data, subset_size=len(frames), preset=nncf.QuantizationPreset.MIXED, **kwargs)


def export_model(
    spec: ModelSpec,
    checkpoint: Optional[Path] = None,
    random_init: bool = False,
    int8: bool = False,
    calib: Optional[str] = None,
    calib_size: int = 32,
    smooth_quant_alpha: Optional[float] = None,
    out_dir: Optional[Path] = None,
    log: Callable[[str], None] = _log,
    custom: Optional[str] = None,
) -> Path:
    """Build/verify, convert and save ``spec`` as OpenVINO IR; returns the output folder.

    ``random_init`` exports the real architecture with random weights (labelled
    ``random-init`` on disk, in ``meta.json`` and everywhere it is shown).

    ``custom=NAME`` exports a user-trained ``checkpoint`` of ``spec``'s architecture (any SHA-256;
    keys and shapes checked strictly) as the model ``NAME``: ``ir/NAME/custom/``, ``weights:
    "custom"`` and the file's SHA-256 in ``meta.json``; ``--model NAME`` then loads it.
    """
    import openvino as ov

    from .registry import check_custom_name

    torch = require_torch()
    ckpt_sha = None if random_init else spec.sha256
    if custom is not None:
        if checkpoint is None or random_init:
            raise ValueError("--custom NAME exports your own checkpoint: add --checkpoint PATH (and no --random-init).")
        custom = check_custom_name(custom)
        checkpoint = Path(checkpoint).expanduser().resolve()
        if not checkpoint.is_file():
            raise FileNotFoundError(f"checkpoint {checkpoint} does not exist: give the path of your .pt/.pth file.")
        ckpt_sha = sha256_file(checkpoint)
    weights = "random-init" if random_init else ("custom" if custom else "official")
    out = Path(out_dir) if out_dir else ir_dir(custom or spec.name, weights)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    steps = 4 + (1 if int8 else 0)
    what = ("building " + spec.title + " with RANDOM weights (speed/shape only, not quality)" if random_init else
            f"loading your checkpoint {checkpoint.name} (SHA-256 {ckpt_sha[:12]}…) into {spec.title}" if custom else
            "fetching the official checkpoint")
    log(f"[1/{steps}] {what}")
    ckpt = None if random_init else (checkpoint if custom else fetch_checkpoint(spec, checkpoint))
    sam = build_sam(spec, checkpoint=ckpt, random_init=random_init)
    with torch.no_grad():
        embed = sam.image_encoder(torch.zeros(1, 3, spec.encoder_side, spec.encoder_side))
    native = spec.prompt_side // 16  # the decoder's embedding grid (64 for SAM's 1024 frame)
    if embed.shape[-1] != native:
        # a non-native input size: resample the embedding to the decoder's grid inside the IR
        sam.image_encoder = _Resampled(sam.image_encoder, native)
        log(f"      input {spec.encoder_side}px gives a {embed.shape[-1]}x{embed.shape[-1]} embedding; "
            f"resampled to {native}x{native} for the decoder")
        with torch.no_grad():
            embed = sam.image_encoder(torch.zeros(1, 3, spec.encoder_side, spec.encoder_side))
    embed_shape = tuple(embed.shape)
    flops = count_flops(sam, spec)
    log(f"      {flops['encoder'] / 1e9:.2f} GFLOP per encoder pass, "
        f"{flops['decoder_per_prompt'] / 1e9:.2f} GFLOP per decoder prompt")
    log(f"[2/{steps}] converting the image encoder ({sum(p.numel() for p in sam.image_encoder.parameters()) / 1e6:.1f}M params, input {spec.encoder_side}x{spec.encoder_side}) — {time.time() - t0:.0f}s")
    enc = _encoder_ir(sam, spec)
    ov.save_model(enc, out / "encoder_fp32.xml", compress_to_fp16=False)
    ov.save_model(enc, out / "encoder_fp16.xml", compress_to_fp16=True)
    log(f"[3/{steps}] converting the prompt decoder — {time.time() - t0:.0f}s")
    dec = _decoder_ir(sam, spec, embed_shape)
    ov.save_model(dec, out / "decoder.xml", compress_to_fp16=False)
    int8_info = None
    if int8:
        log(f"[4/{steps}] INT8 post-training quantization (NNCF), calibrating on "
            f"{calib or 'synthetic frames'} ({calib_size} frames) — {time.time() - t0:.0f}s")
        frames = calibration_frames(calib, spec.encoder_side, calib_size)
        q = _quantize(ov.Core().read_model(out / "encoder_fp32.xml"), frames, spec, smooth_quant_alpha)
        ov.save_model(q, out / "encoder_int8.xml", compress_to_fp16=False)
        int8_info = {"calibration": calib or "synthetic", "frames": len(frames), "smooth_quant_alpha": smooth_quant_alpha}
    from .. import __version__

    meta = {
        "model": custom or spec.name,
        "title": f"{custom} (your checkpoint on {spec.title})" if custom else spec.title,
        "arch": spec.arch,
        "weights": "random" if random_init else ("custom" if custom else "official"),
        "checkpoint_sha256": ckpt_sha,
        "encoder_side": spec.encoder_side,
        "prompt_side": spec.prompt_side,
        "low_res_side": spec.low_res_side,
        "embed_shape": list(embed_shape),
        "pixel_mean": list(spec.pixel_mean),
        "pixel_std": list(spec.pixel_std),
        "int8": int8_info,
        "flops": flops,
        **({"base_model": spec.name, "checkpoint_path": str(checkpoint)} if custom else {}),
        "ir_version": IR_VERSION,
        "encoder_input": "uint8 (1, h, w, 3) BGR, longest side encoder_side, unpadded (zero pad after normalisation in the IR)",
        "samstream_version": __version__,
        "openvino_version": ov.__version__,
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=2))
    log(f"[{steps}/{steps}] saved to {out} in {time.time() - t0:.0f}s")
    return out

