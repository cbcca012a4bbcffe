"""The SAM-family models samstream knows: official checkpoints, their hashes and geometry.

Nothing here imports torch or OpenVINO; ``samstream models`` lists this table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Optional

__all__ = ["ModelSpec", "MODELS", "get_spec", "model_names", "CLASSIC", "DEFAULT_SAM_MODEL"]

CLASSIC = "classic"
DEFAULT_SAM_MODEL = "mobilesam"


@dataclass(frozen=True)
class ModelSpec:
    """One SAM-family model.

    Attributes:
        name: registry key used on the command line (``--model NAME``).
        title: human name.
        arch: which builder in :mod:`samstream.models.build` makes the torch model.
        url: official checkpoint URL.
        sha256: SHA-256 of the official checkpoint file.
        size_bytes: size of that file (0 where the publisher gives none).
        license: licence of code and weights.
        encoder_side: side of the square image the encoder sees (pixels).
        prompt_side: side of the square frame prompt coordinates are expressed in (SAM: 1024).
        low_res_side: side of the decoder's low-resolution logits (prompt_side / 4).
        pixel_mean, pixel_std: RGB normalisation applied inside the encoder IR.
        state_dict_key: key holding the state dict inside the checkpoint (``""`` = top level;
            a trailing ``?`` = use that key when present, else the top level).
        notes: anything a user should know.
    """

    name: str
    title: str
    arch: str
    url: str
    sha256: str
    size_bytes: int
    license: str
    encoder_side: int = 1024
    prompt_side: int = 1024
    low_res_side: int = 256
    pixel_mean: tuple[float, float, float] = (123.675, 116.28, 103.53)
    pixel_std: tuple[float, float, float] = (58.395, 57.12, 57.375)
    state_dict_key: str = ""
    notes: str = ""
    aliases: tuple[str, ...] = field(default=())
    #: a user-trained checkpoint exported with ``--custom NAME`` (its weights live under ``custom``)
    custom: bool = False

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1]


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="mobilesam",
            title="MobileSAM (TinyViT-5M encoder + SAM decoder)",
            arch="tiny_vit",
            url=(
                "https://github.com/ChaoningZhang/MobileSAM/raw/"
                "f706ad9c4eb7f219c00d9050e46328518ffb65d2/weights/mobile_sam.pt"
            ),
            sha256="6dbb90523a35330fedd7f1d3dfc66f995213d81b29a5ca8108dbcdd4e37d6c2f",
            size_bytes=40_728_226,
            license="Apache-2.0",
            notes="The default SAM model: ~5.8M-parameter encoder, same prompt decoder as SAM.",
            aliases=("mobile_sam", "vit_t"),
        ),
        ModelSpec(
            name="sam_vit_b",
            title="SAM ViT-B (Meta, segment-anything)",
            arch="vit_b",
            url="https://dl.fbaipublicfiles.com/segment_anything/sam_vit_b_01ec64.pth",
            sha256="ec2df62732614e57411cdcf32a23ffdf28910380d03139ee0f4fcbe91eb8c912",
            size_bytes=375_042_383,
            license="Apache-2.0",
            notes="The original SAM, smallest official size; ~10x slower encoder than MobileSAM on CPU.",
            aliases=("vit_b", "sam"),
        ),
        ModelSpec(
            name="efficientvit_sam_l0",
            title="EfficientViT-SAM-L0 (MIT HAN Lab, 512px encoder + SAM decoder)",
            arch="efficientvit_l0",
            url="https://huggingface.co/mit-han-lab/efficientvit-sam/resolve/main/efficientvit_sam_l0.pt",
            sha256="c4f994b01a16d48bcf2fbbb089448cfbf58fae5811edfa8113c953b8b8cc64b8",
            size_bytes=0,  # ~139 MB; not published exactly
            license="Apache-2.0",
            encoder_side=512,
            state_dict_key="state_dict?",
            notes="Encoder sees 512x512 (prompts still in SAM's 1024 frame); about as fast as MobileSAM "
                  "on CPU at higher published accuracy.",
            aliases=("efficientvit_sam", "effvit_l0", "l0"),
        ),
    )
}


def model_names() -> list[str]:
    """Every name ``--model`` accepts, ``classic`` first."""
    return [CLASSIC, *MODELS]


def get_spec(name: str) -> ModelSpec:
    """The spec for ``name`` (or an alias); ``ValueError`` listing the known names otherwise.

    ``NAME-SIZE`` (e.g. ``mobilesam-512``) is ``NAME`` with a ``SIZE`` x ``SIZE`` encoder input:
    faster, at a quality cost; its embedding is resampled to the decoder's native grid.
    """
    key = str(name).strip().lower()
    if key in MODELS:
        return MODELS[key]
    for spec in MODELS.values():
        if key in spec.aliases:
            return spec
    custom = _custom_spec(key)
    if custom is not None:
        return custom
    base, _, size = key.rpartition("-")
    if base and size.isdigit():
        spec = get_spec(base)
        n = int(size)
        if n % 32 or not 256 <= n <= 2048:
            raise ValueError(f"input size {n} in {name!r} must be a multiple of 32 between 256 and 2048 (e.g. 512, 768).")
        if n == spec.encoder_side:
            return spec
        return replace(spec, name=f"{spec.name}-{n}", encoder_side=n, aliases=(),
                       title=f"{spec.title} at {n}px input")
    raise ValueError(
        f"unknown model {name!r}: choose one of {', '.join(model_names())} "
        "(see `samstream models`)."
    )


def _custom_spec(key: str) -> Optional[ModelSpec]:
    """The spec of a ``--custom NAME`` export in the cache, or ``None``."""
    import json

    from .cache import ir_dir

    if not _CUSTOM_RE.fullmatch(key):
        return None
    meta = ir_dir(key, "custom") / "meta.json"
    if not meta.is_file():
        return None
    try:
        return spec_from_meta(json.loads(meta.read_text()))
    except (OSError, ValueError, KeyError):
        return None


_CUSTOM_RE = re.compile(r"[a-z][a-z0-9_]*(-[a-z][a-z0-9_]*)*")


def check_custom_name(name: str) -> str:
    """Validate a ``--custom NAME``; returns it lower-cased, ``ValueError`` with the rule otherwise."""
    key = str(name).strip().lower()
    if not _CUSTOM_RE.fullmatch(key):
        raise ValueError(f"--custom {name!r}: use letters, digits and '_' (and '-' between words, not before a "
                         "number, which would read as an input size), starting with a letter, e.g. medsam_ft.")
    taken = {CLASSIC, *MODELS, *(a for sp in MODELS.values() for a in sp.aliases)}
    if key in taken:
        raise ValueError(f"--custom {name!r} is the name of a built-in model: pick another, e.g. {key}_ft.")
    return key


#: the encoder IRs an export writes (``encoder_<precision>.xml``)
IR_PRECISIONS = ("fp32", "fp16", "int8")
#: what ``--precision`` takes: the IRs, plus ``bf16`` (the FP16 IR executed in bf16 where the CPU has it)
PRECISIONS = ("fp32", "fp16", "bf16", "int8")


def ir_precision(precision: str) -> str:
    """The IR a run precision executes (``bf16`` runs the FP16 IR); ``ValueError`` for unknown names."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}.")
    return "fp16" if precision == "bf16" else precision


