"""The semi-supervised protocol: prompts from the first frame's ground truth, then :func:`evaluate`.

:func:`evaluate` runs any :class:`TrackerLike` (``add_object(obj_id, points=None, labels=None,
box=None, mask=None)`` and ``track(frame) -> Segmentation``) on every sequence: the first
annotated frame's ground truth becomes the prompt (``"mask"``, ``"box"`` or ``"point"``), then
every frame is passed to ``track()`` in order (the prompt frame included) and the result is
scored against the ground truth.

Protocol (the DAVIS-2016 convention, the default): the prompt frame is **not** scored (it was
given to the tracker) and neither is the sequence's last frame (DAVIS-2016's
``db_eval_sequence`` scores ``X[1:-1]``, the DAVIS-2017 toolkit also drops it); every other
annotated frame is. ``exclude_last=False`` scores the last frame too. F uses the official
boundary tolerance (``bound_th = 0.008`` of the image diagonal, as ``db_eval_boundary``). A
lost or unreported object is scored as an empty mask (J = F = 0 where it is visible), never
skipped. A sequence's J (F) is the mean over its
objects of each object's mean over the scored frames. :attr:`EvalResult.J` is the mean over
sequences; :attr:`EvalResult.J_objects` is the mean over all objects of all sequences (the
DAVIS-2017 "global" number). For single-object data (DAVIS-2016) both are the same.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Protocol, Union

import numpy as np

from .. import geometry
from ..types import Frame, Segmentation
from .data import VideoSequence, load_sequences
from .metrics import DEFAULT_BOUND_TH, _as_bool, boundary_f, region_similarity
from .results import EvalResult, ObjectResult, SequenceResult

__all__ = ["TrackerLike", "evaluate", "mask_to_box", "interior_point", "prompt_from_mask", "PROMPT_MODES"]

PROMPT_MODES = ("mask", "box", "point")
DAVIS_FPS = 24.0  # DAVIS videos are 24 fps; used only for the Frame timestamps we make up.

def mask_to_box(mask: object) -> np.ndarray:
    """``(4,)`` float32 ``x1, y1, x2, y2`` (pixels) around a non-empty ``(H, W)`` mask; ``x2``/``y2``
    exclusive (``x2 = last column + 1``), the convention of :meth:`Segmentation.boxes`.

    Raises ``ValueError`` for an empty mask (there is no box to prompt with)."""
    box = geometry.mask_box(_as_bool(mask, "mask"))
    if box is None:
        raise ValueError("cannot make a box from an empty mask: prompt only objects present in the frame.")
    return box


def interior_point(mask: object) -> np.ndarray:
    """``(2,)`` float32 ``(x, y)`` pixels (column, row): the mask pixel farthest from its edge.

    :func:`samstream.geometry.interior_point` at full resolution (the image border counts as an
    edge; ties go to the first pixel in row-major order). Raises ``ValueError`` for an empty mask.
    """
    point = geometry.interior_point(_as_bool(mask, "mask"))
    if point is None:
        raise ValueError("cannot pick a point in an empty mask: prompt only objects present in the frame.")
    return point


def prompt_from_mask(mask: object, mode: str) -> dict[str, Any]:
    """Keyword arguments for ``tracker.add_object`` derived from a ground-truth object mask.

    ``"mask"``: the mask itself; ``"box"``: :func:`mask_to_box`; ``"point"``: one positive
    point at :func:`interior_point`.
    """
    m = _as_bool(mask, "mask")
    if mode == "mask":
        return {"mask": m.copy()}
    if mode == "box":
        return {"box": mask_to_box(m)}
    if mode == "point":
        return {"points": interior_point(m)[None], "labels": np.ones(1, dtype=np.int32)}
    raise ValueError(f"prompt_mode must be one of {PROMPT_MODES}, got {mode!r}.")


class TrackerLike(Protocol):
    """What :func:`evaluate` needs from a tracker (one instance per sequence)."""

    def add_object(self, obj_id: int, points=None, labels=None, box=None, mask=None) -> Any: ...

    def track(self, frame: Frame) -> Segmentation: ...


def _pred_mask(seg: Segmentation, obj_id: int, shape: tuple[int, int], where: str) -> np.ndarray:
    idx = np.flatnonzero(seg.object_ids == obj_id)
    if idx.size == 0:
        return np.zeros(shape, dtype=bool)  # object not reported: counts as an empty mask
    i = int(idx[0])
    m = seg.masks[i]
    if m.shape != shape:
        raise ValueError(
            f"{where}: the tracker returned a {m.shape[1]}x{m.shape[0]} mask for object {obj_id} "
            f"but the frame is {shape[1]}x{shape[0]}: masks must be in the frame's pixels."
        )
    if seg.lost is not None and bool(seg.lost[i]):
        return np.zeros(shape, dtype=bool)
    return m


def _sample_positions(first: int, last: int, n: int) -> set[int]:
    if n <= 0:
        return set()
    return {int(round(v)) for v in np.linspace(first, last, num=min(n, last - first + 1))}


def _as_sequences(root: Union[str, Path, Iterable[VideoSequence]], names, max_frames) -> list[VideoSequence]:
    if isinstance(root, (str, Path)):
        return load_sequences(root, names=names, max_frames=max_frames)
    seqs = list(root)
    if not all(isinstance(s, VideoSequence) for s in seqs):
        raise ValueError("root must be a data folder or a list of VideoSequence (from load_sequences).")
    if names is not None:
        names = list(names)
        seqs = [s for s in seqs if s.name in names]
    if max_frames is not None:
        seqs = [s.head(max_frames) for s in seqs]
    return seqs


def evaluate(
    tracker_factory: Callable[[], TrackerLike],
    root: Union[str, Path, Iterable[VideoSequence]],
    prompt_mode: str = "mask",
    *,
    sequences: Optional[Iterable[str]] = None,
    max_frames: Optional[int] = None,
    method: Optional[str] = None,
    bound_th: float = DEFAULT_BOUND_TH,
    exclude_last: bool = True,
    sample_frames: int = 5,
    progress: Optional[Callable[[str], None]] = None,
) -> EvalResult:
    """Run a semi-supervised tracker on every sequence and score it with J and F.

    For each sequence a fresh ``tracker_factory()`` is made. The first annotated frame is the
    prompt frame: each object id in its ground truth is given to ``add_object`` as a
    ``prompt_mode`` prompt (see :func:`prompt_from_mask`). Then every frame from the prompt
    frame on is passed to ``track()`` in order, as a :class:`Frame` with ``index`` counting
    from 0 at the prompt frame and ``timestamp = index / 24``. Only ``track()`` is timed (frame
    decoding and scoring are not); ``add_object`` time is reported as ``init_seconds``.

    Scored frames: every annotated frame after the prompt frame except, with ``exclude_last``
    (the default, DAVIS-2016 convention), the sequence's last frame. An object the
    tracker does not report, or reports as lost, counts as an empty mask.

    ``root`` is a data folder (see :func:`load_sequences`) or a list of :class:`VideoSequence`;
    ``sequences`` keeps only those names; ``max_frames`` keeps the first frames of each;
    ``sample_frames`` predicted label maps per sequence are kept for
    :func:`render_overlay_strip`; ``progress`` receives one line per sequence.
    """
    if prompt_mode not in PROMPT_MODES:
        raise ValueError(f"prompt_mode must be one of {PROMPT_MODES}, got {prompt_mode!r}.")
    seqs = _as_sequences(root, sequences, max_frames)
    if not seqs:
        raise ValueError("no sequences to evaluate.")
    if method is None:
        method = getattr(tracker_factory, "__name__", None) or type(tracker_factory).__name__
    results: list[SequenceResult] = []
    for seq in seqs:
        annotated = seq.annotated
        if not annotated:
            raise ValueError(f"sequence {seq.name} has no ground-truth mask: nothing to prompt with.")
        p0 = annotated[0]
        gt0 = seq.read_mask(p0)
        obj_ids = [int(v) for v in np.unique(gt0) if v != 0]
        if not obj_ids:
            raise ValueError(
                f"the first annotated frame of {seq.name} ({seq.stems[p0]}) has no object: "
                "the semi-supervised protocol needs the objects in the prompt frame."
            )
        scored = [p for p in annotated if p > p0]
        if exclude_last and scored and scored[-1] == len(seq) - 1:
            scored = scored[:-1]
        scored_set = set(scored)
        samples_at = _sample_positions(p0, len(seq) - 1, sample_frames)

        tracker = tracker_factory()
        t0 = time.perf_counter()
        for oid in obj_ids:
            tracker.add_object(oid, **prompt_from_mask(gt0 == oid, prompt_mode))
        init_s = time.perf_counter() - t0

        per_j: dict[int, list[float]] = {o: [] for o in obj_ids}
        per_f: dict[int, list[float]] = {o: [] for o in obj_ids}
        samples: dict[int, np.ndarray] = {}
        track_s = 0.0
        for pos in range(p0, len(seq)):
            image = seq.read_frame(pos)
            frame = Frame(image, index=pos - p0, timestamp=(pos - p0) / DAVIS_FPS, source=str(seq.frame_paths[pos]))
            t0 = time.perf_counter()
            seg = tracker.track(frame)
            track_s += time.perf_counter() - t0
            if not isinstance(seg, Segmentation):
                raise TypeError(f"track() must return a samstream.types.Segmentation, got {type(seg).__name__}.")
            if pos not in scored_set and pos not in samples_at:
                continue
            shape = image.shape[:2]
            where = f"{seq.name}/{seq.stems[pos]}"
            preds = {oid: _pred_mask(seg, oid, shape, where) for oid in obj_ids}
            if pos in scored_set:
                gt = seq.read_mask(pos)
                if gt.shape != shape:
                    raise ValueError(f"{where}: mask is {gt.shape[::-1]} but the frame is {shape[::-1]}.")
                for oid in obj_ids:
                    g = gt == oid
                    per_j[oid].append(region_similarity(preds[oid], g))
                    per_f[oid].append(boundary_f(preds[oid], g, bound_th))
            if pos in samples_at:
                lab = np.zeros(shape, dtype=np.uint8)
                for oid in obj_ids:
                    lab[preds[oid]] = oid
                samples[pos] = lab
        res = SequenceResult(
            name=seq.name,
            prompt_stem=seq.stems[p0],
            scored_stems=[seq.stems[p] for p in scored],
            objects=[ObjectResult(o, per_j[o], per_f[o]) for o in obj_ids],
            n_tracked=len(seq) - p0,
            track_seconds=track_s,
            init_seconds=init_s,
            samples=samples,
        )
        results.append(res)
        if progress is not None:
            progress(f"{seq.name}: J={res.J:.3f} F={res.F:.3f} fps={res.fps:.1f} ({res.n_tracked} frames)")
    return EvalResult(method, prompt_mode, results, bound_th=bound_th, exclude_last=exclude_last)
