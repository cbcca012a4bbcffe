"""Prompts whose answer comes late: the encoder is busy when they arrive, or slow to answer.

A textured scene (so the flow is reliable) with object A moving right at 4 px/frame and object B
standing still; an oracle decoder answers a box with the object that fills most of it, and the
encoder is held back under the test's control, so the latencies are exact.

* Re-prompting id 1 (on A) with a box around B, answered 12 frames late: the answer (B's mask,
  for the frame it was asked on) is brought forward by the motion of the *prompted region* (B:
  none); moving it by the old object's motion (A: 48 px) would paste it on the background.
* A box around A given while another object's keyframe is in flight: it waits 11 frames for the
  encoder and is carried with A meanwhile (44 px); decoding the stale box would miss A.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from samstream.engine.base import Embedding, Predictor
from samstream.geometry import mask_iou
from samstream.tracker import Tracker
from samstream.types import Frame

H, W = 180, 240
A0, B0, SIZE, SPEED = (20, 30), (150, 100), 50, 4


def _scene(i: int) -> tuple[np.ndarray, np.ndarray]:
    """(BGR image, label map) of frame ``i``: A at x = 20 + 4 i, B fixed, fixed textures."""
    rng = np.random.default_rng(0)
    img = (rng.random((H, W, 3)) * 120).astype(np.uint8)
    lab = np.zeros((H, W), np.uint8)
    tex_a = (rng.random((SIZE, SIZE, 3)) * 100 + 155).astype(np.uint8)
    tex_b = (rng.random((SIZE, SIZE, 3)) * 100 + 100).astype(np.uint8)
    for k, (x, y), tex in ((2, B0, tex_b), (1, (A0[0] + SPEED * i, A0[1]), tex_a)):
        img[y:y + SIZE, x:x + SIZE] = tex
        lab[y:y + SIZE, x:x + SIZE] = k
    return img, lab


def _box(lab: np.ndarray, k: int) -> list[float]:
    ys, xs = np.nonzero(lab == k)
    return [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)]


class GatedOracle(Predictor):
    """Answers a box with the ground-truth object that fills most of it; encodes of frames at or after
    ``gate_from`` wait until ``release`` is set (a slow encoder, under the test's control)."""

    name = "gated-oracle"

    def __init__(self, gate_from: int):
        super().__init__()
        self.gate_from, self.release = gate_from, threading.Event()

    def encode(self, image, frame_index=-1, timestamp=0.0):
        if frame_index >= self.gate_from and not self.release.wait(30):
            raise TimeoutError("the test never released the encoder")
        return Embedding({"index": np.array(frame_index)}, self.square_frame(image.shape[:2]), frame_index, timestamp)

    def _decode(self, emb, prompts, multimask_output, return_logits):
        _, lab = _scene(int(emb.features["index"]))
        out = []
        for pts, _labels, box, _mask in prompts:
            if box is not None:  # the object that fills at least a third of the box, most
                x1, y1, x2, y2 = (int(round(v)) for v in box)
                inside = lab[max(0, y1):y2, max(0, x1):x2]
                counts = np.bincount(inside.ravel(), minlength=3)[1:]
                oid = int(np.argmax(counts)) + 1 if counts.max() >= inside.size / 3 else 0
            else:
                x, y = pts[0].astype(int)
                oid = int(lab[y, x])
            m = lab == oid if oid else np.zeros(lab.shape, bool)
            out.append((m[None], np.array([0.95 if oid else 0.05], np.float32), np.zeros((1, 256, 256), np.float32)))
        return out


def _settle(tr: Tracker) -> None:
    """Wait until no keyframe is in flight: its completion callback has decoded it and handed it to
    the tracker (white-box: the encoder's own counters move before the callback runs)."""
    deadline = time.monotonic() + 20
    while tr._in_flight is not None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert tr._in_flight is None, "a keyframe never came back"


def test_reprompted_id_lands_on_the_new_object_not_moved_by_the_old_ones_motion():
    pred = GatedOracle(gate_from=10)
    tr = Tracker(pred, asynchronous=True)
    try:
        for i in range(10):
            img, lab = _scene(i)
            if i == 0:
                tr.add_object(1, box=_box(lab, 1))
            seg = tr.track(Frame(img, i, i / 30.0), resolve_now=i == 0)
            _settle(tr)
        assert mask_iou(seg.masks[0], lab == 1) > 0.8  # following A

        img, lab = _scene(10)
        tr.update(1, box=_box(lab, 2))  # re-prompt id 1 around B; its keyframe is held back
        for i in range(10, 22):
            img, lab = _scene(i)
            seg = tr.track(Frame(img, i, i / 30.0))
        pred.release.set()
        _settle(tr)

        img, lab = _scene(22)
        seg = tr.track(Frame(img, 22, 22 / 30.0))  # the answer for frame >= 10 is applied here
        assert seg.keyframe_index >= 10
        on_b, on_a = mask_iou(seg.masks[0], lab == 2, empty=0.0), mask_iou(seg.masks[0], lab == 1, empty=0.0)
        assert on_b > 0.8 and on_a < 0.05, (on_b, on_a)
    finally:
        pred.release.set()
        tr.close()


def test_a_prompt_that_waits_for_the_encoder_is_carried_with_its_object():
    pred = GatedOracle(gate_from=10)
    tr = Tracker(pred, asynchronous=True)
    try:
        for i in range(11):  # object 2 on B; frame 10's keyframe (B's) is held back
            img, lab = _scene(i)
            if i == 0:
                tr.add_object(2, box=_box(lab, 2))
            tr.track(Frame(img, i, i / 30.0), resolve_now=i == 0)
            if i < 10:
                _settle(tr)
        assert tr._in_flight is not None and tr._in_flight.index == 10  # B's keyframe, held back
        img, lab = _scene(11)
        tr.add_object(1, box=_box(lab, 1))  # A in frame 11, the next frame tracked
        for i in range(11, 22):
            img, lab = _scene(i)
            seg = tr.track(Frame(img, i, i / 30.0))
        assert tr.object_ids == [1, 2]
        assert not seg.masks[list(seg.object_ids).index(1)].any()  # object 1 not decoded yet
        pred.release.set()
        _settle(tr)
        img, lab = _scene(22)
        tr.track(Frame(img, 22, 22 / 30.0))  # B's keyframe applied; object 1's box sent now, 44 px later
        _settle(tr)
        img, lab = _scene(23)
        seg = tr.track(Frame(img, 23, 23 / 30.0))
        m1 = seg.masks[list(seg.object_ids).index(1)]
        assert mask_iou(m1, lab == 1, empty=0.0) > 0.8, mask_iou(m1, lab == 1, empty=0.0)
        assert mask_iou(seg.masks[list(seg.object_ids).index(2)], lab == 2) > 0.8
    finally:
        pred.release.set()
        tr.close()
