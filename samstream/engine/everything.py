"""Automatic mask generation ("segment everything") over any :class:`~samstream.engine.base.Predictor`.

The idea follows segment-anything's ``SamAutomaticMaskGenerator`` (single crop), written
here with numpy + OpenCV only:

1. prompt the predictor with a regular ``points_per_side x points_per_side`` grid of single
   include-points (original-frame pixels), ``points_per_batch`` prompts per decoder call,
   asking for ``multimask_output`` candidates and **logits** (``return_logits=True``);
2. per batch, drop candidates whose predicted IoU is at or below ``pred_iou_thresh`` (free: it
   needs only the scores), then compute the *stability score* of the rest -- the IoU of the
   mask thresholded at ``mask_threshold + offset`` and at ``mask_threshold - offset`` -- and
   drop those below ``stability_score_thresh``;
3. threshold the survivors, take their tight boxes, run a greedy box NMS inside the batch and
   keep each survivor only as a **bool crop of its box** (memory stays bounded: the full-size
   logits of one batch at a time -- at most ``max_batch_bytes`` -- plus small crops);
4. after the last batch, a global box NMS (greedy by predicted IoU), then on the NMS
   survivors only: fill holes and remove islands smaller than ``min_mask_region_area`` pixels,
   drop masks left empty, re-run NMS when a box changed, keep the ``max_masks`` best by
   predicted IoU, and sort (``sort_by``: area descending by default, or predicted IoU).

Differences from segment-anything, on purpose: no multi-crop layers; a mask made only of small
islands is dropped (segment-anything keeps its largest island); and background regions that
touch the box of the mask from outside are never treated as holes. NMS runs inside each batch
and then over all batches, which differs from one global pass only in rare suppression chains
(A drops B, B would have dropped C) that straddle batches.

Typical use::

    gen = MaskGenerator(predictor, EverythingConfig(points_per_side=16))
    records = gen.generate(frame_bgr)            # list[MaskRecord], largest first
    seg = gen.generate_segmentation(frame)       # typed Segmentation, ids 1..N
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import cv2
import numpy as np

from ..types import Frame, Segmentation, as_image, stack_masks

__all__ = [
    "EverythingConfig",
    "MaskRecord",
    "MaskGenerator",
    "build_point_grid",
    "box_iou",
    "box_nms",
    "remove_small_regions",
    "stability_score",
]

_SORT_KEYS = ("area", "score")


@dataclass
class EverythingConfig:
    """Settings of :class:`MaskGenerator` (defaults sized for a CPU).

    Attributes:
        points_per_side: the prompt grid is ``points_per_side ** 2`` single points over the
            frame (16 -> 256 prompts). Cost grows with its square.
        points_per_batch: prompts per ``predict_batch`` call (upper bound, see ``max_batch_bytes``).
        max_batch_bytes: cap on the full-size float32 logits one batch returns,
            ``batch * C * H * W * 4`` bytes (``C`` = 3 with multimask); the batch shrinks (to 1 at
            least) on large frames. Default 256 MiB: 64 prompts at 640x480, 10 at 1920x1080.
        pred_iou_thresh: keep candidates whose predicted IoU is **above** this, in ``[0, 1]``.
        stability_score_thresh: keep candidates whose stability score is **at least** this,
            in ``[0, 1]``.
        stability_score_offset: logit offset ``>= 0`` for the stability score (the IoU of the
            masks thresholded at ``mask_threshold +/- offset``).
        mask_threshold: logit threshold that makes a mask (0.0 for SAM-family decoders).
        box_nms_thresh: box IoU in ``(0, 1]`` above which the lower-scoring mask is a duplicate
            (``1.0`` disables NMS).
        min_mask_region_area: pixels; holes and disconnected islands smaller than this are
            filled / removed, and masks left empty are dropped. ``None`` = 0.1 % of the frame
            area (rounded), ``0`` disables the clean-up.
        max_masks: at most this many masks (the best by predicted IoU), ``1..255`` so that
            every mask can take an object id in a ``uint8`` label map.
        multimask_output: ask for 3 candidates per point (recommended for single clicks).
        sort_by: order of the result: ``"area"`` (largest first) or ``"score"`` (highest
            predicted IoU first). Ties keep the grid order.
    """

    points_per_side: int = 16
    points_per_batch: int = 64
    max_batch_bytes: int = 256 * 2**20
    pred_iou_thresh: float = 0.80
    stability_score_thresh: float = 0.85
    stability_score_offset: float = 1.0
    mask_threshold: float = 0.0
    box_nms_thresh: float = 0.7
    min_mask_region_area: Optional[int] = None
    max_masks: int = 64
    multimask_output: bool = True
    sort_by: str = "area"

    def __post_init__(self) -> None:
        self.points_per_side = _positive_int(self.points_per_side, "points_per_side", "e.g. 16 (256 prompts)")
        self.points_per_batch = _positive_int(self.points_per_batch, "points_per_batch", "e.g. 64")
        self.max_batch_bytes = _positive_int(self.max_batch_bytes, "max_batch_bytes", "e.g. 256 * 2**20")
        self.pred_iou_thresh = _unit(self.pred_iou_thresh, "pred_iou_thresh", "e.g. 0.80")
        self.stability_score_thresh = _unit(
            self.stability_score_thresh, "stability_score_thresh", "e.g. 0.85"
        )
        off = _finite(self.stability_score_offset, "stability_score_offset")
        if off < 0:
            raise ValueError(
                f"stability_score_offset must be >= 0 (a logit margin), got {off}: use e.g. 1.0."
            )
        self.stability_score_offset = off
        self.mask_threshold = _finite(self.mask_threshold, "mask_threshold")
        nms = _finite(self.box_nms_thresh, "box_nms_thresh")
        if not 0.0 < nms <= 1.0:
            raise ValueError(
                f"box_nms_thresh must be in (0, 1], got {nms}: use e.g. 0.7 (1.0 disables NMS)."
            )
        self.box_nms_thresh = nms
        if self.min_mask_region_area is not None:
            a = self.min_mask_region_area
            if isinstance(a, bool) or not isinstance(a, (int, np.integer)) or a < 0:
                raise ValueError(
                    f"min_mask_region_area must be a pixel count >= 0 (0 disables the clean-up) "
                    f"or None for 0.1 % of the frame, got {a!r}."
                )
            self.min_mask_region_area = int(a)
        m = self.max_masks
        if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or not 1 <= m <= 255:
            raise ValueError(
                f"max_masks must be an integer in 1..255 (each mask needs a uint8 object id), got {m!r}."
            )
        self.max_masks = int(m)
        if not isinstance(self.multimask_output, (bool, np.bool_)):
            raise ValueError(f"multimask_output must be True or False, got {self.multimask_output!r}.")
        self.multimask_output = bool(self.multimask_output)
        if self.sort_by not in _SORT_KEYS:
            raise ValueError(f"sort_by must be one of {_SORT_KEYS}, got {self.sort_by!r}.")

    def min_area_for(self, height: int, width: int) -> int:
        """The clean-up area in pixels for a ``height`` x ``width`` frame."""
        if self.min_mask_region_area is not None:
            return self.min_mask_region_area
        return int(round(0.001 * height * width))

    def batch_for(self, height: int, width: int) -> int:
        """Prompts per decoder call for a ``height`` x ``width`` frame (``max_batch_bytes`` applied)."""
        per_prompt = (3 if self.multimask_output else 1) * height * width * 4
        return max(1, min(self.points_per_batch, self.max_batch_bytes // per_prompt))


def _positive_int(v: Any, name: str, hint: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {v!r}: use {hint}.")
    return int(v)


def _finite(v: Any, name: str) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {v!r}.") from None
    if not np.isfinite(f):
        raise ValueError(f"{name} must be finite, got {v!r}.")
    return f


def _unit(v: Any, name: str, hint: str) -> float:
    f = _finite(v, name)
    if not 0.0 <= f <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {f}: use {hint}.")
    return f


@dataclass
class MaskRecord:
    """One automatically found mask.

    Attributes:
        segmentation: ``(H, W)`` bool mask in the original frame.
        area: number of ``True`` pixels.
        bbox: ``(x1, y1, x2, y2)`` ints, ``x2``/``y2`` exclusive (the convention of
            :meth:`Segmentation.boxes`).
        predicted_iou: the decoder's IoU prediction for this mask.
        stability_score: IoU of the mask thresholded at ``+offset`` and ``-offset`` (logits).
        point: the ``(x, y)`` grid point (frame pixels) that prompted it.
    """

    segmentation: np.ndarray
    area: int
    bbox: tuple[int, int, int, int]
    predicted_iou: float
    stability_score: float
    point: tuple[float, float]


@dataclass
class _Candidate:
    crop: np.ndarray  # bool, the mask inside box
    box: np.ndarray  # (4,) int64 x1, y1, x2, y2 (exclusive)
    score: float
    stability: float
    point: tuple[float, float]


# -- helpers (public: usable and tested on their own) ----------------------------------------
def build_point_grid(points_per_side: int, height: int, width: int) -> np.ndarray:
    """``(n*n, 2)`` float32 ``(x, y)`` cell centres of an ``n x n`` grid over the frame.

    Row-major (left to right, then top to bottom), like segment-anything's grid.
    """
    n = _positive_int(points_per_side, "points_per_side", "e.g. 16")
    frac = (np.arange(n, dtype=np.float64) + 0.5) / n
    xs, ys = np.meshgrid(frac * width, frac * height)
    return np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float32)


def stability_score(logits: np.ndarray, threshold: float, offset: float) -> np.ndarray:
    """Stability of ``(..., H, W)`` logits: ``|l > t + o| / |l > t - o|`` per mask (0 when empty)."""
    lg = np.asarray(logits)
    axes = (-2, -1)
    inter = np.count_nonzero(lg > threshold + offset, axis=axes)
    union = np.count_nonzero(lg > threshold - offset, axis=axes)
    return np.where(union > 0, inter / np.maximum(union, 1), 0.0).astype(np.float32)


def box_iou(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """IoU matrix ``(N, M)`` of ``x1, y1, x2, y2`` boxes (``x2``/``y2`` exclusive)."""
    a = np.asarray(boxes_a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(boxes_b, dtype=np.float64).reshape(-1, 4)
    area_a = np.clip(a[:, 2] - a[:, 0], 0, None) * np.clip(a[:, 3] - a[:, 1], 0, None)
    area_b = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    iw = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = iw * ih
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def box_nms(boxes: np.ndarray, scores: np.ndarray, iou_thresh: float) -> np.ndarray:
    """Greedy box NMS: indices of the kept boxes, highest score first.

    A box is dropped when its IoU with an already kept, higher-scoring box is above
    ``iou_thresh``. Ties in score keep the input order. Memory is ``O(N)`` (one row of IoUs
    per kept box), so thousands of boxes are fine.
    """
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if b.shape[0] != s.shape[0]:
        raise ValueError(f"{b.shape[0]} boxes but {s.shape[0]} scores: give one score per box.")
    order = np.argsort(-s, kind="stable")
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        if order.size == 1:
            break
        rest = order[1:]
        ious = box_iou(b[i], b[rest])[0]
        order = rest[ious <= iou_thresh]
    return np.asarray(keep, dtype=np.int64)


def remove_small_regions(mask: np.ndarray, min_area: int) -> tuple[np.ndarray, bool]:
    """Fill holes and remove islands smaller than ``min_area`` pixels (8-connectivity).

    Returns ``(mask, changed)``. A hole is a background component of the frame-sized mask
    whose area is below ``min_area``. A mask made only of small islands comes back empty.
    """
    m = np.asarray(mask, dtype=bool)
    if m.ndim != 2:
        raise ValueError(f"mask must be (H, W), got shape {m.shape}.")
    return _clean_crop(m, int(min_area), (False, False, False, False))


def _clean_crop(crop: np.ndarray, min_area: int, open_sides: tuple[bool, bool, bool, bool]) -> tuple[np.ndarray, bool]:
    """Hole filling + island removal on a mask cropped to its box.

    ``open_sides`` = (top, bottom, left, right): ``True`` where the crop edge lies inside the
    frame (the frame continues with background there). A one-pixel background border is added
    on those sides, and background components touching it are outside the mask, never holes.
    """
    if min_area <= 0 or crop.size == 0:
        return crop, False
    changed = False
    top, bottom, left, right = (int(v) for v in open_sides)
    bg = np.pad(~crop, ((top, bottom), (left, right)), constant_values=True).astype(np.uint8)
    n, lab, stats, _ = cv2.connectedComponentsWithStats(bg, connectivity=8)
    if n > 1:
        small = np.zeros(n, dtype=bool)
        small[1:] = stats[1:, cv2.CC_STAT_AREA] < min_area
        if top or bottom or left or right:
            border = np.zeros_like(bg, dtype=bool)
            if top:
                border[0, :] = True
            if bottom:
                border[-1, :] = True
            if left:
                border[:, 0] = True
            if right:
                border[:, -1] = True
            small[np.unique(lab[border])] = False
        if small.any():
            h, w = crop.shape
            fill = small[lab[top : top + h, left : left + w]]
            crop = crop | fill
            changed = True
    n, lab, stats, _ = cv2.connectedComponentsWithStats(crop.astype(np.uint8), connectivity=8)
    if n > 1:
        small = np.zeros(n, dtype=bool)
        small[1:] = stats[1:, cv2.CC_STAT_AREA] < min_area
        if small.any():
            crop = crop & ~small[lab]
            changed = True
    return crop, changed


def _tight_box(mask: np.ndarray) -> Optional[tuple[int, int, int, int]]:
    """Exclusive ``x1, y1, x2, y2`` of the ``True`` pixels, ``None`` when empty."""
    # cv2.boundingRect on the uint8 view: about 3x faster than two numpy any() reductions.
    x, y, w, h = cv2.boundingRect(np.ascontiguousarray(mask).view(np.uint8))
    if w == 0 or h == 0:
        return None
    return int(x), int(y), int(x + w), int(y + h)


# -- the generator -----------------------------------------------------------------------------
class MaskGenerator:
    """Segment everything in a frame with any :class:`~samstream.engine.base.Predictor`.

    Args:
        predictor: the backend (its cached image is replaced by :meth:`generate` when an image
            is given).
        config: :class:`EverythingConfig` (defaults when ``None``).

    After each call, :attr:`last_stats` holds counts and timings (prompts, candidates left after
    each filter, milliseconds in the decoder and in post-processing).
    """

    def __init__(self, predictor: Any, config: Optional[EverythingConfig] = None) -> None:
        if not callable(getattr(predictor, "predict_batch", None)):
            raise ValueError(
                f"MaskGenerator needs a samstream Predictor (with predict_batch), got {type(predictor).__name__}."
            )
        if config is None:
            config = EverythingConfig()
        if not isinstance(config, EverythingConfig):
            raise ValueError(f"config must be an EverythingConfig, got {type(config).__name__}.")
        self.predictor = predictor
        self.config = config
        self.last_stats: dict[str, float] = {}

    # -- public API -------------------------------------------------------------------------
    def generate(self, image: Optional[np.ndarray] = None) -> list[MaskRecord]:
        """All masks found in ``image`` (``uint8`` BGR), or in the predictor's cached image when ``None``.

        Returns at most ``config.max_masks`` records, sorted by ``config.sort_by`` (area
        descending by default; ties keep grid order).
        """
        if image is not None:
            self.predictor.set_image(as_image(image, "image"))
        h, w = (int(v) for v in self.predictor.original_size)
        return self._generate(h, w)

    def generate_segmentation(self, frame: Frame, start_id: int = 1) -> Segmentation:
        """Segment everything in ``frame`` and return a typed :class:`Segmentation`.

        Object ids are ``start_id .. start_id + N - 1`` in the record order (see ``sort_by``);
        scores are the predicted IoUs. The predictor's embedding is reused when it already is
        for ``frame.index`` (and the same size), else the frame is encoded.
        """
        if not isinstance(frame, Frame):
            raise ValueError(f"generate_segmentation needs a Frame, got {type(frame).__name__}.")
        if isinstance(start_id, bool) or not isinstance(start_id, (int, np.integer)) or not 1 <= start_id <= 255:
            raise ValueError(f"start_id must be an integer in 1..255 (0 is background), got {start_id!r}.")
        self._ensure_embedding(frame)
        records = self._generate(frame.height, frame.width)
        n = len(records)
        if start_id + n - 1 > 255:
            raise ValueError(
                f"{n} masks from start_id {start_id} would need ids above 255: lower start_id "
                f"or config.max_masks (<= {256 - start_id})."
            )
        masks = stack_masks([r.segmentation for r in records], frame.height, frame.width)
        return Segmentation(
            masks=masks,
            scores=np.clip(np.asarray([r.predicted_iou for r in records], dtype=np.float32), 0.0, 1.0),
            object_ids=np.arange(start_id, start_id + n, dtype=np.int32),
            frame_index=frame.index,
            timestamp=frame.timestamp,
            keyframe_index=frame.index,
        )

    # -- internals ----------------------------------------------------------------------------
    def _ensure_embedding(self, frame: Frame) -> None:
        p = self.predictor
        emb = getattr(p, "_embedding", None)
        if (
            emb is not None
            and getattr(emb, "frame_index", -1) == frame.index
            and frame.index >= 0
            and tuple(emb.orig_hw) == (frame.height, frame.width)
        ):
            return
        if callable(getattr(p, "encode", None)) and callable(getattr(p, "set_embedding", None)):
            p.set_embedding(p.encode(frame.image, frame.index, frame.timestamp))
        else:
            p.set_image(frame.image)

    def _generate(self, h: int, w: int) -> list[MaskRecord]:
        cfg = self.config
        t0 = time.perf_counter()
        points = build_point_grid(cfg.points_per_side, h, w)
        one = np.ones(1, dtype=np.int32)
        pool: list[_Candidate] = []
        counts = {"candidates": 0, "after_iou": 0, "after_stability": 0, "after_batch_nms": 0}
        decode_s = 0.0
        step = cfg.batch_for(h, w)
        for start in range(0, points.shape[0], step):
            pts = points[start : start + step]
            prompts = [(p[None], one, None, None) for p in pts]
            td = time.perf_counter()
            outputs = self.predictor.predict_batch(prompts, cfg.multimask_output, True)
            decode_s += time.perf_counter() - td
            if len(outputs) != len(prompts):
                raise RuntimeError(
                    f"{type(self.predictor).__name__}.predict_batch returned {len(outputs)} results "
                    f"for {len(prompts)} prompts: it must return one per prompt."
                )
            batch = self._filter_batch(outputs, pts, h, w, counts)
            del outputs  # the batch's full-size logits can go now
            if batch:
                keep = box_nms(np.stack([c.box for c in batch]), [c.score for c in batch], cfg.box_nms_thresh)
                batch = [batch[i] for i in keep]
            counts["after_batch_nms"] += len(batch)
            pool.extend(batch)

        records = self._postprocess(pool, h, w, counts)
        total = time.perf_counter() - t0
        self.last_stats = {
            "prompts": float(points.shape[0]),
            "batch": float(step),
            **{k: float(v) for k, v in counts.items()},
            "masks": float(len(records)),
            "decode_ms": decode_s * 1e3,
            "post_ms": (total - decode_s) * 1e3,
            "total_ms": total * 1e3,
        }
        return records

    def _filter_batch(
        self, outputs: Sequence[Any], pts: np.ndarray, h: int, w: int, counts: dict[str, int]
    ) -> list[_Candidate]:
        cfg = self.config
        hi = cfg.mask_threshold + cfg.stability_score_offset
        lo = cfg.mask_threshold - cfg.stability_score_offset
        out: list[_Candidate] = []
        for (masks, scores, _low), pt in zip(outputs, pts):
            masks = np.asarray(masks)
            scores = np.asarray(scores, dtype=np.float64).reshape(-1)
            if masks.ndim != 3 or masks.shape[1:] != (h, w) or masks.shape[0] != scores.shape[0]:
                raise RuntimeError(
                    f"predictor returned masks {masks.shape} and scores {scores.shape}: expected "
                    f"(C, {h}, {w}) and (C,)."
                )
            counts["candidates"] += scores.shape[0]
            point = (float(pt[0]), float(pt[1]))
            for c in np.flatnonzero(scores > cfg.pred_iou_thresh):
                counts["after_iou"] += 1
                lg = masks[c]
                if lg.dtype == bool:  # a backend that ignores return_logits: no margin to measure
                    stab, m = 1.0, lg
                else:
                    union = np.count_nonzero(lg > lo)
                    if union == 0:
                        continue
                    stab = np.count_nonzero(lg > hi) / union
                    if stab < cfg.stability_score_thresh:
                        continue
                    m = lg > cfg.mask_threshold
                counts["after_stability"] += 1
                box = _tight_box(m)
                if box is None:
                    continue
                x1, y1, x2, y2 = box
                out.append(
                    _Candidate(
                        crop=m[y1:y2, x1:x2].copy(),
                        box=np.asarray(box, dtype=np.int64),
                        score=float(scores[c]),
                        stability=float(stab),
                        point=point,
                    )
                )
        return out

    def _postprocess(self, pool: list[_Candidate], h: int, w: int, counts: dict[str, int]) -> list[MaskRecord]:
        cfg = self.config
        if not pool:
            counts["after_nms"] = counts["after_cleanup"] = 0
            return []
        keep = box_nms(np.stack([c.box for c in pool]), [c.score for c in pool], cfg.box_nms_thresh)
        cands = [pool[i] for i in keep]  # highest predicted IoU first
        counts["after_nms"] = len(cands)

        min_area = cfg.min_area_for(h, w)
        any_changed = False
        cleaned: list[_Candidate] = []
        for c in cands:
            x1, y1, x2, y2 = (int(v) for v in c.box)
            crop, changed = _clean_crop(c.crop, min_area, (y1 > 0, y2 < h, x1 > 0, x2 < w))
            if changed:
                box = _tight_box(crop)
                if box is None:  # only small islands: near-empty, dropped
                    any_changed = True
                    continue
                bx1, by1, bx2, by2 = box
                crop = crop[by1:by2, bx1:bx2]
                c = _Candidate(crop, np.asarray((x1 + bx1, y1 + by1, x1 + bx2, y1 + by2), np.int64),
                               c.score, c.stability, c.point)
                any_changed = True
            cleaned.append(c)
        if any_changed and cleaned:
            keep = box_nms(np.stack([c.box for c in cleaned]), [c.score for c in cleaned], cfg.box_nms_thresh)
            cleaned = [cleaned[i] for i in keep]
        counts["after_cleanup"] = len(cleaned)

        cleaned = cleaned[: cfg.max_masks]  # already in descending predicted-IoU order
        if cfg.sort_by == "area":
            areas = [int(np.count_nonzero(c.crop)) for c in cleaned]
            cleaned = [cleaned[i] for i in np.argsort(-np.asarray(areas), kind="stable")]

        records: list[MaskRecord] = []
        for c in cleaned:
            x1, y1, x2, y2 = (int(v) for v in c.box)
            full = np.zeros((h, w), dtype=bool)
            full[y1:y2, x1:x2] = c.crop
            records.append(
                MaskRecord(
                    segmentation=full,
                    area=int(np.count_nonzero(c.crop)),
                    bbox=(x1, y1, x2, y2),
                    predicted_iou=c.score,
                    stability_score=c.stability,
                    point=c.point,
                )
            )
        return records
