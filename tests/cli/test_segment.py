"""`samstream segment` with the classic backend: point/box masks, segment-everything, errors."""

from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest

from clihelpers import assert_names_the_fix, scene_image

from samstream.cli import main
from samstream.geometry import mask_iou
from samstream.sources.synthetic import SyntheticScene


@pytest.mark.parametrize("args, oid", [(["--box", "{box}"], 1), (["--point", "{pt}"], 1)])
def test_segment_with_classic_writes_a_good_mask(tmp_path, args, oid):
    path, lab = scene_image(tmp_path)
    ys, xs = np.nonzero(lab == oid)
    box = f"{xs.min()},{ys.min()},{xs.max() + 1},{ys.max() + 1}"
    dist = cv2.distanceTransform((lab == oid).astype(np.uint8), cv2.DIST_L2, 3)
    y, x = np.unravel_index(np.argmax(dist), dist.shape)
    args = [a.format(box=box, pt=f"{x},{y}") for a in args]
    out, over = tmp_path / "m.png", tmp_path / "o.jpg"
    assert main(["segment", str(path), *args, "-o", str(out), "--overlay", str(over)]) == 0
    mask = cv2.imread(str(out), cv2.IMREAD_GRAYSCALE) > 0
    assert mask_iou(mask, lab == oid) > 0.7
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
    best = [max(mask_iou(labels == k, lab == oid) for k in range(1, labels.max() + 1)) for oid in (1, 2, 3)]
    assert sum(b > 0.7 for b in best) >= 2, best


@pytest.mark.parametrize("argv, words", [
    (["segment", "missing.png", "--point", "1,1", "-o", "x.png"], "does not exist"),
    (["segment", "{img}", "-o", "x.png"], "nothing to segment"),
    (["segment", "{img}", "--point", "999,1", "-o", "x.png"], "outside"),
])
def test_errors_name_the_fix(tmp_path, capsys, argv, words):
    assert_names_the_fix(tmp_path, capsys, argv, words)


def test_bad_argument_syntax_is_explained():
    out = subprocess.run([sys.executable, "-m", "samstream.cli", "segment", "x.png", "--point", "12", "-o", "y.png"],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "X,Y" in out.stderr
