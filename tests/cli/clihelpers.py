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


def assert_names_the_fix(tmp_path, capsys, argv, words) -> None:
    """Run the CLI with ``argv`` (``{img}`` -> a scene image): exit 2 and ``words`` in the error."""
    from samstream.cli import main

    path, _ = scene_image(tmp_path)
    assert main([a.format(img=path) for a in argv]) == 2
    err = capsys.readouterr().err
    assert words in err and "error" in err
