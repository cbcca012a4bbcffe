"""The oracle-keyframe protocol: what a tracker carries between perfect, late keyframes.

A live samstream pipeline refreshes each object from a SAM decoder at keyframes that a slow,
asynchronous encoder answers a few frames late; between keyframes the tracker carries the masks.
This protocol replaces the decoder with the ground truth, so it measures the tracker alone and
bounds what a user with real SAM weights gets:

* the first annotated frame's ground truth is the (mask) prompt, at relative frame 0;
* every ``K``-th frame after it (relative frames ``K, 2K, ...``) is a keyframe: the tracker's
  :meth:`refresh_masks` receives that frame's ground-truth masks, **delivered ``L`` frames late**
  (just before ``track()`` of relative frame ``k + L``), as the asynchronous encoder does; the
  tracker must move them from frame ``k`` to the current frame itself. An object absent from a
  keyframe's ground truth arrives as an empty mask (the perfect decoder finds nothing);
* scoring is the DAVIS-2016 convention of :func:`~samstream.eval.evaluate`: the first (prompt)
  and the last frame are not scored, J is the IoU, F the boundary measure with
  ``bound_th = 0.008`` of the diagonal; an object reported lost (or not reported) scores as an
  empty mask on those frames (0 where the object is visible), never skipped.

``K = 1, L = 0`` hands the tracker the truth on every frame (J = 1 up to interpolation);
``K = 1, L = 1`` is a one-frame-late truth carried one frame.

All settings of one method run side by side over each sequence (frames decoded once).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional, Protocol, Sequence, Union

import cv2
import numpy as np

from ..types import Frame, Segmentation
from .data import VideoSequence
from .metrics import DEFAULT_BOUND_TH, boundary_f, region_similarity
from .results import EvalResult, ObjectResult, SequenceResult, _json_float
from .runner import DAVIS_FPS, _as_sequences, _pred_mask

__all__ = ["OracleTrackerLike", "OracleRun", "OracleResult", "evaluate_oracle", "oracle_table",
           "render_oracle_chart", "DEFAULT_KEYFRAME_EVERY", "DEFAULT_LATENCY"]

DEFAULT_KEYFRAME_EVERY = (1, 5, 10, 30)
DEFAULT_LATENCY = (0, 3, 10)


class OracleTrackerLike(Protocol):
    """What :func:`evaluate_oracle` needs: mask prompts, ``track`` and late keyframe masks."""

    def add_object(self, obj_id: int, points=None, labels=None, box=None, mask=None) -> Any: ...

    def track(self, frame: Frame) -> Segmentation: ...

    def refresh_masks(self, key_index: int, masks: Mapping[int, np.ndarray]) -> Any: ...


@dataclass(frozen=True)
class OracleRun:
    """One setting: a keyframe every ``keyframe_every`` frames, delivered ``latency`` frames late."""

    keyframe_every: int
    latency: int
    result: EvalResult

    def to_dict(self) -> dict:
        return {"K": self.keyframe_every, "L": self.latency, **self.result.to_dict()}


@dataclass(frozen=True)
class OracleResult:
    """One method under every oracle setting (``runs``, in ``K``-major order)."""

    method: str
    runs: tuple[OracleRun, ...]

    def get(self, keyframe_every: int, latency: int) -> EvalResult:
        for r in self.runs:
            if r.keyframe_every == keyframe_every and r.latency == latency:
                return r.result
        raise KeyError(f"no run with K={keyframe_every}, L={latency}; have "
                       f"{[(r.keyframe_every, r.latency) for r in self.runs]}")

    @property
    def keyframe_every(self) -> list[int]:
        return sorted({r.keyframe_every for r in self.runs})

    @property
    def latency(self) -> list[int]:
        return sorted({r.latency for r in self.runs})

    def to_dict(self) -> dict:
        return {"method": self.method, "protocol": "oracle-keyframes", "runs": [r.to_dict() for r in self.runs]}


def _check_settings(values: Iterable[int], name: str, low: int) -> list[int]:
    out = sorted({int(v) for v in values})
    if not out or out[0] < low:
        raise ValueError(f"{name} must be integers >= {low}, got {list(values)}.")
    return out


def evaluate_oracle(
    tracker_factory: Callable[[], OracleTrackerLike],
    root: Union[str, Path, Iterable[VideoSequence]],
    keyframe_every: Sequence[int] = DEFAULT_KEYFRAME_EVERY,
    latency: Sequence[int] = DEFAULT_LATENCY,
    *,
    sequences: Optional[Iterable[str]] = None,
    max_frames: Optional[int] = None,
    method: Optional[str] = None,
    bound_th: float = DEFAULT_BOUND_TH,
    exclude_last: bool = True,
    progress: Optional[Callable[[str], None]] = None,
) -> OracleResult:
    """Run ``tracker_factory()`` trackers under every ``(K, L)`` setting (see the module docs).

    One fresh tracker per setting and sequence; all settings advance frame by frame together.
    Returns an :class:`OracleResult` whose runs hold an :class:`EvalResult` each (per-sequence,
    per-object and per-frame J and F).
    """
    ks = _check_settings(keyframe_every, "keyframe_every (K)", 1)
    ls = _check_settings(latency, "latency (L)", 0)
    settings = [(k, l) for k in ks for l in ls]
    seqs = _as_sequences(root, sequences, max_frames)
    if not seqs:
        raise ValueError("no sequences to evaluate.")
    if method is None:
        method = getattr(tracker_factory, "__name__", None) or type(tracker_factory).__name__
    per_setting: dict[tuple[int, int], list[SequenceResult]] = {s: [] for s in settings}
    for seq in seqs:
        annotated = seq.annotated
        if not annotated:
            raise ValueError(f"sequence {seq.name} has no ground-truth mask: nothing to prompt with.")
        p0 = annotated[0]
        if len(annotated) != len(seq) - p0 or annotated != list(range(p0, len(seq))):
            raise ValueError(f"sequence {seq.name}: the oracle protocol needs a ground-truth mask on every "
                             "frame from the first annotated one (the keyframes are ground truth).")
        gt0 = seq.read_mask(p0)
        obj_ids = [int(v) for v in np.unique(gt0) if v != 0]
        if not obj_ids:
            raise ValueError(f"the first annotated frame of {seq.name} has no object to prompt with.")
        n = len(seq) - p0
        scored = list(range(1, n - 1 if exclude_last else n))
        trackers = {}
        init_s = {}
        for s in settings:
            t0 = time.perf_counter()
            tr = tracker_factory()
            for oid in obj_ids:
                tr.add_object(oid, mask=gt0 == oid)
            trackers[s] = tr
            init_s[s] = time.perf_counter() - t0
        js = {s: {o: [] for o in obj_ids} for s in settings}
        fs = {s: {o: [] for o in obj_ids} for s in settings}
        track_s = {s: 0.0 for s in settings}
        labels: dict[int, np.ndarray] = {}
        keep = max(ls) + 1
        for i in range(n):
            pos = p0 + i
            image = seq.read_frame(pos)
            gt = gt0 if i == 0 else seq.read_mask(pos)
            labels[i] = gt
            labels.pop(i - keep, None)
            frame = Frame(image, index=i, timestamp=i / DAVIS_FPS, source=str(seq.frame_paths[pos]))
            shape = image.shape[:2]
            for (k, l), tr in trackers.items():
                key = i - l
                t0 = time.perf_counter()
                if key > 0 and key % k == 0:
                    lab = labels[key]
                    tr.refresh_masks(key, {oid: lab == oid for oid in obj_ids})
                seg = tr.track(frame)
                track_s[(k, l)] += time.perf_counter() - t0
                if i in scored:
                    where = f"{seq.name}/{seq.stems[pos]}"
                    for oid in obj_ids:
                        pred = _pred_mask(seg, oid, shape, where)
                        g = gt == oid
                        js[(k, l)][oid].append(region_similarity(pred, g))
                        fs[(k, l)][oid].append(boundary_f(pred, g, bound_th))
        for s in settings:
            close = getattr(trackers[s], "close", None)
            if callable(close):
                close()
            res = SequenceResult(name=seq.name, prompt_stem=seq.stems[p0],
                                 scored_stems=[seq.stems[p0 + i] for i in scored],
                                 objects=[ObjectResult(o, js[s][o], fs[s][o]) for o in obj_ids],
                                 n_tracked=n, track_seconds=track_s[s], init_seconds=init_s[s])
            per_setting[s].append(res)
        if progress is not None:
            line = "  ".join(f"K{k}L{l}={_seq_j(per_setting[(k, l)][-1]):.3f}" for k, l in settings)
            progress(f"{method} {seq.name}: {line}")
    runs = tuple(OracleRun(k, l, EvalResult(f"{method} K={k} L={l}", "mask", per_setting[(k, l)],
                                            bound_th=bound_th, exclude_last=exclude_last))
                 for k, l in settings)
    return OracleResult(method, runs)


def _seq_j(s: SequenceResult) -> float:
    return s.J


def oracle_table(results: Sequence[OracleResult], markdown: bool = True) -> str:
    """A table of mean J / F per ``(K, L)``: one row per setting, one ``J  F`` pair per method."""
    if not results:
        raise ValueError("oracle_table needs at least one OracleResult.")
    settings = [(r.keyframe_every, r.latency) for r in results[0].runs]
    head = ["K", "L"] + [f"{r.method} {m}" for r in results for m in ("J", "F")]
    rows = []
    for k, l in settings:
        row = [str(k), str(l)]
        for r in results:
            e = r.get(k, l)
            row += [f"{e.J:.3f}", f"{e.F:.3f}"]
        rows.append(row)
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---:" for _ in head) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(h), *(len(r[c]) for r in rows)) for c, h in enumerate(head)]
    fmt = "  ".join(f"{{:>{w}}}" for w in widths)
    return "\n".join([fmt.format(*head)] + [fmt.format(*r) for r in rows])


_COLOURS = [(180, 119, 31), (14, 127, 255), (44, 160, 44), (40, 39, 214), (189, 103, 148), (75, 86, 140)]


def render_oracle_chart(results: Sequence[OracleResult], path: Union[str, Path], *, title: Optional[str] = None,
                        size: tuple[int, int] = (760, 460)) -> Path:
    """Save a line chart of mean J against ``K`` (log axis) as a PNG: one colour per method,
    one line style per latency ``L`` (solid ``L = min``, then dashed, dotted). Returns the path."""
    from .render import _text, _write_png

    if not results:
        raise ValueError("render_oracle_chart needs at least one OracleResult.")
    width, height = size
    ks = results[0].keyframe_every
    ls = results[0].latency
    left, right, top, bottom = 60, 230, 40, 50
    img = np.full((height, width, 3), 255, np.uint8)
    pw, ph = width - left - right, height - top - bottom
    lo, hi = np.log(min(ks)), np.log(max(ks)) if max(ks) > min(ks) else np.log(min(ks)) + 1
    x_of = lambda k: int(round(left + pw * (np.log(k) - lo) / (hi - lo)))  # noqa: E731
    js = [r.get(k, l).J for r in results for k in ks for l in ls]
    jmin = max(0.0, np.floor(min(js) * 10) / 10 - 0.1)
    y_of = lambda v: int(round(top + ph * (1.0 - (v - jmin) / (1.0 - jmin))))  # noqa: E731
    _text(img, title or "oracle keyframes: mean J vs keyframe interval K (L = delivery delay, frames)",
          (left, 24), 0.5)
    for t in np.arange(jmin, 1.0001, 0.1):
        y = y_of(t)
        cv2.line(img, (left, y), (left + pw, y), (225, 225, 225), 1)
        _text(img, f"{t:.1f}", (left - 6, y + 4), 0.4, anchor="right")
    for k in ks:
        x = x_of(k)
        cv2.line(img, (x, top), (x, top + ph), (235, 235, 235), 1)
        _text(img, str(k), (x, top + ph + 18), 0.45, anchor="center")
    _text(img, "K (frames between keyframes, log scale)", (left + pw // 2, height - 12), 0.45, anchor="center")
    cv2.rectangle(img, (left, top), (left + pw, top + ph), (90, 90, 90), 1)
    styles = [0, 8, 3]
    ly = top + 6
    for m, r in enumerate(results):
        c = _COLOURS[m % len(_COLOURS)]
        for si, l in enumerate(ls):
            pts = [(x_of(k), y_of(r.get(k, l).J)) for k in ks]
            dash = styles[si % len(styles)]
            for a, b in zip(pts, pts[1:]):
                _dashed(img, a, b, c, dash)
            for p in pts:
                cv2.circle(img, p, 3, c, -1, cv2.LINE_AA)
            lx = left + pw + 14
            _dashed(img, (lx, ly + 6), (lx + 28, ly + 6), c, dash)
            _text(img, f"{r.method[:22]} L={l}", (lx + 34, ly + 10), 0.38)
            ly += 18
    return _write_png(path, img)


def _dashed(img, a, b, colour, dash: int) -> None:
    if dash == 0:
        cv2.line(img, a, b, colour, 2, cv2.LINE_AA)
        return
    a, b = np.array(a, float), np.array(b, float)
    n = max(1, int(np.linalg.norm(b - a) // dash))
    for s in range(0, n, 2):
        p = a + (b - a) * s / n
        q = a + (b - a) * min(n, s + 1) / n
        cv2.line(img, tuple(int(v) for v in p), tuple(int(v) for v in q), colour, 2, cv2.LINE_AA)


def oracle_json(results: Sequence[OracleResult]) -> dict:
    """Everything for ``--json``: per method, per setting, per sequence, per object, per frame."""
    summary = [{"method": r.method, "K": run.keyframe_every, "L": run.latency, "J": _json_float(run.result.J),
                "F": _json_float(run.result.F)} for r in results for run in r.runs]
    return {"protocol": {"name": "oracle-keyframes", "doc": __doc__.split("\n\n")[1].strip()},
            "summary": summary, "results": [r.to_dict() for r in results]}
