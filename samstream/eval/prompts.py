"""Prompt quality on single frames: how well one box, one click, or a click plus an exclude
click segments a ground-truth object, and how long each prompt takes.

Protocol (:func:`evaluate_prompts`), for every sampled annotated frame and every object in it:

* **box**: the ground-truth mask's bounding box (:func:`samstream.geometry.mask_box`), one
  output (``multimask_output=False``, SAM's convention for a box);
* **click**: one include point at the object's interior-most pixel
  (:func:`samstream.geometry.interior_point`), three candidates, the best-*scored* one kept
  (what a SAM user gets from ``multimask_output=True``; the score is the predictor's own, the
  ground truth is never used to choose);
* **click+neg**: that click plus one exclude point placed as a user would correct the click's
  answer: at the interior-most pixel of its largest false-positive region (predicted but not
  object); when the click's answer has no false positive of at least 0.5% of the object's
  area, at the interior-most background pixel of the object's box grown by 20%
  (:func:`negative_point`). One output (SAM's convention for several points).

IoU is :func:`samstream.geometry.mask_iou` at full frame resolution; ``ms`` is the wall time of
one ``predict`` call (the frame is encoded once per frame, beforehand; the encode time is
reported separately). Optionally plain OpenCV GrabCut (``cv2.grabCut`` initialised with the
same box, 5 iterations, full resolution) runs beside it, for reference.

Results are typed frozen dataclasses (:class:`PromptSample`, :class:`ClipPromptResult`,
:class:`PromptEvalResult`) with ``to_dict`` for JSON. Times are medians in milliseconds; they are
wall times on whatever machine runs the evaluation (a loaded machine reads slower).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Iterable, Optional

import cv2
import numpy as np

from ..geometry import interior_point, mask_box, mask_iou
from .data import VideoSequence

__all__ = ["PROMPT_KINDS", "TIME_FIELDS", "PromptSample", "ClipPromptResult", "PromptEvalResult", "negative_point",
           "grabcut_box", "sample_positions", "evaluate_prompts"]

#: the prompt kinds scored, in report order (``grabcut`` is the reference method with the box)
PROMPT_KINDS = ("box", "click", "click_neg")
#: the time fields of :class:`PromptSample` (milliseconds; medians in summaries)
TIME_FIELDS = ("box_ms", "click_ms", "neg_ms", "encode_ms", "grabcut_ms", "box_cpu", "click_cpu", "neg_cpu",
               "grabcut_cpu")
#: GrabCut iterations of the reference method (OpenCV's usual example value)
GRABCUT_ITERS = 5


def _nan_mean(values: Iterable[float]) -> float:
    v = [float(x) for x in values if np.isfinite(x)]
    return float(np.mean(v)) if v else float("nan")


def _nan_median(values: Iterable[float]) -> float:
    v = [float(x) for x in values if np.isfinite(x)]
    return float(np.median(v)) if v else float("nan")


def _json(x: float) -> Optional[float]:
    return float(x) if np.isfinite(x) else None


@dataclass(frozen=True)
class PromptSample:
    """One object on one frame: IoU and decode time of each prompt kind.

    Attributes:
        frame: the frame's file stem.
        obj_id: the object id in the ground truth.
        box_iou, click_iou, neg_iou: IoU in ``[0, 1]`` of the box, click and click+neg answers.
        box_ms, click_ms, neg_ms: wall time of each ``predict`` call, milliseconds.
        encode_ms: wall time of encoding the frame, milliseconds (once per frame).
        grabcut_iou, grabcut_ms: the reference GrabCut with the same box (NaN when not run).
        box_cpu, click_cpu, neg_cpu, grabcut_cpu: process CPU time of the same calls,
            milliseconds (all threads; on a loaded machine closer to the unloaded wall time).
    """

    frame: str
    obj_id: int
    box_iou: float
    click_iou: float
    neg_iou: float
    box_ms: float
    click_ms: float
    neg_ms: float
    encode_ms: float
    grabcut_iou: float = float("nan")
    grabcut_ms: float = float("nan")
    box_cpu: float = float("nan")
    click_cpu: float = float("nan")
    neg_cpu: float = float("nan")
    grabcut_cpu: float = float("nan")

    def to_dict(self) -> dict:
        return {k: (_json(v) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class ClipPromptResult:
    """One clip: its samples and their means (IoU) and medians (ms)."""

    name: str
    samples: tuple[PromptSample, ...]

    def mean(self, field: str) -> float:
        """Mean of an IoU field (``"box_iou"``, ...) over the samples (NaN when none)."""
        return _nan_mean(getattr(s, field) for s in self.samples)

    def median(self, field: str) -> float:
        """Median of a time field (``"box_ms"``, ...) over the samples (NaN when none)."""
        return _nan_median(getattr(s, field) for s in self.samples)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "n": len(self.samples),
            **{f: _json(self.mean(f)) for f in ("box_iou", "click_iou", "neg_iou", "grabcut_iou")},
            **{f: _json(self.median(f)) for f in TIME_FIELDS},
            "samples": [s.to_dict() for s in self.samples],
        }


@dataclass(frozen=True)
class PromptEvalResult:
    """Every clip of a prompt evaluation; means are over clips (each clip weighs the same)."""

    method: str
    clips: tuple[ClipPromptResult, ...]

    def mean(self, field: str) -> float:
        """Mean over clips of the clips' mean IoU ``field``."""
        return _nan_mean(c.mean(field) for c in self.clips)

    def median(self, field: str) -> float:
        """Median over *all samples* of the time ``field``, milliseconds."""
        return _nan_median(getattr(s, field) for c in self.clips for s in c.samples)

    def subset(self, names: Iterable[str]) -> "PromptEvalResult":
        """The same result restricted to the clips named ``names`` (in this result's order)."""
        keep = set(names)
        return PromptEvalResult(self.method, tuple(c for c in self.clips if c.name in keep))

    def to_dict(self) -> dict:
        return {
            "method": self.method,
            "protocol": "box = GT bounding box (1 output); click = GT interior point (best-scored of 3); "
                        "click_neg = click + exclude point at the largest false positive (1 output); "
                        "IoU at full resolution; *_ms = median predict() wall time, *_cpu = its process CPU time",
            **{f: _json(self.mean(f)) for f in ("box_iou", "click_iou", "neg_iou", "grabcut_iou")},
            **{f: _json(self.median(f)) for f in TIME_FIELDS},
            "clips": [c.to_dict() for c in self.clips],
        }

    def table(self) -> str:
        """A plain-text table: one row per clip and the mean (IoU; median ms)."""
        has_gc = np.isfinite(self.mean("grabcut_iou"))
        head = (f"{'clip':<14}{'n':>4}{'box':>7}{'ms':>6}{'cpu':>5}{'click':>7}{'ms':>6}{'cpu':>5}"
                f"{'+neg':>7}{'ms':>6}{'cpu':>5}")
        if has_gc:
            head += f"{'grabcut':>9}{'ms':>7}{'cpu':>6}"
        lines = [f"{self.method}: mean IoU per prompt kind; median wall ms and CPU ms per predict()", head]

        def row(name, n, src, med):
            s = (f"{name:<14}{n:>4}{src('box_iou'):>7.3f}{med('box_ms'):>6.0f}{med('box_cpu'):>5.0f}"
                 f"{src('click_iou'):>7.3f}{med('click_ms'):>6.0f}{med('click_cpu'):>5.0f}"
                 f"{src('neg_iou'):>7.3f}{med('neg_ms'):>6.0f}{med('neg_cpu'):>5.0f}")
            if has_gc:
                s += f"{src('grabcut_iou'):>9.3f}{med('grabcut_ms'):>7.0f}{med('grabcut_cpu'):>6.0f}"
            return s

        for c in self.clips:
            lines.append(row(c.name, len(c.samples), c.mean, c.median))
        n = sum(len(c.samples) for c in self.clips)
        lines.append(row("mean", n, self.mean, self.median))
        return "\n".join(lines)


