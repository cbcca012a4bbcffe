"""Shared fixtures: an isolated model cache and a tiny exported SAM (real OpenVINO, random weights)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
VOS = SHARED / "data" / "vos"


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory):
    """Every test run gets its own samstream cache; the user's ~/.cache is never touched."""
    root = tmp_path_factory.mktemp("samstream-cache")
    old = os.environ.get("SAMSTREAM_CACHE")
    os.environ["SAMSTREAM_CACHE"] = str(root)
    yield root
    if old is None:
        os.environ.pop("SAMSTREAM_CACHE", None)
    else:
        os.environ["SAMSTREAM_CACHE"] = old


@pytest.fixture(scope="session")
def tiny_export(isolated_cache):
    """A tiny SAM exported to OpenVINO IR (FP32/FP16 + INT8) with random weights, seed 0."""
    pytest.importorskip("torch", reason="needs the [export] extra (torch)")
    from samstream.models.build import TINY_SPEC
    from samstream.models.cache import ExportedModel
    from samstream.models.export import export_model

    out = isolated_cache / "ir" / "tiny-test" / "random-init"
    export_model(TINY_SPEC, random_init=True, int8=True, calib_size=4, out_dir=out, log=lambda m: None)
    return ExportedModel("tiny-test", "random-init", out, json.loads((out / "meta.json").read_text()))


@pytest.fixture(scope="session")
def tiny_torch_sam():
    """The torch reference model with the same weights as ``tiny_export``."""
    from samstream.models.build import TINY_SPEC, build_sam

    return build_sam(TINY_SPEC, random_init=True)


@pytest.fixture()
def rng():
    return np.random.default_rng(0)
