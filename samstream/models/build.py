"""Build SAM-family torch models (official code for the prompt encoder / mask decoder).

Imported only by export and bench paths: needs ``pip install samstream[export]``.
``random_init=True`` builds the real architecture with random weights — honest for speed and
shapes, never for quality.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from functools import partial
from pathlib import Path
from typing import Optional

from .registry import ModelSpec

__all__ = ["require_torch", "build_sam", "load_state", "TINY_SPEC"]


def _sam_modeling():
    """``segment_anything.modeling`` (Meta's official model code).

    The package's ``__init__`` pulls in torchvision for its image transforms, which samstream
    does not use; when torchvision is absent (or broken beside a CPU torch build) the modeling
    subpackage is imported on its own.
    """
    try:
        from segment_anything import modeling

        return modeling
    except ImportError as exc:
        if not (exc.name or "").startswith("torchvision"):
            raise
    for key in [k for k in sys.modules if k == "segment_anything" or k.startswith("segment_anything.")]:
        del sys.modules[key]
    found = importlib.util.find_spec("segment_anything")
    if found is None or not found.submodule_search_locations:
        raise ImportError("segment_anything is not installed", name="segment_anything")
    pkg = types.ModuleType("segment_anything")
    pkg.__path__ = list(found.submodule_search_locations)
    sys.modules["segment_anything"] = pkg
    return importlib.import_module("segment_anything.modeling")


def require_torch():
    """Import torch + segment_anything's model code or raise an error naming the extra to install."""
    try:
        import torch  # noqa: F401

        _sam_modeling()
    except ImportError as exc:
        raise ImportError(
            f"model export needs PyTorch and segment-anything ({exc.name} is missing): "
            "pip install torch --index-url https://download.pytorch.org/whl/cpu && "
            "pip install 'samstream[export]'"
        ) from None
    return torch


# A tiny SAM (ViT encoder 128px, 8x8 embedding, 32-dim decoder) for tests: same code paths.
TINY_SPEC = ModelSpec(
    name="tiny-test",
    title="tiny SAM (tests only, random weights)",
    arch="tiny",
    url="about:none",
    sha256="0" * 64,
    size_bytes=0,
    license="Apache-2.0",
    encoder_side=128,
    prompt_side=128,
    low_res_side=32,
)


def _sam(image_encoder, spec: ModelSpec, embed_dim: int = 256, embed_side: int = 64, mlp_dim: int = 2048,
         num_heads: int = 8):
    m = _sam_modeling()
    MaskDecoder, PromptEncoder, Sam, TwoWayTransformer = m.MaskDecoder, m.PromptEncoder, m.Sam, m.TwoWayTransformer

    return Sam(
        image_encoder=image_encoder,
        prompt_encoder=PromptEncoder(
            embed_dim=embed_dim,
            image_embedding_size=(embed_side, embed_side),
            input_image_size=(spec.prompt_side, spec.prompt_side),
            mask_in_chans=16,
        ),
        mask_decoder=MaskDecoder(
            num_multimask_outputs=3,
            transformer=TwoWayTransformer(depth=2, embedding_dim=embed_dim, mlp_dim=mlp_dim, num_heads=num_heads),
            transformer_dim=embed_dim,
            iou_head_depth=3,
            iou_head_hidden_dim=256 if embed_dim == 256 else embed_dim,
        ),
        pixel_mean=list(spec.pixel_mean),
        pixel_std=list(spec.pixel_std),
    )


def _image_encoder(spec: ModelSpec):
    torch = require_torch()
    if spec.arch == "vit_b":
        ImageEncoderViT = _sam_modeling().ImageEncoderViT

        return ImageEncoderViT(
            depth=12, embed_dim=768, img_size=spec.encoder_side, mlp_ratio=4,
            norm_layer=partial(torch.nn.LayerNorm, eps=1e-6), num_heads=12, patch_size=16,
            qkv_bias=True, use_rel_pos=True, global_attn_indexes=(2, 5, 8, 11), window_size=14,
            out_chans=256,
        )
    if spec.arch == "tiny_vit":
        from .arch.tiny_vit import mobilesam_image_encoder

        return mobilesam_image_encoder(img_size=spec.encoder_side)
    if spec.arch == "efficientvit_l0":
        from .arch.efficientvit_sam import efficientvit_sam_l0_image_encoder

        return efficientvit_sam_l0_image_encoder()
    if spec.arch == "tiny":
        ImageEncoderViT = _sam_modeling().ImageEncoderViT

        return ImageEncoderViT(
            depth=2, embed_dim=48, img_size=spec.encoder_side, mlp_ratio=2,
            norm_layer=partial(torch.nn.LayerNorm, eps=1e-6), num_heads=2, patch_size=16,
            qkv_bias=True, use_rel_pos=True, global_attn_indexes=(1,), window_size=4, out_chans=32,
        )
    raise ValueError(f"no builder for architecture {spec.arch!r}")


def _unwrap(state, spec: ModelSpec):
    key = spec.state_dict_key
    if key.endswith("?"):
        state = state.get(key[:-1], state)
    elif key:
        state = state[key]
    # training scripts often save {"model": state_dict, "optimizer": ...} or {"state_dict": ...}
    for k in ("model", "state_dict", "model_state_dict"):
        if isinstance(state, dict) and isinstance(state.get(k), dict) and not any(
                hasattr(v, "shape") for v in state.values()):
            state = state[k]
    return state


def load_state(model, checkpoint: Path, spec: ModelSpec) -> None:
    """Load ``checkpoint`` into ``model`` after a strict key *and* shape check.

    Raises ``ValueError`` naming the missing/unexpected keys and the shape mismatches (first few of
    each) when the checkpoint does not fit ``spec``'s architecture: e.g. a SAM ViT-B file given to
    ``mobilesam``, or a MobileSAM fine-tune exported at another encoder size.
    """
    torch = require_torch()
    try:
        state = torch.load(str(checkpoint), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(
            f"could not read checkpoint {checkpoint} with torch.load ({str(exc).splitlines()[0][:200]}): give a "
            "PyTorch state-dict file (.pt/.pth) saved with torch.save(model.state_dict(), PATH)."
        ) from None
    state = _unwrap(state, spec)
    if not isinstance(state, dict):
        raise ValueError(f"checkpoint {checkpoint} holds a {type(state).__name__}, not a state dict: "
                         "save it with torch.save(model.state_dict(), PATH).")
    want = model.state_dict()
    missing = [k for k in want if k not in state]
    unexpected = [k for k in state if k not in want]
    wrong = [f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(want[k].shape)}"
             for k in want if k in state and hasattr(state[k], "shape") and tuple(state[k].shape) != tuple(want[k].shape)]
    if missing or unexpected or wrong:
        raise ValueError(
            f"checkpoint {checkpoint} does not fit {spec.title} (encoder input {spec.encoder_side}px): "
            f"{len(missing)} missing keys (e.g. {missing[:3]}), {len(unexpected)} unexpected (e.g. {unexpected[:3]}), "
            f"{len(wrong)} with another shape (e.g. {wrong[:3]}). Export it with the model it was trained from "
            "(see `samstream models`), e.g. `samstream export sam_vit_b --checkpoint PATH --custom NAME`."
        )
    model.load_state_dict(state, strict=True)


def build_sam(spec: ModelSpec, checkpoint: Optional[Path] = None, random_init: bool = False, seed: int = 0):
    """The torch ``Sam`` for ``spec``, in eval mode.

    Args:
        checkpoint: a state-dict file: a verified official checkpoint (see ``cache.fetch_checkpoint``)
            or a user-trained one of the same architecture (checked key by key, shape by shape).
        random_init: build with random weights (seeded) instead; ``checkpoint`` must be ``None``.
    """
    torch = require_torch()
    if random_init == (checkpoint is not None):
        raise ValueError("give exactly one of checkpoint=PATH or random_init=True")
    torch.manual_seed(seed)
    if spec.arch == "efficientvit_l0":
        model = _sam(_image_encoder(spec), spec)
        # EfficientViT-SAM's official builder uses eps=1e-6 in every norm, the decoder's included.
        for mod in model.mask_decoder.modules():
            if isinstance(mod, torch.nn.LayerNorm) or mod.__class__.__name__ == "LayerNorm2d":
                mod.eps = 1e-6
    elif spec.arch == "tiny":
        model = _sam(_image_encoder(spec), spec, embed_dim=32, embed_side=8, mlp_dim=64, num_heads=2)
    else:
        model = _sam(_image_encoder(spec), spec)
    if checkpoint is not None:
        load_state(model, checkpoint, spec)
    return model.eval()
