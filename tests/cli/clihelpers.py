"""Shared helpers of the command-line tests."""

from __future__ import annotations

from pathlib import Path

import cv2

from samstream.sources.synthetic import SyntheticScene

VOS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "vos"


def scene_image(tmp_path):
    img, lab = SyntheticScene(320, 240, 2, seed=5).render(0)
    path = tmp_path / "scene.png"
    cv2.imwrite(str(path), img)
    return path, lab
