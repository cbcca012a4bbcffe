"""The ``classic`` backend: the SamPredictor contract with classical OpenCV methods, no weights.

This is samstream's **fallback backend**. It needs no model files, no downloads and no
accelerator: only numpy and OpenCV. It answers the same calls as the SAM-family predictors
(:class:`~samstream.engine.base.Predictor`), with the same shapes and meanings, so a pipeline
that runs on MobileSAM also runs here (with lower quality on hard scenes).

How a prompt is answered (all work happens in a region of interest, ROI, around the prompt):

1. **Seeds** (:mod:`.prompts`). A ``box`` says "object inside, background outside";
   ``mask_input`` logits (a previous or propagated mask, e.g. fed back by a tracker) say where
   the object probably is; include points are certain object, exclude points (and the
   colour-similar region grown around them in a smoothed Lab copy) certain background. Include
   points alone grow a colour region around the click, whose box, enlarged, serves as a
   guessed box prompt.
2. **Coarse GrabCut** (box and click prompts only) on the ROI downscaled to ``coarse_side``
   pixels, seeded by a colour-histogram ratio (box interior vs. surroundings), so that the
   object's typical colours start as certain foreground.
3. **Band refinement** (:mod:`.refine`) on the ROI at ``fine_side`` pixels: only a band around
   the coarse outline (or around ``mask_input``) is decided; the core stays object, the far
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
from .guided import upsample
from .prompts import (Grid, PromptSeeds, Rect, apply_hard, box_rect, carve_region, click_region, grid_for,
                      mask_rect, point_rect, roi_around, small_lab)
from .refine import clean, colour_prob, grabcut, refine_band, ring
from .scoring import score

__all__ = ["ClassicPredictor"]

#: logit magnitude of a saturated pixel, the same as ``SquareFrame.mask_to_logits``
_LOGIT = 8.0
#: growth of the click region's box (times its size, per side) for the "part" / "whole" guesses
_POINT_GROW = (0.5, 1.0)
#: flood level (0 tight, 1 medium) of the "subpart" candidate
_SUBPART_LEVEL = 1
#: score factors of the 3 click candidates, smallest to largest (a click usually means the
#: whole object, so larger candidates are preferred a little)
_CLICK_EXTENT_PRIOR = (0.85, 0.93, 1.0)

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

    def _from_box(self, img, lab_small, seeds: PromptSeeds, n_out: int, seed_small=None) -> list[Candidate]:
        """A box (+ points): colour-ratio seeded coarse GrabCut, then band refinement.

        ``seed_small`` (bool, on the embedding's small grid) marks pixels known to be the object
        (the colour region around a click) when the box is a guess made from clicks.
        """
        rects = [seeds.box] + [point_rect(p) for p in seeds.pos]
        roi = roi_around(rects, seeds, 0.25)
        coarse = grid_for(roi, self.config.coarse_side, img)
        cimg = coarse.crop(img)
        bx0, by0, bx1, by1 = coarse.rect_to_grid(seeds.box)
        inbox = np.zeros(cimg.shape[:2], bool)
        inbox[by0:by1, bx0:bx1] = True
        tri = np.full(cimg.shape[:2], cv2.GC_BGD, np.uint8)
        if (~inbox).sum() >= 16:
            prob = colour_prob(cimg, inbox, ~inbox, mixture=True)
            core = cv2.erode((prob > 0.9).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
            tri[inbox] = np.where(prob[inbox] > 0.5, cv2.GC_PR_FGD, cv2.GC_PR_BGD)
            tri[core & inbox] = cv2.GC_FGD
        else:  # the box is the whole frame: nothing outside it to learn the background from
            tri[inbox] = cv2.GC_PR_FGD
            ring(tri, 1, cv2.GC_PR_BGD)
        carve = np.zeros(cimg.shape[:2], bool)
        for c in seeds.neg_carve:
            if c is not None:
                carve |= coarse.crop_small(c, lab_small.shape) > 0.5
        if carve.sum() >= 8:
            # colours closer to the excluded regions than to the object are not the object
            pos_sel = np.zeros_like(carve)
            for p in seeds.pos:
                pos_sel |= coarse.crop_small(click_region(lab_small, p, 1, seeds.w, seeds.h), lab_small.shape) > 0.5
            if seed_small is not None:
                pos_sel |= coarse.crop_small(seed_small, lab_small.shape) > 0.5
            pos_sel &= ~carve
            if pos_sel.sum() < 8:
                pos_sel = inbox & ~carve & ((tri == cv2.GC_PR_FGD) | (tri == cv2.GC_FGD))
            if pos_sel.sum() >= 8:
                pn = colour_prob(cimg, carve, pos_sel, mixture=False)
                tri[inbox & (pn > 0.5) & ~pos_sel] = cv2.GC_PR_BGD
        if seed_small is not None:
            seed = (coarse.crop_small(seed_small, lab_small.shape) > 0.5) & inbox
            tri[seed] = cv2.GC_PR_FGD
            tri[(cv2.erode(seed.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0)] = cv2.GC_FGD
        apply_hard(tri, coarse, seeds, lab_small, 0)
        connected = seed_small is not None
        cseg = clean(grabcut(cimg, tri, self.config.coarse_iters), tri, connected_only=connected)
        return self._from_coarse(img, lab_small, seeds, roi, coarse, cseg, n_out, connected_only=connected)

    def _from_points(self, img, lab_small, seeds: PromptSeeds, n_out: int) -> list[Candidate]:
        """Include clicks only (SAM's ambiguous single click).

        The colour region grown around the clicks (flood fill in smoothed Lab) is the "subpart"
        candidate (refined in a band). For the "part" and "whole" candidates the region's box,
        grown by ``_POINT_GROW`` times its size on each side (and kept under 70% of the frame),
        is used as a guessed box prompt with the region as certain foreground. One output
        returns the "part" candidate. The three scores are multiplied by
        ``_CLICK_EXTENT_PRIOR`` (smallest to largest).
        """
        h, w = seeds.h, seeds.w
        sx = w / float(lab_small.shape[1])
        sy = h / float(lab_small.shape[0])
        regions = {}
        for lvl in (0, 1):
            reg = np.zeros(lab_small.shape[:2], bool)
            for p in seeds.pos:
                reg |= click_region(lab_small, p, lvl, w, h)
            regions[lvl] = reg
        x0, y0, x1, y1 = mask_rect(regions[1])
        rect = (int(x0 * sx), int(y0 * sy), int(np.ceil(x1 * sx)), int(np.ceil(y1 * sy)))
        for p in seeds.pos:
            pr = point_rect(p)
            rect = (min(rect[0], pr[0]), min(rect[1], pr[1]), max(rect[2], pr[2]), max(rect[3], pr[3]))
        size = max(rect[2] - rect[0], rect[3] - rect[1])
        out = []
        grow = _POINT_GROW if n_out == 3 else _POINT_GROW[:1]
        cx, cy = (rect[0] + rect[2]) / 2.0, (rect[1] + rect[3]) / 2.0
        for g in grow:
            m = max(g * size, 0.1 * min(w, h))
            # the guessed box stays under 70% of the frame: the background outside it must be
            # a fair sample for the colour model
            hw = min((rect[2] - rect[0]) / 2.0 + m, 0.35 * w)
            hh = min((rect[3] - rect[1]) / 2.0 + m, 0.35 * h)
            box = (
                max(0, int(cx - hw)), max(0, int(cy - hh)), min(w, int(np.ceil(cx + hw))), min(h, int(np.ceil(cy + hh)))
            )
            bseeds = PromptSeeds(seeds.pos, seeds.neg, seeds.neg_carve, box, None, w, h)
            out.extend(self._from_box(img, lab_small, bseeds, 1, seed_small=regions[0]))
        if n_out == 3:
            x0, y0, x1, y1 = mask_rect(regions[_SUBPART_LEVEL])
            rects = [(int(x0 * sx), int(y0 * sy), int(np.ceil(x1 * sx)), int(np.ceil(y1 * sy)))]
            roi = roi_around(rects + [point_rect(p) for p in seeds.pos], seeds, 0.25)
            fine = grid_for(roi, self.config.fine_side, img)
            fine_img = fine.crop(img)
            b8 = (fine.crop_small(regions[_SUBPART_LEVEL], lab_small.shape) > 0.5).astype(np.uint8)
            for p in seeds.pos:
                cv2.circle(b8, fine.to_grid(p), 1, 1, -1)
            base = b8 > 0
            seg = refine_band(self.config, fine_img, fine, base, self._band(base), seeds, lab_small,
                              connected_only=True, vote=False)
            out.extend(self._candidates(img, roi, fine_img, seg, base, seeds, 1))
        out.sort(key=lambda c: float((c[1] > 0.5).sum()))
        if len(out) == 3:
            # a click usually means the whole object: prefer larger candidates a little
            out = [(r, a, sc * f) for (r, a, sc), f in zip(out, _CLICK_EXTENT_PRIOR)]
        return out

    def _from_coarse(
        self, img, lab_small, seeds: PromptSeeds, roi: Rect, coarse: Grid, cseg: np.ndarray, n_out: int,
        connected_only: bool = False,
    ) -> list[Candidate]:
        """Coarse GrabCut mask ``cseg`` (bool, coarse grid) -> band-refined candidates."""
        fine = grid_for(roi, self.config.fine_side, img)
        fine_img = fine.crop(img)
        base = cv2.resize(cseg.astype(np.float32), fine.size, interpolation=cv2.INTER_LINEAR) > 0.5
        band = max(2, int(np.ceil(1.5 * fine.scale / coarse.scale)) + 1)
        # the coarse outline already comes from a GrabCut: no second GrabCut vote
        seg = refine_band(self.config, fine_img, fine, base, band, seeds, lab_small, connected_only, vote=False)
        return self._candidates(img, roi, fine_img, seg, base, seeds, n_out)

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
