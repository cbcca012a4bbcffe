"""Inference engine: predictors (SAM on OpenVINO, classic), async encoder, segment-everything.

``load_predictor("classic")`` needs no weights; ``load_predictor("mobilesam")`` needs an export
(``samstream export mobilesam``). Append ``@random`` to use a random-init export (speed only).
"""

from __future__ import annotations

from .base import Embedding, Predictor
from .encoder import AsyncEncoder, EncodeHandle, EncoderDropped

__all__ = ["Embedding", "Predictor", "AsyncEncoder", "EncodeHandle", "EncoderDropped", "load_predictor",
           "parse_model_name"]


def parse_model_name(model: str) -> tuple[str, str]:
    """``"mobilesam@random"`` -> ``("mobilesam", "random-init")``; ``"classic"`` -> ``("classic", "")``."""
    from ..models.registry import CLASSIC, get_spec

    if not isinstance(model, str) or not model.strip():
        raise ValueError("model must be a name such as 'classic' or 'mobilesam' (see `samstream models`).")
    name, _, tag = model.strip().lower().partition("@")
    if name == CLASSIC:
        if tag:
            raise ValueError("the classic backend has no weights: use --model classic (no @ suffix).")
        return CLASSIC, ""
    if tag not in ("", "official", "random", "random-init"):
        raise ValueError(f"unknown weights tag {tag!r} in {model!r}: use NAME (official) or NAME@random.")
    return get_spec(name).name, ("random-init" if tag.startswith("random") else "official")


def load_predictor(model: str = "classic", precision: str = "fp16", **kw) -> Predictor:
    """A ready predictor for ``model`` (``classic``, ``mobilesam``, ``sam_vit_b@random``, ...)."""
    name, weights = parse_model_name(model)
    if name == "classic":
        from .classic import ClassicPredictor

        return ClassicPredictor(**kw)
    from .openvino_sam import load_sam_predictor

    return load_sam_predictor(name, precision=precision, weights=weights, **kw)
