"""Pictures of an evaluation (OpenCV drawing only): per-sequence J/F bar chart, overlay strip."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Mapping, Optional, Union

import cv2
import numpy as np

from ..types import Segmentation
from .data import VideoSequence
from .metrics import region_similarity
from .results import EvalResult, SequenceResult
from .runner import _pred_mask

__all__ = ["render_chart", "render_overlay_strip"]

_FONT = cv2.FONT_HERSHEY_SIMPLEX
# BGR base colours per method (J bar solid, F bar lighter).
_METHOD_COLOURS = [(180, 119, 31), (14, 127, 255), (44, 160, 44), (40, 39, 214), (189, 103, 148), (75, 86, 140)]


def _ascii(text: str) -> str:
    return text.encode("ascii", "replace").decode("ascii")


def _text(img, text, org, scale=0.45, colour=(30, 30, 30), thickness=1, anchor="left") -> None:
    text = _ascii(text)
    (tw, th), _ = cv2.getTextSize(text, _FONT, scale, thickness)
    x, y = org
    if anchor == "center":
        x -= tw // 2
    elif anchor == "right":
        x -= tw
    cv2.putText(img, text, (int(x), int(y)), _FONT, scale, colour, thickness, cv2.LINE_AA)


def _lighter(c: tuple[int, int, int], f: float = 0.55) -> tuple[int, int, int]:
    return tuple(int(round(v + (255 - v) * f)) for v in c)


def _write_png(path: Union[str, Path], img: np.ndarray) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), img):
        raise ValueError(f"could not write {path}: give a path ending in .png (or .jpg).")
    return path


def render_chart(
    results: Union[EvalResult, Iterable[EvalResult]],
    path: Union[str, Path],
    *,
    title: Optional[str] = None,
    height: int = 440,
) -> Path:
    """Save a grouped bar chart of per-sequence J and F (plus the mean) as a PNG.

    ``results`` is one :class:`EvalResult` or several (e.g. ``classic`` and the flow-warp
    baseline); each method gets a colour, its J bar solid and its F bar lighter. Sequences
    are those of the first result, then any others. Returns the path.
    """
    runs = [results] if isinstance(results, EvalResult) else list(results)
    if not runs:
        raise ValueError("render_chart needs at least one EvalResult.")
    names: list[str] = []
    for r in runs:
        for s in r.sequences:
            if s.name not in names:
                names.append(s.name)
    groups = names + ["mean"]

    def value(run: EvalResult, group: str, which: str) -> float:
        if group == "mean":
            return getattr(run, which)
        for s in run.sequences:
            if s.name == group:
                return getattr(s, which)
        return float("nan")

    bar_w = 16
    left, right, top, bottom = 56, 20, 52 + 18 * len(runs), 56
    # groups fill at least a 640 px wide chart; bars stay 16 px, the gaps grow
    group_w = max(2 * bar_w * len(runs) + 28, (640 - left - right) // len(groups))
    gap = group_w - 2 * bar_w * len(runs)
    width = left + right + group_w * len(groups)
    img = np.full((height, width, 3), 255, np.uint8)
    plot_h = height - top - bottom
    y_of = lambda v: int(round(top + plot_h * (1.0 - min(max(v, 0.0), 1.0))))  # noqa: E731

    _text(img, title or f"J (region) and F (boundary), prompt: {runs[0].prompt_mode}", (left, 24), 0.6, thickness=1)
    # legend
    for k, r in enumerate(runs):
        c = _METHOD_COLOURS[k % len(_METHOD_COLOURS)]
        lx, ly = left, 36 + 18 * k
        cv2.rectangle(img, (lx, ly), (lx + 12, ly + 12), c, -1)
        cv2.rectangle(img, (lx + 14, ly), (lx + 26, ly + 12), _lighter(c), -1)
        _text(img, f"{r.method}: J / F  (mean J={r.J:.3f} F={r.F:.3f})", (lx + 32, ly + 11), 0.4)
    # axes and grid
    for t in range(0, 11, 2):
        v = t / 10
        y = y_of(v)
        cv2.line(img, (left, y), (width - right, y), (225, 225, 225) if t else (90, 90, 90), 1)
        _text(img, f"{v:.1f}", (left - 6, y + 4), 0.4, anchor="right")
    cv2.line(img, (left, top), (left, top + plot_h), (90, 90, 90), 1)
    # bars
    for g, group in enumerate(groups):
        gx = left + gap // 2 + g * group_w
        for k, r in enumerate(runs):
            c = _METHOD_COLOURS[k % len(_METHOD_COLOURS)]
            for j, (which, colour) in enumerate((("J", c), ("F", _lighter(c)))):
                v = value(r, group, which)
                x0 = gx + (2 * k + j) * bar_w
                if not np.isfinite(v):
                    _text(img, "n/a", (x0 + bar_w // 2, y_of(0) - 4), 0.3, anchor="center")
                    continue
                cv2.rectangle(img, (x0, y_of(v)), (x0 + bar_w - 2, y_of(0)), colour, -1)
                cv2.rectangle(img, (x0, y_of(v)), (x0 + bar_w - 2, y_of(0)), c, 1)
                if bar_w >= 14:
                    _text(img, f"{v:.2f}"[1:] if v < 1 else "1.0", (x0 + bar_w // 2 - 1, y_of(v) - 3), 0.28, anchor="center")
        label = group if len(group) <= 14 else group[:13] + "."
        _text(img, label, (gx + (group_w - gap) // 2, top + plot_h + 18), 0.42, anchor="center",
              thickness=2 if group == "mean" else 1)
    _text(img, f"bars: J then F per method; F tolerance {runs[0].bound_th} x diagonal; prompt frame not scored",
          (left, height - 14), 0.38, colour=(110, 110, 110))
    return _write_png(path, img)


def render_overlay_strip(
    sequence: VideoSequence,
    predictions: Union[SequenceResult, Mapping[int, Union[np.ndarray, Segmentation]]],
    path: Union[str, Path],
    *,
    positions: Optional[Iterable[int]] = None,
    max_frames: int = 5,
    thumb_width: int = 320,
    gt_colour: tuple[int, int, int] = (0, 220, 0),
    pred_colour: tuple[int, int, int] = (0, 0, 255),
) -> Path:
    """Save a row of frames with ground-truth (green) and predicted (red) outlines as a PNG.

    ``predictions`` maps frame positions (indices into ``sequence``) to a predicted ``(H, W)``
    label map (0 = background, value = object id) or a :class:`Segmentation`; a
    :class:`SequenceResult` from :func:`evaluate` may be passed directly (its ``samples``).
    Each tile is captioned with the frame stem and the mean J over the objects there.
    """
    preds = predictions.samples if isinstance(predictions, SequenceResult) else predictions
    if positions is None:
        keys = sorted(preds)
        if len(keys) > max_frames:
            keys = [keys[int(round(i))] for i in np.linspace(0, len(keys) - 1, max_frames)]
    else:
        keys = list(positions)
    if not keys:
        raise ValueError("no predicted frames to draw: pass predictions for at least one frame position.")
    tiles = []
    for pos in keys:
        if pos not in preds:
            raise ValueError(f"no prediction for frame position {pos}; have {sorted(preds)}.")
        img = sequence.read_frame(pos)
        h, w = img.shape[:2]
        p = preds[pos]
        if isinstance(p, Segmentation):
            lab = np.zeros((h, w), np.uint8)
            for oid in p.object_ids.tolist():
                lab[_pred_mask(p, oid, (h, w), sequence.name)] = oid
        else:
            lab = np.asarray(p)
            if lab.dtype == bool:
                lab = lab.astype(np.uint8)
        if lab.shape != (h, w):
            raise ValueError(f"prediction for position {pos} is {lab.shape[::-1]} but the frame is {(w, h)}.")
        gt = sequence.read_mask(pos)
        scale = thumb_width / float(w)
        thick = max(2, int(round(2.0 / scale)))
        ids = set(np.unique(lab).tolist()) | (set(np.unique(gt).tolist()) if gt is not None else set())
        ids.discard(0)
        js = []
        for oid in sorted(ids):
            for m, colour in (((gt == oid) if gt is not None else None, gt_colour), (lab == oid, pred_colour)):
                if m is None or not m.any():
                    continue
                cs, _ = cv2.findContours(m.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
                cv2.drawContours(img, cs, -1, colour, thick, cv2.LINE_AA)
            if gt is not None:
                js.append(region_similarity(lab == oid, gt == oid))
        tile = cv2.resize(img, (thumb_width, max(1, int(round(h * scale)))), interpolation=cv2.INTER_AREA)
        band = np.full((22, thumb_width, 3), 0, np.uint8)
        cap = sequence.stems[pos] + (f"  J={np.mean(js):.3f}" if js else "  (no GT)")
        if isinstance(predictions, SequenceResult) and sequence.stems[pos] == predictions.prompt_stem:
            cap += "  (prompt)"
        _text(band, cap, (6, 16), 0.45, colour=(255, 255, 255))
        tiles.append(np.vstack([band, tile]))
    hmax = max(t.shape[0] for t in tiles)
    tiles = [np.vstack([t, np.zeros((hmax - t.shape[0], t.shape[1], 3), np.uint8)]) for t in tiles]
    sep = np.full((hmax, 4, 3), 255, np.uint8)
    row = tiles[0]
    for t in tiles[1:]:
        row = np.hstack([row, sep, t])
    footer = np.full((24, row.shape[1], 3), 255, np.uint8)
    legend = f"{sequence.name}:  ground truth = "
    _text(footer, legend, (6, 17), 0.45)
    x = 6 + cv2.getTextSize(_ascii(legend), _FONT, 0.45, 1)[0][0]
    cv2.line(footer, (x + 2, 12), (x + 30, 12), gt_colour, 3)
    _text(footer, ",  prediction = ", (x + 34, 17), 0.45)
    x += 34 + cv2.getTextSize(",  prediction = ", _FONT, 0.45, 1)[0][0]
    cv2.line(footer, (x + 2, 12), (x + 30, 12), pred_colour, 3)
    return _write_png(path, np.vstack([row, footer]))
