"""`samstream run`: video + stats JSON (real subprocess), input errors, keyframe failures reported."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from clihelpers import scene_image

from samstream.cli import main
from samstream.sources.synthetic import SyntheticScene


@pytest.mark.parametrize("argv, words", [
    (["run", "--source", "nonsense://x", "--max-frames", "1"], "synthetic"),
    (["run", "--source", "synthetic", "--model", "mobilesam", "--max-frames", "1"], "samstream export mobilesam"),
])
def test_errors_name_the_fix(tmp_path, capsys, argv, words):
    path, _ = scene_image(tmp_path)
    argv = [a.format(img=path) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert words in err and "error" in err


def test_run_writes_video_and_stats(tmp_path):
    _, lab = SyntheticScene(320, 240, 2, seed=5).render(0)
    ys, xs = np.nonzero(lab == 1)
    stats, video = tmp_path / "s.json", tmp_path / "v.avi"
    out = subprocess.run(
        [sys.executable, "-m", "samstream.cli", "run", "--source", "synthetic:320x240@30,seed=5,objects=2,realtime=0,frames=30",
         "--prompt", f"box:{xs.min()},{ys.min()},{xs.max() + 1},{ys.max() + 1}@1", "--out", str(video),
         "--stats-json", str(stats), "-q"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    m = json.loads(stats.read_text())
    assert m["frames_out"] == 30 and m["objects"] == 1
    assert int(cv2.VideoCapture(str(video)).get(cv2.CAP_PROP_FRAME_COUNT)) == 30


def test_run_init_mask_wrong_size(tmp_path, capsys):
    mask = tmp_path / "m.png"
    cv2.imwrite(str(mask), np.full((10, 10), 255, np.uint8))
    assert main(["run", "--source", "synthetic:320x240@30,realtime=0,frames=3", "--init-mask", str(mask)]) == 2
    assert "init-mask" in capsys.readouterr().err
