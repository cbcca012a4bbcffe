"""Shared helpers of the evaluation tests: hand-made masks, a tiny DAVIS-layout sequence, an oracle tracker."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from samstream.types import Frame, Segmentation

VOS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "vos"


def square(r0, r1, c0, c1, shape=(10, 10)):
    """Bool mask with rows r0..r1 and columns c0..c1 (inclusive) set."""
    m = np.zeros(shape, bool)
    m[r0 : r1 + 1, c0 : c1 + 1] = True
    return m


def write_sequence(root: Path, name="toy", n=6, shape=(40, 48), skip_mask=(3,)):
    """A tiny two-object sequence: a bright square moving right (id 1) and a dark bar (id 2).

    Returns the label maps. Frame ``skip_mask`` positions get no mask file.
    """
    h, w = shape
    (root / name / "frames").mkdir(parents=True)
    (root / name / "masks").mkdir(parents=True)
    rng = np.random.default_rng(0)
    labels = []
    for i in range(n):
        lab = np.zeros(shape, np.uint8)
        lab[8:20, 4 + 2 * i : 16 + 2 * i] = 1
        lab[26:34, 30:44] = 2
        img = rng.integers(60, 120, size=(h, w, 3), dtype=np.uint8)
        img[lab == 1] = 230
        img[lab == 2] = 10
        cv2.imwrite(str(root / name / "frames" / f"{i:05d}.png"), img)  # lossless for the test
        if i not in skip_mask:
            cv2.imwrite(str(root / name / "masks" / f"{i:05d}.png"), lab)
        labels.append(lab)
    return labels


class Oracle:
    """Returns the ground truth; records the prompts it was given."""

    def __init__(self, labels):
        self.labels = labels
        self.prompts = {}

    def add_object(self, obj_id, points=None, labels=None, box=None, mask=None):
        self.prompts[obj_id] = dict(points=points, labels=labels, box=box, mask=mask)

    def track(self, frame: Frame) -> Segmentation:
        lab = self.labels[frame.index]
        ids = sorted(self.prompts)
        return Segmentation(
            masks=np.stack([lab == o for o in ids]),
            scores=np.ones(len(ids)),
            object_ids=ids,
            frame_index=frame.index,
            timestamp=frame.timestamp,
        )


def write_synthetic(root: Path, n=36, speed=4.0, seed=5, objects=2, size=(192, 144)):
    """A DAVIS-layout copy (``root/synth``) of a moving synthetic scene, lossless PNG frames; returns the labels."""
    from samstream.sources.synthetic import SyntheticScene

    scene = SyntheticScene(size[0], size[1], num_objects=objects, seed=seed, speed=speed)
    d = root / "synth"
    (d / "frames").mkdir(parents=True)
    (d / "masks").mkdir()
    labels = []
    for t in range(n):
        img, lab = scene.render(t)
        cv2.imwrite(str(d / "frames" / f"{t:05d}.png"), img)
        cv2.imwrite(str(d / "masks" / f"{t:05d}.png"), lab)
        labels.append(lab)
    return labels
