"""`samstream export`: argument errors, offline download message, a real random-init export."""

from __future__ import annotations

import urllib.error

import numpy as np
import pytest

from clihelpers import assert_names_the_fix

from samstream.cli import main


@pytest.mark.parametrize("argv, words", [
    (["export", "nosuchmodel"], "unknown model"),
    (["export", "mobilesam", "--checkpoint", "{img}"], "--checkpoint"),
])
def test_errors_name_the_fix(tmp_path, capsys, argv, words):
    assert_names_the_fix(tmp_path, capsys, argv, words)


def test_export_offline_names_url_and_checkpoint_option(monkeypatch, capsys):
    def offline(*a, **k):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr("urllib.request.urlopen", offline)
    assert main(["export", "mobilesam"]) == 2
    err = capsys.readouterr().err
    assert "mobile_sam.pt" in err and "--checkpoint" in err and "offline" in err


@pytest.mark.slow
def test_export_real_mobilesam_architecture_random_init(isolated_cache, capsys):
    """The real MobileSAM architecture (random weights) exports through the CLI and runs."""
    pytest.importorskip("torch")
    assert main(["export", "mobilesam", "--random-init"]) == 0
    assert "mobilesam@random" in capsys.readouterr().out
    from samstream.engine import load_predictor

    p = load_predictor("mobilesam@random", precision="fp16")
    assert p.describe()["weights"] == "random"
    p.set_image(np.zeros((480, 640, 3), np.uint8))
    masks, scores, low = p.predict(point_coords=[[320, 240]], point_labels=[1])
    assert masks.shape == (3, 480, 640) and low.shape == (3, 256, 256)