def negative_point(gt: np.ndarray, pred: np.ndarray, min_frac: float = 0.005) -> Optional[np.ndarray]:
    """Where a user would put an exclude click after a click's answer ``pred``: ``(2,)`` float32 ``(x, y)``.

    The interior-most pixel of the largest 8-connected false-positive region (``pred & ~gt``)
    when that region holds at least ``min_frac`` of the object's area; otherwise the
    interior-most background pixel of the object's box grown by 20% per side; ``None`` when the
    object fills that box. ``gt`` and ``pred`` are ``(H, W)`` bool.
    """
    fp = (pred & ~gt).astype(np.uint8)
    n, cc, stats, _ = cv2.connectedComponentsWithStats(fp, connectivity=8)
    if n > 1:
        k = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        if stats[k, cv2.CC_STAT_AREA] >= min_frac * max(1, int(gt.sum())):
            return interior_point(cc == k)
    x0, y0, x1, y1 = (int(v) for v in mask_box(gt))
    h, w = gt.shape
    mx, my = int(0.2 * (x1 - x0)), int(0.2 * (y1 - y0))
    win = np.zeros_like(gt)
    win[max(0, y0 - my):min(h, y1 + my), max(0, x0 - mx):min(w, x1 + mx)] = True
    return interior_point(win & ~gt)


def grabcut_box(img: np.ndarray, box: np.ndarray, iters: int = GRABCUT_ITERS) -> np.ndarray:
    """Plain OpenCV GrabCut initialised with ``box`` (``x1, y1, x2, y2`` pixels) at full resolution: bool ``(H, W)``."""
    x0, y0, x1, y1 = (int(v) for v in box)
    mask = np.zeros(img.shape[:2], np.uint8)
    bgd = np.zeros((1, 65), np.float64)
    fgd = np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(0)
    try:
        cv2.grabCut(img, mask, (x0, y0, max(1, x1 - x0), max(1, y1 - y0)), bgd, fgd, iters, cv2.GC_INIT_WITH_RECT)
    except cv2.error:  # a box covering the whole frame leaves no background sample
        return np.zeros(img.shape[:2], bool)
    return (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)


