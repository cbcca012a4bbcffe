"""The segment-everything generator: a prompt grid over any predictor, filtered and de-duplicated."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from ...geometry import box_nms
from ...types import Frame, Segmentation, as_image, stack_masks
from .config import EverythingConfig
from .ops import _clean_crop, _tight_box, build_point_grid

__all__ = ["MaskRecord", "MaskGenerator"]



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
