"""The command line, end to end (in-process `main()` and real subprocesses)."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
from pathlib import Path

import cv2
import numpy as np
import pytest

from samstream.cli import main
from samstream.sources.synthetic import SyntheticScene

VOS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "vos"


def _scene_image(tmp_path):
    img, lab = SyntheticScene(320, 240, 2, seed=5).render(0)
    path = tmp_path / "scene.png"
    cv2.imwrite(str(path), img)
    return path, lab


def _iou(a, b):
    return np.count_nonzero(a & b) / max(1, np.count_nonzero(a | b))


@pytest.mark.parametrize("cmd", ["models", "export", "segment", "run", "eval", "bench"])
def test_help_reads_like_docs(cmd):
    out = subprocess.run([sys.executable, "-m", "samstream.cli", cmd, "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "usage: samstream " + cmd in out.stdout
    assert len(out.stdout) > 300


def test_main_help_lists_commands(capsys):
    assert main([]) == 0
    text = capsys.readouterr().out
    for cmd in ("models", "export", "segment", "run", "eval", "bench"):
        assert cmd in text


def test_models_json(capsys):
    assert main(["models", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    names = [m["name"] for m in data["models"]]
    assert names[:2] == ["classic", "mobilesam"] and "sam_vit_b" in names
    assert all(len(m.get("sha256", "0" * 64)) == 64 for m in data["models"])


@pytest.mark.parametrize("args, oid", [(["--box", "{box}"], 1), (["--point", "{pt}"], 1)])
def test_segment_with_classic_writes_a_good_mask(tmp_path, args, oid):
    path, lab = _scene_image(tmp_path)
    ys, xs = np.nonzero(lab == oid)
    box = f"{xs.min()},{ys.min()},{xs.max() + 1},{ys.max() + 1}"
    dist = cv2.distanceTransform((lab == oid).astype(np.uint8), cv2.DIST_L2, 3)
    y, x = np.unravel_index(np.argmax(dist), dist.shape)
    args = [a.format(box=box, pt=f"{x},{y}") for a in args]
    out, over = tmp_path / "m.png", tmp_path / "o.jpg"
    assert main(["segment", str(path), *args, "-o", str(out), "--overlay", str(over)]) == 0
    mask = cv2.imread(str(out), cv2.IMREAD_GRAYSCALE) > 0
    assert _iou(mask, lab == oid) > 0.7
    assert cv2.imread(str(over)).shape == (240, 320, 3)


def test_segment_everything_writes_a_label_map(tmp_path):
    img, lab = SyntheticScene(640, 480, 3, seed=0).render(0)
    path = tmp_path / "scene.png"
    cv2.imwrite(str(path), img)
    out = tmp_path / "labels.png"
    assert main(["segment", str(path), "--everything", "-o", str(out)]) == 0
    labels = cv2.imread(str(out), cv2.IMREAD_GRAYSCALE)
    assert labels.max() >= 2
    # most drawn objects come out as one region each (textured objects may split: a known limit)
    best = [max(_iou(labels == k, lab == oid) for k in range(1, labels.max() + 1)) for oid in (1, 2, 3)]
    assert sum(b > 0.7 for b in best) >= 2, best


@pytest.mark.parametrize("argv, words", [
    (["segment", "missing.png", "--point", "1,1", "-o", "x.png"], "does not exist"),
    (["segment", "{img}", "-o", "x.png"], "nothing to segment"),
    (["segment", "{img}", "--point", "999,1", "-o", "x.png"], "outside"),
    (["run", "--source", "nonsense://x", "--max-frames", "1"], "synthetic"),
    (["run", "--source", "synthetic", "--model", "mobilesam", "--max-frames", "1"], "samstream export mobilesam"),
    (["export", "nosuchmodel"], "unknown model"),
    (["export", "mobilesam", "--checkpoint", "{img}"], "--checkpoint"),
])
def test_errors_name_the_fix(tmp_path, capsys, argv, words):
    path, _ = _scene_image(tmp_path)
    argv = [a.format(img=path) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert words in err and "error" in err


def test_export_offline_names_url_and_checkpoint_option(monkeypatch, capsys):
    def offline(*a, **k):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr("urllib.request.urlopen", offline)
    assert main(["export", "mobilesam"]) == 2
    err = capsys.readouterr().err
    assert "mobile_sam.pt" in err and "--checkpoint" in err and "offline" in err


def test_bad_argument_syntax_is_explained():
    out = subprocess.run([sys.executable, "-m", "samstream.cli", "segment", "x.png", "--point", "12", "-o", "y.png"],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "X,Y" in out.stderr


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
