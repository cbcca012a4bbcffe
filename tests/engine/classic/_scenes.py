"""Synthetic scenes and DAVIS frames shared by the classic-backend tests.

Synthetic scenes: a textured object (disc or rectangle) on a textured background, so the true
mask is known exactly. Real frames come from DAVIS under ``/work/shared/data/vos`` (tests
using them are skipped when that folder is absent).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

VOS = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "vos"

H, W = 480, 640


def _texture(h: int, w: int, colour, rng: np.random.Generator) -> np.ndarray:
    noise = cv2.GaussianBlur(rng.normal(0, 18, (h, w, 3)).astype(np.float32), (0, 0), 1.2) * 1.8
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    stripes = (8 * np.sin(xx / 5.0 + yy / 9.0))[..., None]
    return np.clip(np.array(colour, np.float32) + noise + stripes, 0, 255)


def _draw(mask: np.ndarray, shape: str, centre: tuple[int, int], size: int) -> None:
    if shape == "disc":
        cv2.circle(mask, centre, size, 1, -1)
    else:
        half_h = int(0.6 * size)
        cv2.rectangle(mask, (centre[0] - size, centre[1] - half_h), (centre[0] + size, centre[1] + half_h), 1, -1)


def scene(shape: str = "disc", centre=(300, 220), size: int = 90, seed: int = 0):
    """A textured object on a textured background: ``(image uint8 BGR, mask bool)``."""
    rng = np.random.default_rng(seed)
    img = _texture(H, W, (70, 150, 90), rng)
    obj = _texture(H, W, (60, 70, 200), rng)
    mask = np.zeros((H, W), np.uint8)
    _draw(mask, shape, centre, size)
    img[mask > 0] = obj[mask > 0]
    return img.astype(np.uint8), mask > 0


def two_objects(seed: int = 0):
    """A reddish disc touching a bluish square on the right: ``(image, disc, square)``."""
    rng = np.random.default_rng(seed)
    img = _texture(H, W, (70, 150, 90), rng)
    disc = np.zeros((H, W), np.uint8)
    cv2.circle(disc, (260, 240), 80, 1, -1)
    square = np.zeros((H, W), np.uint8)
    cv2.rectangle(square, (338, 180), (458, 300), 1, -1)
    square &= 1 - disc
    img[disc > 0] = _texture(H, W, (60, 70, 200), rng)[disc > 0]
    img[square > 0] = _texture(H, W, (200, 90, 60), rng)[square > 0]
    return img.astype(np.uint8), disc > 0, square > 0


def bbox(mask: np.ndarray) -> list[float]:
    ys, xs = np.nonzero(mask)
    return [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)]


def inner_point(mask: np.ndarray) -> list[float]:
    """The interior-most pixel (distance-transform maximum) as ``[x, y]``."""
    dt = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 5)
    y, x = np.unravel_index(int(np.argmax(dt)), dt.shape)
    return [float(x), float(y)]


SCENES = [
    ("disc", (300, 220), 90, 0),
    ("disc", (120, 380), 60, 1),
    ("disc", (560, 90), 45, 2),
    ("rect", (320, 240), 150, 3),
    ("rect", (150, 120), 70, 4),
]


def davis(seq: str, frame: str):
    """``(image uint8 BGR, mask bool)`` of one DAVIS frame; skips the test when it is absent."""
    if not VOS.is_dir():
        pytest.skip(f"real-frame data not found at {VOS} (DAVIS frames are only on the dev machine)")
    img = cv2.imread(str(VOS / seq / "frames" / f"{frame}.jpg"))
    gt = cv2.imread(str(VOS / seq / "masks" / f"{frame}.png"), cv2.IMREAD_GRAYSCALE)
    if img is None or gt is None:
        pytest.skip(f"{seq}/{frame} is missing under {VOS}")
    return img, gt > 0
