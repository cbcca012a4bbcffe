"""``export --ovms DIR``: the repository layout and config.json OpenVINO Model Server loads."""

from __future__ import annotations

import json

import numpy as np
import pytest


def test_ovms_repository_layout(tiny_export, tmp_path):
    import openvino as ov

    from samstream.models.ovms import write_ovms_repository

    repo = tmp_path / "ovms"
    (repo).mkdir()
    (repo / "config.json").write_text(json.dumps({"model_config_list": [{"config": {"name": "other",
                                                                                   "base_path": "/models/other"}}]}))
    cfg_path = write_ovms_repository(tiny_export, repo, ("fp16", "int8"))
    cfg = json.loads(cfg_path.read_text())
    entries = {e["config"]["name"]: e["config"] for e in cfg["model_config_list"]}
    assert set(entries) == {"other", "tiny-test", "tiny-test-int8"}  # other models are kept
    for name, prec in (("tiny-test", "fp16"), ("tiny-test-int8", "int8")):
        c = entries[name]
        assert c["base_path"] == f"/models/{name}" and c["target_device"] == "CPU"
        version = repo / name / "1"
        assert sorted(p.name for p in version.iterdir()) == ["model.bin", "model.xml"]
        assert (version / "model.xml").read_bytes() == tiny_export.encoder_xml(prec).read_bytes()
    # what OVMS loads is the encoder itself: same input and output as the export
    core = ov.Core()
    model = core.read_model(repo / "tiny-test" / "1" / "model.xml")
    ref = core.read_model(tiny_export.encoder_xml("fp16"))
    assert model.input(0).get_partial_shape() == ref.input(0).get_partial_shape()
    assert model.input(0).get_element_type() == ov.Type.u8
    x = np.random.default_rng(0).integers(0, 256, (1, 128, 128, 3), dtype=np.uint8)
    a = core.compile_model(model, "CPU")({0: x})[0]
    b = core.compile_model(ref, "CPU")({0: x})[0]
    assert np.array_equal(a, b)
    # re-running is idempotent (same entries, not duplicated)
    write_ovms_repository(tiny_export, repo, ("fp16", "int8"))
    assert len(json.loads(cfg_path.read_text())["model_config_list"]) == 3


def test_ovms_missing_precision_names_the_export(tiny_export, tmp_path):
    import dataclasses
    import shutil

    from samstream.models.ovms import write_ovms_repository

    folder = tmp_path / "exp"
    shutil.copytree(tiny_export.folder, folder)
    for f in folder.glob("encoder_int8.*"):
        f.unlink()
    exp = dataclasses.replace(tiny_export, folder=folder)
    with pytest.raises(FileNotFoundError, match="--int8"):
        write_ovms_repository(exp, tmp_path / "ovms", ("fp16", "int8"))
