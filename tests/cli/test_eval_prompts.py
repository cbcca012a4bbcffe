"""`samstream eval-prompts` on one real DAVIS clip and on bad input."""

from __future__ import annotations

import json

import pytest

from clihelpers import VOS

from samstream.cli import main


@pytest.mark.skipif(not (VOS / "car-shadow").is_dir(), reason="../shared/data/vos is not present")
def test_eval_prompts_on_real_frames_writes_json(tmp_path, capsys):
    js = tmp_path / "p.json"
    assert main(["eval-prompts", str(VOS), "--sequences", "car-shadow", "--frames", "2", "--no-grabcut",
                 "--json", str(js)]) == 0
    out = capsys.readouterr().out
    assert "car-shadow" in out and "mean" in out
    data = json.loads(js.read_text())
    assert data["method"] == "classic" and data["clips"][0]["n"] == 2
    assert data["box_iou"] > 0.6 and data["click_iou"] > 0.4
    assert data["grabcut_iou"] is None  # --no-grabcut


@pytest.mark.parametrize("argv,words", [
    (["--every", "0"], "--every must be >= 1"),
    (["--frames", "0"], "--frames must be >= 1"),
])
def test_eval_prompts_bad_options_name_the_fix(tmp_path, capsys, argv, words):
    assert main(["eval-prompts", str(tmp_path)] + argv) == 2
    assert words in capsys.readouterr().err


def test_eval_prompts_missing_data_names_it(tmp_path, capsys):
    assert main(["eval-prompts", str(tmp_path / "nowhere")]) == 2
    assert "nowhere" in capsys.readouterr().err


def test_eval_prompts_is_listed_in_the_main_help(capsys):
    assert main([]) == 0
    assert "eval-prompts" in capsys.readouterr().out
