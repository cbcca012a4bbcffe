"""The ``classic`` backend: the SamPredictor contract with classical OpenCV methods, no weights.

This is samstream's **fallback backend**. It needs no model files, no downloads and no
accelerator: only numpy and OpenCV. It answers the same calls as the SAM-family predictors
(:class:`~samstream.engine.base.Predictor`), with the same shapes and meanings, so a pipeline
that runs on MobileSAM also runs here (with lower quality on hard scenes).

How a prompt is answered (all work happens in a region of interest, ROI, around the prompt):

1. **Seeds** (:mod:`.prompts`). A ``box`` says "object inside, background outside";
   ``mask_input`` logits (a previous or propagated mask, e.g. fed back by a tracker) say where
   the object probably is; include points are certain object, exclude points certain
   background, and the colour-similar region grown around an exclude point (in a smoothed Lab
   copy) is removed where it touches the answer (:func:`.boxcut.enforce_points`).
2. **Box and click prompts** (:mod:`.boxcut`): OpenCV GrabCut initialised with the box on the
   ROI around it (``box_margin``) downscaled to ``box_side`` pixels, upsampled with a colour
   guided filter (step 4). A lone click is answered as a box: a square of half-side
   ``click_scales[middle] * sqrt(H * W)`` centred on it, with the click as certain object and
   only the mask component that holds it kept.
3. **Band refinement of a mask prompt** (:mod:`.refine`) on the ROI at ``fine_side`` pixels:
   only a band around ``mask_input``'s outline is decided; the core stays object, the far
   outside background. In the band a per-pixel logit adds local + global colour evidence to a
   shape prior (signed distance to the given outline), is smoothed by a colour guided filter
   and, for mask prompts, mixed with a banded GrabCut vote. The band is
   ``band_frac * sqrt(area)`` wide, so a mask prompt is *refined*, not replaced: where colours
   do not separate object from background the answer stays at the given outline.
4. **Full resolution** (:mod:`.guided`): the fine mask is upsampled with a colour guided filter
   (He et al.) whose coefficients come from the fine scale; the soft alpha is thresholded at 0.5.

Scores are a documented confidence heuristic in ``[0, 1]`` (:mod:`.scoring`), not a learned IoU
prediction.

Conventions (as everywhere in samstream): images are ``uint8 (H, W, 3)`` BGR; coordinates are
``(x, y)`` pixels of the original frame, origin top-left; a box is ``(x1, y1, x2, y2)`` and
covers the pixels ``x1 <= x < x2``, ``y1 <= y < y2``; ``low_res_logits`` / ``mask_input`` are
``(1, 256, 256)`` float32 logits over SAM's padded square (see
:class:`~samstream.engine.transforms.SquareFrame`), so they can be exchanged with SAM backends.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Optional

import cv2
import numpy as np

from ...types import as_image
from ..base import Embedding, PredictOutput, Predictor
from .config import ClassicConfig
from .everything import colour_regions
from .boxcut import box_cut, click_boxes, enforce_points
from .guided import upsample
from .prompts import Grid, PromptSeeds, Rect, box_rect, carve_region, grid_for, mask_rect, roi_around, small_lab
from .refine import refine_band
from .scoring import score

__all__ = ["ClassicPredictor"]

#: logit magnitude of a saturated pixel, the same as ``SquareFrame.mask_to_logits``
_LOGIT = 8.0
#: score factors of the 3 click outputs, smallest to largest (the middle one, the GrabCut
#: answer itself, is the best single guess on real frames)
_CLICK_EXTENT_PRIOR = (0.85, 1.0, 0.9)

Candidate = tuple[Rect, np.ndarray, float]  # (roi, alpha (roi_h, roi_w) float32 in [0, 1], score)


class ClassicPredictor(Predictor):
    """Segment-Anything-style predictor from classical OpenCV methods: the no-weights fallback.

    Use :meth:`set_image` / :meth:`predict` exactly like SAM's predictor; :meth:`everything`
    splits a frame into colour regions.

    Args:
        config: the settings (:class:`ClassicConfig`); defaults when ``None``.
        **overrides: individual :class:`ClassicConfig` fields (e.g. ``fine_side=256``), applied
            on top of ``config``; kept so that ``ClassicPredictor(band_frac=0.1)`` and
            ``load_predictor("classic", band_frac=0.1)`` work.

    Raises:
        ValueError: for a setting out of range, naming the range.
        TypeError: for a keyword that is not a :class:`ClassicConfig` field.
    """

    name = "classic"
    #: the prior is re-derived from the mask (``mask_input``) itself, not from SAM-style logits
    reuses_low_res_logits = False
    has_everything = True

    def __init__(self, config: Optional[ClassicConfig] = None, **overrides) -> None:
        super().__init__()
        if config is None:
            config = ClassicConfig()
        elif not isinstance(config, ClassicConfig):
            raise ValueError(f"config must be a ClassicConfig, got {type(config).__name__}.")
        unknown = sorted(set(overrides) - set(ClassicConfig.field_names()))
        if unknown:
            valid = list(ClassicConfig.field_names())
            raise TypeError(f"ClassicPredictor got unknown setting(s) {unknown}: valid ones are {valid}.")
        self.config = dataclasses.replace(config, **overrides) if overrides else config

    # ------------------------------------------------------------------------------------
    # encoding
    # ------------------------------------------------------------------------------------
    def encode(self, image: np.ndarray, frame_index: int = -1, timestamp: float = 0.0) -> Embedding:
        """Encode a frame, which here is cheap: a copy plus a small smoothed Lab version.

        Args:
            image: ``uint8 (H, W, 3)`` BGR (grey / BGRA are converted).
            frame_index: source frame number, ``-1`` when unknown.
            timestamp: capture time, seconds.

        Returns:
            an :class:`Embedding` whose ``features`` are ``"image"``: ``uint8 (H, W, 3)`` BGR copy
            of the frame, and ``"small_lab"``: ``uint8 (h, w, 3)`` Lab, bilateral-smoothed, longest
            side ``<= 256`` px (``w / W == h / H`` up to rounding), used to grow click regions.
        """
        t0 = time.perf_counter()
        img = as_image(image, "image").copy()
        h, w = img.shape[:2]
        return Embedding(
            features={"image": img, "small_lab": small_lab(img)},
            frame=self.square_frame((h, w)),
            frame_index=int(frame_index),
            timestamp=float(timestamp),
            latency_ms=(time.perf_counter() - t0) * 1000.0,
        )

    def describe(self) -> dict:
        return {
            "model": self.name,
            "precision": "n/a",
            "weights": "none (classical OpenCV: GrabCut + guided filter)",
        }

    # ------------------------------------------------------------------------------------
    # decoding
    # ------------------------------------------------------------------------------------
    def _decode(
        self,
        emb: Embedding,
        prompts: list[tuple],
        multimask_output: bool,
        return_logits: bool,
    ) -> list[PredictOutput]:
        """Answer validated prompts ``(pts|None, labels|None, box|None, mask_input|None)``.

        ``pts`` is ``(N, 2)`` float32 frame pixels, ``labels`` ``(N,)`` int32, ``box`` ``(4,)``
        float32, ``mask_input`` ``(1, 256, 256)`` float32 logits. Returns per prompt ``masks``
        ``(C, H, W)`` bool (float32 logits, ``> 0`` inside, when ``return_logits``), ``scores``
        ``(C,)`` float32 in ``[0, 1]`` and ``low_res_logits`` ``(C, 256, 256)`` float32, ``C`` =
        3 (increasing extent) or 1.
        """
        if "image" not in emb.features:
            raise ValueError(
                "this embedding has no 'image' feature: it was not made by ClassicPredictor.encode(); "
                "call set_image(frame) on the classic predictor instead."
            )
        img = emb.features["image"]
        if not (isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3):
            raise ValueError(
                "the embedding's 'image' must be uint8 (H, W, 3) BGR: make embeddings with ClassicPredictor.encode()."
            )
        h, w = img.shape[:2]
        if "small_lab" not in emb.features:  # an embedding assembled by hand: derive the rest
            emb.features["small_lab"] = small_lab(img)
        if (h, w) != tuple(emb.orig_hw):
            raise ValueError(
                f"embedding image is {w}x{h} but its frame says {emb.orig_hw[1]}x{emb.orig_hw[0]}: "
                "re-encode the frame with ClassicPredictor.encode()."
            )
        out: list[PredictOutput] = []
        for pts, lab, box, mask_in in prompts:
            cands = self._segment(emb, pts, lab, box, mask_in, bool(multimask_output))
            c = len(cands)
            lows = np.empty((c, self.low_res_side, self.low_res_side), np.float32)
            scores = np.empty(c, np.float32)
            full = np.empty((c, h, w), np.float32 if return_logits else bool)
            for i, (roi, alpha, sc) in enumerate(cands):
                x0, y0, x1, y1 = roi
                prob = np.zeros((h, w), np.float32)
                prob[y0:y1, x0:x1] = alpha
                lows[i] = emb.frame.mask_to_logits(prob, _LOGIT)[0]
                scores[i] = sc
                if return_logits:
                    full[i] = (prob - 0.5) * (2.0 * _LOGIT)
                else:
                    full[i] = prob > 0.5
            out.append((full, scores, lows))
        return out

    # -- one prompt ------------------------------------------------------------------------
    def _segment(
        self,
        emb: Embedding,
        pts: Optional[np.ndarray],
        labels: Optional[np.ndarray],
        box: Optional[np.ndarray],
        mask_in: Optional[np.ndarray],
        multimask: bool,
    ) -> list[Candidate]:
        """Candidates ``(roi, alpha (roi_h, roi_w) float32 in [0, 1], score)``, by increasing area."""
        img = emb.features["image"]
        lab_small = emb.features["small_lab"]
        h, w = img.shape[:2]
        n_out = 3 if multimask else 1

        pos = pts[labels == 1] if pts is not None else np.zeros((0, 2), np.float32)
        neg = pts[labels == 0] if pts is not None else np.zeros((0, 2), np.float32)
        prior: Optional[np.ndarray] = None
        if mask_in is not None:
            prior = emb.frame.logits_to_frame(mask_in)[0] > 0.0
            if not prior.any():
                prior = None
        rect = box_rect(box, w, h) if box is not None else None
        if rect is not None and (rect[2] - rect[0] < 3 or rect[3] - rect[1] < 3):
            # a degenerate box (a click that did not drag) is an include click at its centre
            c = np.array([[(box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0]], np.float32)
            pos = np.concatenate([pos, np.clip(c, 0, [w - 1, h - 1]).astype(np.float32)])
            rect = None

        if prior is None and rect is None and len(pos) == 0:
            # exclude points only (or an empty mask_input alone): there is no object to describe
            return [((0, 0, 1, 1), np.zeros((1, 1), np.float32), 0.0)] * n_out

        neg_carve = [carve_region(lab_small, p, pos, w, h) for p in neg]
        if prior is not None:
            # an include click outside the given mask adds the object under it (as a click alone
            # would find it) to the mask
            for p in pos:
                x, y = min(w - 1, int(p[0])), min(h - 1, int(p[1]))
                if not prior[y, x]:
                    sub = PromptSeeds(p[None], neg, neg_carve, None, None, w, h)
                    (x0, y0, x1, y1), alpha, _ = self._from_points(img, lab_small, sub, 1)[0]
                    prior[y0:y1, x0:x1] |= alpha > 0.5
        seeds = PromptSeeds(pos, neg, neg_carve, rect, prior, w, h)
        if prior is not None:
            return self._from_mask(img, lab_small, seeds, n_out)
        if rect is not None:
            return self._from_box(img, lab_small, seeds, n_out)
        return self._from_points(img, lab_small, seeds, n_out)

    def _band(self, base: np.ndarray) -> int:
        """Band half-width (fine pixels) for a ``base`` mask: ``band_frac * sqrt(area)``, at least 2."""
        return max(2, int(round(self.config.band_frac * np.sqrt(max(float(base.sum()), 1.0)))))

    def _from_mask(self, img, lab_small, seeds: PromptSeeds, n_out: int) -> list[Candidate]:
        """``mask_input`` (+ box, points): refine a band around the given mask (:func:`.refine.refine_band`)."""
        rects = [mask_rect(seeds.prior)] + ([seeds.box] if seeds.box is not None else [])
        roi = roi_around(rects, seeds, 0.15)
        fine = grid_for(roi, self.config.fine_side, img)
        fine_img = fine.crop(img)
        p_roi = seeds.prior[roi[1]:roi[3], roi[0]:roi[2]].astype(np.float32)
        base = cv2.resize(p_roi, fine.size, interpolation=cv2.INTER_AREA) > 0.5
        for c in seeds.neg_carve:  # exclude clicks cut their colour region out of the mask
            if c is not None:
                base &= ~(fine.crop_small(c, lab_small.shape) > 0.5)
        seg = refine_band(self.config, fine_img, fine, base, self._band(base), seeds, lab_small)
        return self._candidates(img, roi, fine_img, seg, base, seeds, n_out)

    def _from_box(self, img, lab_small, seeds: PromptSeeds, n_out: int) -> list[Candidate]:
        """A box (+ points): GrabCut on the downscaled ROI, guided upsampling (:func:`.boxcut.box_cut`).

        Three outputs are the answer's soft mask thresholded tighter / as is / looser
        (``alpha -+ 0.25``), so their extents increase.
        """
        roi, alpha, _, _ = box_cut(self.config, img, lab_small, seeds)
        alpha = self._obey(alpha, roi, seeds, lab_small)
        if n_out == 1:
            return [(roi, alpha, score(img, roi, alpha, seeds.pos, seeds.neg))]
        alphas = [np.clip(alpha - 0.25, 0.0, 1.0), alpha, np.clip(alpha + 0.25, 0.0, 1.0)]
        return [(roi, a, score(img, roi, a, seeds.pos, seeds.neg)) for a in alphas]

    def _obey(self, alpha: np.ndarray, roi: Rect, seeds: PromptSeeds, lab_small) -> np.ndarray:
        """:func:`.boxcut.enforce_points` with the exclude clicks' colour regions mapped onto ``roi``."""
        if len(seeds.neg) == 0 and len(seeds.pos) == 0:
            return alpha
        g = Grid(roi, 1.0, (seeds.w, seeds.h))
        regions = [None if c is None else g.crop_small(c, lab_small.shape) > 0.5 for c in seeds.neg_carve]
        return enforce_points(alpha, roi, seeds.pos, seeds.neg, regions)

    def _from_points(self, img, lab_small, seeds: PromptSeeds, n_out: int) -> list[Candidate]:
        """Include clicks only (SAM's ambiguous click): guessed boxes, each answered as a box.

        For each of ``config.click_scales`` the box is the union over the include clicks of the
        square of half-side ``scale * sqrt(H * W)`` around each (:func:`.boxcut.click_boxes`);
        the clicks are certain object and only the mask components holding one are kept. One
        output answers with the middle scale; three outputs are the scales (by increasing
        area), their scores multiplied by ``_CLICK_EXTENT_PRIOR`` (the middle scale is the
        best single guess on real frames, docs/classic.md).
        """
        scales = tuple(self.config.click_scales)
        s = scales[len(scales) // 2]
        boxes = [click_boxes(p, (s,), seeds.w, seeds.h)[0] for p in seeds.pos]
        box = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
               max(b[3] for b in boxes))
        bseeds = PromptSeeds(seeds.pos, seeds.neg, seeds.neg_carve, box, None, seeds.w, seeds.h)
        out = self._from_box(img, lab_small, bseeds, n_out)
        if n_out == 1:
            return out
        return [(r, a, sc * f) for (r, a, sc), f in zip(out, _CLICK_EXTENT_PRIOR)]

    def _candidates(self, img, roi, fine_img, seg, base, seeds: PromptSeeds, n_out) -> list[Candidate]:
        """Full-resolution alphas and scores: ``[main]`` or ``[main & prior, main, main | prior]``."""
        r, eps = self.config.guide_radius, self.config.guide_eps
        alpha = upsample(img, roi, fine_img, seg, r, eps)
        if n_out == 1:
            return [(roi, alpha, score(img, roi, alpha, seeds.pos, seeds.neg))]
        prior = upsample(img, roi, fine_img, base, r, eps, smooth_only=True)
        alphas = [np.minimum(alpha, prior), alpha, np.maximum(alpha, prior)]
        return [(roi, a, score(img, roi, a, seeds.pos, seeds.neg)) for a in alphas]

    # ------------------------------------------------------------------------------------
    # segment everything
    # ------------------------------------------------------------------------------------
    def everything(
        self, image: Optional[np.ndarray] = None, min_area_frac: float = 0.002, max_masks: int = 32
    ) -> tuple[np.ndarray, np.ndarray]:
        """Split a frame into colour regions (:func:`.everything.colour_regions`).

        Args:
            image: ``uint8 (H, W, 3)`` BGR; ``None`` uses the image of the current embedding.
            min_area_frac: smallest region kept, as a fraction of the frame area, in ``(0, 1)``.
            max_masks: at most this many masks (``>= 1``).

        Returns:
            ``masks`` ``(M, H, W)`` bool, non-overlapping, in frame pixels; ``scores`` ``(M,)``
            float32 in ``[0, 1]``; in rank order; ``M <= max_masks`` (0 when nothing qualifies).
        """
        if image is None:
            img = self.embedding.features.get("image")
            if img is None:
                raise ValueError("the current embedding has no 'image': pass image=frame (uint8 BGR).")
        else:
            img = as_image(image, "image")
        return colour_regions(img, min_area_frac, max_masks)
