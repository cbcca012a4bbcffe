"""`samstream run`: video + stats JSON (real subprocess), input errors, keyframe failures reported."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from clihelpers import assert_names_the_fix

from samstream.cli import main
from samstream.sources.synthetic import SyntheticScene


@pytest.mark.parametrize("argv, words", [
    (["run", "--source", "nonsense://x", "--max-frames", "1"], "synthetic"),
    (["run", "--source", "synthetic", "--model", "mobilesam", "--max-frames", "1"], "samstream export mobilesam"),
])
def test_errors_name_the_fix(tmp_path, capsys, argv, words):
    assert_names_the_fix(tmp_path, capsys, argv, words)


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


def test_run_reports_keyframe_failures(tmp_path, capsys):
    """A predictor whose encoder raises after the first keyframe: the summary line and the stats
    JSON of `samstream run` name the failure count and the last error."""
    from samstream.cli import build_parser
    from samstream.cli import run as run_cmd
    from samstream.engine.classic import ClassicPredictor
    from samstream.pipeline import Pipeline

    class FailingEncoder(ClassicPredictor):
        calls = 0

        def encode(self, image, frame_index=-1, timestamp=0.0):
            FailingEncoder.calls += 1
            if FailingEncoder.calls > 1:
                raise RuntimeError("encoder fell over")
            return super().encode(image, frame_index, timestamp)

    stats = tmp_path / "s.json"
    args = build_parser().parse_args(["run", "--stats-json", str(stats), "-q"])
    pipe = Pipeline("synthetic:160x120@30,realtime=0,frames=30", predictor=FailingEncoder(), asynchronous=False,
                    keyframe_interval=5, prompts=["box:10,10,60,60"])
    assert run_cmd.stream(pipe, quiet=True) is False
    assert run_cmd.report(pipe, args, [], None, interrupted=False) == 0
    out = capsys.readouterr().out
    line = out.splitlines()[0]
    assert line.startswith("30 frames") and "keyframes failed" in line and "encoder fell over" in line
    m = json.loads(stats.read_text())
    assert m["keyframes_failed"] >= 4 and "encoder fell over" in m["last_keyframe_error"]