def sample_positions(seq: VideoSequence, every: int, max_frames: Optional[int]) -> list[int]:
    """Every ``every``-th annotated frame of ``seq`` (from the first), at most ``max_frames`` of them,
    evenly spread over those when capped."""
    if every < 1:
        raise ValueError(f"every must be >= 1 (use 1 for every annotated frame), got {every}.")
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"frames must be >= 1 (or omitted for all sampled frames), got {max_frames}.")
    pos = seq.annotated[::every]
    if max_frames is not None and len(pos) > max_frames:
        idx = np.linspace(0, len(pos) - 1, max_frames).round().astype(int)
        pos = [pos[i] for i in idx]
    return pos


def _timed(fn):
    """``(fn(), wall ms, process CPU ms)``."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, (time.perf_counter() - t0) * 1000.0, (time.process_time() - c0) * 1000.0


def evaluate_prompts(
    predictor,
    sequences: Iterable[VideoSequence],
    every: int = 10,
    max_frames: Optional[int] = None,
    grabcut: bool = True,
    method: Optional[str] = None,
    progress: Optional[Callable[[str], None]] = None,
) -> PromptEvalResult:
    """Score box, click and click+neg prompts of ``predictor`` on sampled frames of ``sequences``.

    Args:
        predictor: a :class:`~samstream.engine.base.Predictor` (``encode`` + ``predict``).
        sequences: DAVIS-layout :class:`VideoSequence` objects (see :func:`.data.load_sequences`).
        every: score every ``every``-th annotated frame (from the first), ``>= 1``.
        max_frames: at most this many frames per clip (``None``: all sampled ones).
        grabcut: also run the plain OpenCV GrabCut reference with the same box (slow: seconds
            per frame at full resolution).
        method: label of the result (default: the predictor's ``name``).
        progress: called with one line per clip (e.g. :func:`samstream.utils.log`).

    Returns:
        a :class:`PromptEvalResult` (per clip and overall; see the module docstring for the protocol).
    """
    seqs = list(sequences)
    positions = [sample_positions(s, every, max_frames) for s in seqs]
    total = sum(len(p) for p in positions)
    try:
        from tqdm import tqdm

        bar = tqdm(total=total, desc="eval-prompts", unit="frame", leave=False, disable=None)
    except ImportError:  # pragma: no cover - tqdm is a core dependency
        bar = None
    clips = []
    for seq, pos in zip(seqs, positions):
        samples = []
        for p in pos:
            img = seq.read_frame(p)
            ids = seq.read_mask(p)
            emb, enc_ms, _ = _timed(lambda: predictor.encode(img, frame_index=p))
            predictor.set_embedding(emb)
            for obj in (int(v) for v in np.unique(ids) if v != 0):
                gt = ids == obj
                box = mask_box(gt).astype(np.float32)
                click = interior_point(gt)
                (m, _, _), box_ms, box_cpu = _timed(lambda: predictor.predict(box=box, multimask_output=False))
                box_iou = mask_iou(m[0] > 0, gt)
                (m, sc, _), click_ms, click_cpu = _timed(lambda: predictor.predict(
                    point_coords=click[None], point_labels=np.array([1]), multimask_output=True))
                click_mask = m[int(np.argmax(sc))] > 0
                click_iou = mask_iou(click_mask, gt)
                neg = negative_point(gt, click_mask)
                if neg is None:
                    neg_iou, neg_ms, neg_cpu = click_iou, float("nan"), float("nan")
                else:
                    (m, _, _), neg_ms, neg_cpu = _timed(lambda: predictor.predict(
                        point_coords=np.stack([click, neg]), point_labels=np.array([1, 0]),
                        multimask_output=False))
                    neg_iou = mask_iou(m[0] > 0, gt)
                gc_iou = gc_ms = gc_cpu = float("nan")
                if grabcut:
                    gm, gc_ms, gc_cpu = _timed(lambda: grabcut_box(img, box))
                    gc_iou = mask_iou(gm, gt)
                samples.append(PromptSample(seq.stems[p], obj, box_iou, click_iou, neg_iou, box_ms, click_ms,
                                            neg_ms, enc_ms, gc_iou, gc_ms, box_cpu, click_cpu, neg_cpu, gc_cpu))
            if bar is not None:
                bar.update(1)
        clip = ClipPromptResult(seq.name, tuple(samples))
        clips.append(clip)
        if progress is not None:
            progress(f"{seq.name}: box {clip.mean('box_iou'):.3f}  click {clip.mean('click_iou'):.3f}  "
                     f"click+neg {clip.mean('neg_iou'):.3f}  ({len(samples)} objects, "
                     f"{clip.median('box_ms'):.0f} ms per box)")
    if bar is not None:
        bar.close()
    return PromptEvalResult(method or getattr(predictor, "name", "predictor"), tuple(clips))
