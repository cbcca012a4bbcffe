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
