"""User-trained checkpoints: ``export MODEL --checkpoint my.pt --custom NAME`` then ``--model NAME``.

A random-weight state dict of the tiny SAM (seed 5, not the seed of the ``tiny_export`` fixture)
stands in for a fine-tune: any SHA-256 is accepted when keys and shapes fit the architecture.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="needs the [export] extra (torch)")

from samstream.models.build import TINY_SPEC, build_sam  # noqa: E402
from samstream.models.registry import check_custom_name, get_spec  # noqa: E402


@pytest.fixture(scope="module")
def finetune(tmp_path_factory):
    sam = build_sam(TINY_SPEC, random_init=True, seed=5)
    path = tmp_path_factory.mktemp("ckpt") / "my_tiny.pt"
    torch.save(sam.state_dict(), path)
    return path, sam


@pytest.fixture(scope="module")
def custom_export(finetune):
    from samstream.models.export import export_model

    path, _ = finetune
    return export_model(TINY_SPEC, checkpoint=path, custom="My_Tiny", log=lambda m: None)


def test_custom_export_records_sha_and_weights(finetune, custom_export):
    path, _ = finetune
    meta = json.loads((custom_export / "meta.json").read_text())
    assert custom_export.parts[-2:] == ("my_tiny", "custom")
    assert meta["weights"] == "custom" and meta["model"] == "my_tiny" and meta["base_model"] == "tiny-test"
    assert meta["checkpoint_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert meta["checkpoint_sha256"] != TINY_SPEC.sha256
    spec = get_spec("my_tiny")
    assert spec.custom and spec.encoder_side == TINY_SPEC.encoder_side and spec.arch == "tiny"


def test_custom_model_loads_by_name_with_its_own_weights(finetune, custom_export):
    from samstream.engine import load_predictor

    _, sam = finetune
    p = load_predictor("my_tiny", precision="fp32")
    assert p.describe()["weights"] == "custom"
    img = np.random.default_rng(0).integers(0, 255, (128, 128, 3), np.uint8)
    emb = p.encode(img).features["image_embeddings"]
    rgb = img[:, :, ::-1].astype(np.float32).copy()
    x = (torch.from_numpy(rgb).permute(2, 0, 1)[None] - sam.pixel_mean) / sam.pixel_std
    with torch.no_grad():
        ref = sam.image_encoder(x).numpy()
    np.testing.assert_allclose(emb, ref, atol=1e-3 * max(1.0, float(np.abs(ref).max())))


def test_models_lists_the_custom_export(custom_export, capsys):
    from samstream.cli import main

    assert main(["models", "--json"]) == 0
    rows = {m["name"]: m for m in json.loads(capsys.readouterr().out)["models"]}
    assert rows["my_tiny"]["weights"] == "custom" and rows["my_tiny"]["base_model"] == "tiny-test"
    assert len(rows["my_tiny"]["sha256"]) == 64


@pytest.mark.parametrize("damage, words", [
    ("drop", "1 missing keys"),
    ("extra", "1 unexpected"),
    ("shape", "another shape"),
])
def test_checkpoint_that_does_not_fit_is_refused_clearly(finetune, tmp_path, damage, words):
    from samstream.models.export import export_model

    _, sam = finetune
    state = dict(sam.state_dict())
    key = "mask_decoder.iou_token.weight"
    if damage == "drop":
        del state[key]
    elif damage == "extra":
        state["head.extra.weight"] = torch.zeros(3)
    else:
        state[key] = torch.zeros(2, 7)
    bad = tmp_path / "bad.pt"
    torch.save(state, bad)
    with pytest.raises(ValueError, match=words) as e:
        export_model(TINY_SPEC, checkpoint=bad, custom="bad_tiny", log=lambda m: None)
    assert "--custom NAME" in str(e.value)


def test_cli_custom_errors_name_the_fix(finetune, capsys):
    from samstream.cli import main

    path, _ = finetune
    assert main(["export", "mobilesam", "--custom", "mine"]) == 2
    assert "--checkpoint PATH" in capsys.readouterr().err
    # a tiny SAM's weights are not a MobileSAM: the key check says so
    assert main(["export", "mobilesam", "--checkpoint", str(path), "--custom", "mine"]) == 2
    err = capsys.readouterr().err
    assert "does not fit" in err and "missing keys" in err


@pytest.mark.parametrize("name, words", [("mobilesam", "built-in"), ("vit_b", "built-in"), ("my-512", "input size"),
                                         ("9lives", "starting with a letter"), ("a b", "letters")])
def test_bad_custom_names(name, words):
    with pytest.raises(ValueError, match=words):
        check_custom_name(name)
