"""`samstream eval` on a few real DAVIS frames."""

from __future__ import annotations

import json

import cv2
import pytest

from clihelpers import VOS

from samstream.cli import main


@pytest.mark.skipif(not VOS.is_dir(), reason="../shared/data/vos is not present")
def test_eval_on_real_frames_writes_json_and_chart(tmp_path):
    js, chart = tmp_path / "e.json", tmp_path / "e.png"
    assert main(["eval", str(VOS), "--sequences", "blackswan", "--max-frames", "8", "--json", str(js),
                 "--chart", str(chart)]) == 0
    data = json.loads(js.read_text())
    methods = [r["method"] for r in data["results"]]
    assert any("baseline" in m for m in methods) and any("classic" in m for m in methods)
    ours = next(r for r in data["results"] if "classic" in r["method"])
    assert ours["J"] > 0.7
    assert cv2.imread(str(chart)) is not None


def test_eval_oracle_keyframes_table_json_chart(tmp_path, capsys):
    from evalhelpers import write_synthetic

    write_synthetic(tmp_path / "data", n=20)
    js, chart = tmp_path / "o.json", tmp_path / "o.png"
    assert main(["eval", str(tmp_path / "data"), "--oracle-keyframes", "1,5", "--oracle-latency", "0,2",
                 "--json", str(js), "--chart", str(chart)]) == 0
    out = capsys.readouterr().out
    assert "| K | L | flow-warp baseline J |" in out and "samstream tracker J" in out
    data = json.loads(js.read_text())
    assert {(r["K"], r["L"]) for r in data["summary"] if r["method"] == "samstream tracker"} == {(1, 0), (1, 2), (5, 0), (5, 2)}
    k1 = next(r for r in data["summary"] if r["method"] == "samstream tracker" and r["K"] == 1 and r["L"] == 0)
    assert k1["J"] > 0.99
    assert len(data["results"][1]["runs"][0]["sequences"][0]["objects"][0]["J_per_frame"]) == 18
    assert cv2.imread(str(chart)) is not None


@pytest.mark.parametrize("argv, words", [
    (["--oracle-keyframes", "0"], "--oracle-keyframes takes comma-separated integers >= 1"),
    (["--oracle-keyframes", "5", "--oracle-latency", "a"], "--oracle-latency takes"),
    (["--oracle-keyframes", "5", "--prompt-mode", "box"], "drop --prompt-mode"),
])
def test_eval_oracle_bad_arguments_name_the_fix(tmp_path, capsys, argv, words):
    from evalhelpers import write_synthetic

    write_synthetic(tmp_path / "data", n=4)
    assert main(["eval", str(tmp_path / "data"), *argv]) == 2
    assert words in capsys.readouterr().err