def spec_from_meta(meta: dict) -> ModelSpec:
    """The spec an export (its ``meta.json``) was made from.

    The registry's entry when it knows the name; a custom checkpoint's export (``base_model`` in
    ``meta.json``) is its base spec renamed; anything else (e.g. the tests' tiny model) is rebuilt
    from the geometry ``meta.json`` records.
    """
    name = str(meta["model"])
    if meta.get("base_model"):
        try:
            base = get_spec(str(meta["base_model"]))
        except ValueError:  # a base the registry does not know (the tests' tiny model): meta.json's geometry
            base = spec_from_meta({k: v for k, v in meta.items() if k != "base_model"} | {"model": "?"})
        return replace(base, name=name, title=str(meta.get("title", name)), aliases=(), custom=True,
                       sha256=str(meta.get("checkpoint_sha256") or base.sha256), url="about:custom")
    try:
        return MODELS[name] if name in MODELS else get_spec(name)
    except ValueError:
        return ModelSpec(name=name, title=str(meta.get("title", name)), arch=str(meta["arch"]), url="about:none",
                         sha256=str(meta.get("checkpoint_sha256") or "0" * 64), size_bytes=0, license="",
                         encoder_side=int(meta["encoder_side"]), prompt_side=int(meta["prompt_side"]),
                         low_res_side=int(meta["low_res_side"]),
                         pixel_mean=tuple(meta.get("pixel_mean", PIXEL_MEAN)),
                         pixel_std=tuple(meta.get("pixel_std", PIXEL_STD)))


PIXEL_MEAN = (123.675, 116.28, 103.53)
PIXEL_STD = (58.395, 57.12, 57.375)
