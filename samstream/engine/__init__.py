"""Inference engine: predictors (SAM on OpenVINO, classic), async encoder, segment-everything.

``load_predictor("classic")`` needs no weights; ``load_predictor("mobilesam")`` needs an export
(``samstream export mobilesam``). Append ``@random`` to use a random-init export (speed only).
``load_predictor("mobilesam", encoder="grpc://host:9000/mobilesam")`` encodes keyframes on a model
server (KServe v2: ``samstream serve``, OpenVINO Model Server, Triton) and decodes locally; the
``SAMSTREAM_ENCODER`` environment variable is the default ``encoder`` for SAM models.
"""

from __future__ import annotations

import os
from typing import Optional

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


def load_predictor(model: str = "classic", precision: str = "fp16", encoder: Optional[str] = None,
                   **kw) -> Predictor:
    """A ready predictor for ``model`` (``classic``, ``mobilesam``, ``sam_vit_b@random``, ...).

    ``encoder``: a model-server URL (``grpc://host:9000/NAME``, ``http://host:8000/NAME``) that
    encodes the keyframes instead of this machine; default ``$SAMSTREAM_ENCODER`` (SAM models only).
    """
    name, weights = parse_model_name(model)
    if encoder:
        from .remote import parse_encoder_url

        parse_encoder_url(encoder)  # a malformed URL is the first thing to fix
    if name == "classic":
        if encoder:
            raise ValueError("--encoder URL needs a SAM model (the classic backend has no encoder to serve): "
                             "add e.g. --model mobilesam (the same export the server serves).")
        from .classic import ClassicPredictor

        return ClassicPredictor(**kw)
    encoder = encoder or os.environ.get("SAMSTREAM_ENCODER") or None
    if encoder:
        from .remote import load_remote_predictor

        return load_remote_predictor(name, encoder, precision=precision, weights=weights, **kw)
    from .openvino_sam import load_sam_predictor

    return load_sam_predictor(name, precision=precision, weights=weights, **kw)
