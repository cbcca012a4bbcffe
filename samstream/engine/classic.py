"""The ``classic`` backend: the SamPredictor contract with classical OpenCV methods, no weights.

This is samstream's **fallback backend**. It needs no model files, no downloads and no
accelerator: only numpy and OpenCV. It answers the same calls as the SAM-family predictors
(:class:`~samstream.engine.base.Predictor`), with the same shapes and meanings, so a pipeline
that runs on MobileSAM also runs here (with lower quality on hard scenes).

How a prompt is answered (all work happens in a region of interest, ROI, around the prompt):

1. **Seeds.** A ``box`` says "object inside, background outside"; ``mask_input`` logits (a
   previous or propagated mask, e.g. fed back by a tracker) say where the object probably is;
   include points are certain object, exclude points (and the colour-similar region grown
   around them in a smoothed Lab copy) certain background. Include points alone grow a colour
   region around the click, whose box, enlarged, serves as a guessed box prompt.
2. **Coarse GrabCut** (box and click prompts only) on the ROI downscaled to ``coarse_side``
   pixels, seeded by a colour-histogram ratio (box interior vs. surroundings), so that the
   object's typical colours start as certain foreground.
3. **Band refinement** on the ROI at ``fine_side`` pixels: only a band around the coarse
   outline (or around ``mask_input``) is decided; the core stays object, the far outside
   background. In the band a per-pixel logit adds local + global colour evidence to a shape
   prior (signed distance to the given outline), is smoothed by a colour guided filter and,
   for mask prompts, mixed with a banded GrabCut vote. The band is ``band_frac * sqrt(area)``
   wide, so a mask prompt is *refined*, not replaced: where colours do not separate object
   from background the answer stays at the given outline.
4. **Full resolution**: the fine mask is upsampled with a colour guided filter (He et al.)
   whose coefficients come from the fine scale; the soft alpha is thresholded at 0.5.

Scores are a documented confidence heuristic in ``[0, 1]`` (see :meth:`ClassicPredictor._score`),
not a learned IoU prediction.

Conventions (as everywhere in samstream): images are ``uint8 (H, W, 3)`` BGR; coordinates are
``(x, y)`` pixels of the original frame, origin top-left; a box is ``(x1, y1, x2, y2)`` and
covers the pixels ``x1 <= x < x2``, ``y1 <= y < y2``; ``low_res_logits`` / ``mask_input`` are
``(1, 256, 256)`` float32 logits over SAM's padded square (see
:class:`~samstream.engine.transforms.SquareFrame`), so they can be exchanged with SAM backends.
"""

from __future__ import annotations

import time
from typing import Optional

import cv2
import numpy as np

from ..types import as_image
from .base import Embedding, PredictOutput, Predictor

__all__ = ["ClassicPredictor"]

#: logit magnitude of a saturated pixel, the same as ``SquareFrame.mask_to_logits``
_LOGIT = 8.0
#: side (pixels) of the smoothed Lab copy stored in the embedding (for click regions)
_SMALL_SIDE = 256
#: Lab flood-fill tolerances (L, a, b in OpenCV's 8-bit Lab) of the tight / medium click regions
_FLOOD_TOL = ((8, 5, 5), (14, 8, 8))

Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 in frame pixels, end exclusive


class ClassicPredictor(Predictor):
    """Segment-Anything-style predictor from classical OpenCV methods: the no-weights fallback.

    It works everywhere, in roughly 30-70 ms per prompt at 640x480 on two CPU cores (a 3-mask
    click prompt about twice that). Use :meth:`set_image` / :meth:`predict` exactly like SAM's
    predictor; :meth:`everything` splits a frame into colour regions. All parameters are
    generic (not tuned per scene); the defaults were checked on DAVIS frames.

    Args:
        coarse_side: longest side, pixels, of the ROI for the coarse GrabCut (box / click prompts).
        fine_side: longest side, pixels, of the ROI for the band refinement.
        coarse_iters: GrabCut iterations at the coarse scale.
        fine_iters: GrabCut iterations of the banded GrabCut vote.
        band_frac: half-width of the free band around a ``mask_input``, as a fraction of
            ``sqrt(mask area)`` (fine pixels); smaller keeps a mask prompt closer to what was given.
        guide_radius: guided-filter radius in fine-scale pixels (0 turns the filter off).
        guide_eps: guided-filter regularisation (image values in ``[0, 1]``); larger = smoother.
        colour_weight: weight of the colour evidence against the shape prior in the band.
        prior_sigma: shape-prior scale as a fraction of the band (smaller = stay closer).
        local_radius: local colour window radius as a multiple of the band.
        graphcut_weight: weight in ``[0, 1)`` of the banded GrabCut vote for mask prompts.
        vote_side: longest side, pixels, at which that GrabCut vote runs.

    Raises:
        ValueError: for a parameter out of range, naming the range.
    """

    name = "classic"
    reuses_low_res_logits = False
    has_everything = True

    def __init__(
        self,
        coarse_side: int = 96,
        fine_side: int = 224,
        coarse_iters: int = 2,
        fine_iters: int = 1,
        band_frac: float = 0.06,
        guide_radius: int = 2,
        guide_eps: float = 1e-3,
        colour_weight: float = 3.0,
        prior_sigma: float = 0.4,
        local_radius: float = 2.0,
        graphcut_weight: float = 0.25,
        vote_side: int = 128,
    ) -> None:
        super().__init__()
        for nm, v, lo in (("coarse_side", coarse_side, 32), ("fine_side", fine_side, 32)):
            if not isinstance(v, (int, np.integer)) or v < lo:
                raise ValueError(f"{nm} must be an integer >= {lo} pixels, got {v!r}.")
        if fine_side < coarse_side:
            raise ValueError(
                f"fine_side ({fine_side}) must be >= coarse_side ({coarse_side}): the fine pass refines the coarse one."
            )
        for nm, v in (("coarse_iters", coarse_iters), ("fine_iters", fine_iters)):
            if not isinstance(v, (int, np.integer)) or not 1 <= v <= 10:
                raise ValueError(f"{nm} must be an integer in 1..10 GrabCut iterations, got {v!r}.")
        if not 0.0 < float(band_frac) <= 0.5:
            raise ValueError(f"band_frac must be in (0, 0.5] (a fraction of sqrt(mask area)), got {band_frac!r}.")
        if not isinstance(guide_radius, (int, np.integer)) or not 0 <= guide_radius <= 16:
            raise ValueError(f"guide_radius must be an integer in 0..16 pixels (0 turns it off), got {guide_radius!r}.")
        if not float(guide_eps) > 0:
            raise ValueError(f"guide_eps must be > 0, got {guide_eps!r}.")
        self.coarse_side = int(coarse_side)
        self.fine_side = int(fine_side)
        self.coarse_iters = int(coarse_iters)
        self.fine_iters = int(fine_iters)
        self.band_frac = float(band_frac)
        self.guide_radius = int(guide_radius)
        self.guide_eps = float(guide_eps)
        for nm, v in (("colour_weight", colour_weight), ("prior_sigma", prior_sigma), ("local_radius", local_radius)):
            if not float(v) > 0:
                raise ValueError(f"{nm} must be > 0, got {v!r}.")
        if not 0.0 <= float(graphcut_weight) < 1.0:
            raise ValueError(f"graphcut_weight must be in [0, 1), got {graphcut_weight!r}.")
        self.colour_weight = float(colour_weight)
        self.prior_sigma = float(prior_sigma)
        self.local_radius = float(local_radius)
        self.graphcut_weight = float(graphcut_weight)
        if not isinstance(vote_side, (int, np.integer)) or vote_side < 32:
            raise ValueError(f"vote_side must be an integer >= 32 pixels, got {vote_side!r}.")
        self.vote_side = int(vote_side)

    # ------------------------------------------------------------------------------------
    # encoding
    # ------------------------------------------------------------------------------------
    def encode(self, image: np.ndarray, frame_index: int = -1, timestamp: float = 0.0) -> Embedding:
        """Encode a frame, which here is cheap (about 2-4 ms): a copy plus a small smoothed Lab version.

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
            features={"image": img, "small_lab": _small_lab(img)},
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
            emb.features["small_lab"] = _small_lab(img)
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
            for i, (roi, alpha, score) in enumerate(cands):
                x0, y0, x1, y1 = roi
                prob = np.zeros((h, w), np.float32)
                prob[y0:y1, x0:x1] = alpha
                lows[i] = emb.frame.mask_to_logits(prob, _LOGIT)[0]
                scores[i] = score
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
    ) -> list[tuple[Rect, np.ndarray, float]]:
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
        box_rect = _box_rect(box, w, h) if box is not None else None
        if box_rect is not None and (box_rect[2] - box_rect[0] < 3 or box_rect[3] - box_rect[1] < 3):
            # a degenerate box (a click that did not drag) is an include click at its centre
            c = np.array([[(box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0]], np.float32)
            pos = np.concatenate([pos, np.clip(c, 0, [w - 1, h - 1]).astype(np.float32)])
            box_rect = None

        if prior is None and box_rect is None and len(pos) == 0:
            # exclude points only (or an empty mask_input alone): there is no object to describe
            return [((0, 0, 1, 1), np.zeros((1, 1), np.float32), 0.0)] * n_out

        neg_carve = [self._carve_region(lab_small, p, pos, w, h) for p in neg]
        if prior is not None:
            # an include click outside the given mask adds the object under it (as a click alone
            # would find it) to the mask
            for p in pos:
                x, y = min(w - 1, int(p[0])), min(h - 1, int(p[1]))
                if not prior[y, x]:
                    sub = _Prompts(p[None], neg, neg_carve, None, None, w, h)
                    (x0, y0, x1, y1), alpha, _ = self._from_points(img, lab_small, sub, 1)[0]
                    prior[y0:y1, x0:x1] |= alpha > 0.5
        ctx = _Prompts(pos, neg, neg_carve, box_rect, prior, w, h)
        if prior is not None:
            return self._from_mask(img, lab_small, ctx, n_out)
        if box_rect is not None:
            return self._from_box(img, lab_small, ctx, n_out)
        return self._from_points(img, lab_small, ctx, n_out)

    def _from_mask(self, img, lab_small, ctx: "_Prompts", n_out: int) -> list:
        """``mask_input`` (+ box, points): refine a band around the given mask (:meth:`_refine`)."""
        rects = [_mask_rect(ctx.prior)] + ([ctx.box] if ctx.box is not None else [])
        roi = self._roi(rects, ctx, 0.15)
        fine = self._grid(roi, self.fine_side, img)
        fine_img = fine.crop(img)
        p_roi = ctx.prior[roi[1]:roi[3], roi[0]:roi[2]].astype(np.float32)
        base = cv2.resize(p_roi, fine.size, interpolation=cv2.INTER_AREA) > 0.5
        for c in ctx.neg_carve:  # exclude clicks cut their colour region out of the mask
            if c is not None:
                base &= ~(fine.crop_small(c, lab_small.shape) > 0.5)
        band = max(2, int(round(self.band_frac * np.sqrt(max(float(base.sum()), 1.0)))))
        seg = self._refine(fine_img, fine, base, band, ctx, lab_small)
        return self._candidates(img, roi, fine_img, seg, base, ctx, n_out)

    def _from_box(self, img, lab_small, ctx: "_Prompts", n_out: int, seed_small=None) -> list:
        """A box (+ points): colour-ratio seeded coarse GrabCut, then band refinement.

        ``seed_small`` (bool, on the embedding's small grid) marks pixels known to be the object
        (the colour region around a click) when the box is a guess made from clicks.
        """
        rects = [ctx.box] + [_point_rect(p) for p in ctx.pos]
        roi = self._roi(rects, ctx, 0.25)
        coarse = self._grid(roi, self.coarse_side, img)
        cimg = coarse.crop(img)
        bx0, by0, bx1, by1 = coarse.rect_to_grid(ctx.box)
        inbox = np.zeros(cimg.shape[:2], bool)
        inbox[by0:by1, bx0:bx1] = True
        tri = np.full(cimg.shape[:2], cv2.GC_BGD, np.uint8)
        if (~inbox).sum() >= 16:
            prob = _colour_prob(cimg, inbox, ~inbox, mixture=True)
            core = cv2.erode((prob > 0.9).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
            tri[inbox] = np.where(prob[inbox] > 0.5, cv2.GC_PR_FGD, cv2.GC_PR_BGD)
            tri[core & inbox] = cv2.GC_FGD
        else:  # the box is the whole frame: nothing outside it to learn the background from
            tri[inbox] = cv2.GC_PR_FGD
            _ring(tri, 1, cv2.GC_PR_BGD)
        carve = np.zeros(cimg.shape[:2], bool)
        for c in ctx.neg_carve:
            if c is not None:
                carve |= coarse.crop_small(c, lab_small.shape) > 0.5
        if carve.sum() >= 8:
            # colours closer to the excluded regions than to the object are not the object
            pos_sel = np.zeros_like(carve)
            for p in ctx.pos:
                pos_sel |= coarse.crop_small(self._click_region(lab_small, p, 1, ctx.w, ctx.h), lab_small.shape) > 0.5
            if seed_small is not None:
                pos_sel |= coarse.crop_small(seed_small, lab_small.shape) > 0.5
            pos_sel &= ~carve
            if pos_sel.sum() < 8:
                pos_sel = inbox & ~carve & ((tri == cv2.GC_PR_FGD) | (tri == cv2.GC_FGD))
            if pos_sel.sum() >= 8:
                pn = _colour_prob(cimg, carve, pos_sel, mixture=False)
                tri[inbox & (pn > 0.5) & ~pos_sel] = cv2.GC_PR_BGD
        if seed_small is not None:
            seed = (coarse.crop_small(seed_small, lab_small.shape) > 0.5) & inbox
            tri[seed] = cv2.GC_PR_FGD
            tri[(cv2.erode(seed.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0)] = cv2.GC_FGD
        self._apply_hard(tri, coarse, ctx, lab_small, 0)
        connected = seed_small is not None
        cseg = _clean(_grabcut(cimg, tri, self.coarse_iters), tri, connected_only=connected)
        return self._from_coarse(img, lab_small, ctx, roi, coarse, cseg, n_out, connected_only=connected)

    def _from_points(self, img, lab_small, ctx: "_Prompts", n_out: int) -> list:
        """Include clicks only (SAM's ambiguous single click).

        The colour region grown around the clicks (flood fill in smoothed Lab) is the "subpart"
        candidate (refined in a band). For the "part" and "whole" candidates the region's box,
        grown by ``_POINT_GROW`` times its size on each side (and kept under 70% of the frame),
        is used as a guessed box prompt with the region as certain foreground. One output
        returns the "part" candidate. The three scores are multiplied by
        ``_CLICK_EXTENT_PRIOR`` (smallest to largest).
        """
        h, w = ctx.h, ctx.w
        sx = w / float(lab_small.shape[1])
        sy = h / float(lab_small.shape[0])
        regions = {}
        for lvl in (0, 1):
            reg = np.zeros(lab_small.shape[:2], bool)
            for p in ctx.pos:
                reg |= self._click_region(lab_small, p, lvl, w, h)
            regions[lvl] = reg
        x0, y0, x1, y1 = _mask_rect(regions[1])
        rect = (int(x0 * sx), int(y0 * sy), int(np.ceil(x1 * sx)), int(np.ceil(y1 * sy)))
        for p in ctx.pos:
            pr = _point_rect(p)
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
            bctx = _Prompts(ctx.pos, ctx.neg, ctx.neg_carve, box, None, w, h)
            out.extend(self._from_box(img, lab_small, bctx, 1, seed_small=regions[0]))
        if n_out == 3:
            x0, y0, x1, y1 = _mask_rect(regions[_SUBPART_LEVEL])
            rects = [(int(x0 * sx), int(y0 * sy), int(np.ceil(x1 * sx)), int(np.ceil(y1 * sy)))]
            roi = self._roi(rects + [_point_rect(p) for p in ctx.pos], ctx, 0.25)
            fine = self._grid(roi, self.fine_side, img)
            fine_img = fine.crop(img)
            b8 = (fine.crop_small(regions[_SUBPART_LEVEL], lab_small.shape) > 0.5).astype(np.uint8)
            for p in ctx.pos:
                cv2.circle(b8, fine.to_grid(p), 1, 1, -1)
            base = b8 > 0
            band = max(2, int(round(self.band_frac * np.sqrt(max(float(base.sum()), 1.0)))))
            seg = self._refine(fine_img, fine, base, band, ctx, lab_small, connected_only=True, vote=False)
            out.extend(self._candidates(img, roi, fine_img, seg, base, ctx, 1))
        out.sort(key=lambda c: float((c[1] > 0.5).sum()))
        if len(out) == 3:
            # a click usually means the whole object: prefer larger candidates a little
            out = [(r, a, sc * f) for (r, a, sc), f in zip(out, _CLICK_EXTENT_PRIOR)]
        return out

    def _from_coarse(self, img, lab_small, ctx, roi, coarse, cseg, n_out, connected_only=False) -> list:
        fine = self._grid(roi, self.fine_side, img)
        fine_img = fine.crop(img)
        base = cv2.resize(cseg.astype(np.float32), fine.size, interpolation=cv2.INTER_LINEAR) > 0.5
        band = max(2, int(np.ceil(1.5 * fine.scale / coarse.scale)) + 1)
        # the coarse outline already comes from a GrabCut: no second GrabCut vote (measured: no gain)
        seg = self._refine(fine_img, fine, base, band, ctx, lab_small, connected_only, vote=False)
        return self._candidates(img, roi, fine_img, seg, base, ctx, n_out)

    def _refine(self, fine_img, fine, base, band, ctx, lab_small, connected_only=False, vote=True) -> np.ndarray:
        """Decide the ``band``-pixel band around ``base`` on the fine grid; bool ``(gh, gw)``.

        Outside the band the labels are fixed (core = object, far outside = background, plus
        the hard prompt labels). In the band each pixel gets the logit

        ``z = colour_weight * w * e + d / (prior_sigma * band)``

        where ``d`` is the signed distance (fine pixels, > 0 inside) to the outline of ``base``
        (the shape prior), ``e`` in about ``[-1, 1]`` says whether the pixel's colour is closer to
        the object or to the background -- half from *local* colour means/variances of the fixed
        object and background pixels within ``local_radius * band`` (box filters), half from
        global colour histograms -- and ``w`` in ``[0, 1]`` is how well the local colours
        separate (a Fisher ratio). Where colours do not separate, the answer stays at the prior.
        ``sigmoid(z)`` is edge-aware smoothed with a guided filter, mixed with a one-iteration
        banded GrabCut vote (weight ``graphcut_weight``; only for mask prompts: ``vote`` is false
        for box / click prompts, whose outline already comes from a GrabCut) and thresholded at 0.5.
        """
        tri_full = _band_trimap(base, band)
        self._apply_hard(tri_full, fine, ctx, lab_small, band)
        unknown = (tri_full == cv2.GC_PR_FGD) | (tri_full == cv2.GC_PR_BGD)
        if not unknown.any():
            return tri_full == cv2.GC_FGD
        # everything outside the band is fixed: work on the band's bounding box plus the
        # local-colour window radius only
        radius = max(3, int(self.local_radius * band + 2))
        ys = np.flatnonzero(unknown.any(axis=1))
        xs = np.flatnonzero(unknown.any(axis=0))
        gh, gw = tri_full.shape
        cy0, cy1 = max(0, ys[0] - radius), min(gh, ys[-1] + 1 + radius)
        cx0, cx1 = max(0, xs[0] - radius), min(gw, xs[-1] + 1 + radius)
        tri = np.ascontiguousarray(tri_full[cy0:cy1, cx0:cx1])
        img_c = np.ascontiguousarray(fine_img[cy0:cy1, cx0:cx1])
        sure_f = tri == cv2.GC_FGD
        sure_b = tri == cv2.GC_BGD
        if sure_f.sum() < 8 or sure_b.sum() < 8:
            seg_c = _grabcut(img_c, tri, self.fine_iters)
        else:
            guide = _planes(img_c)
            b8 = np.ascontiguousarray(base[cy0:cy1, cx0:cx1]).astype(np.uint8)
            dist = cv2.distanceTransform(b8, cv2.DIST_L2, 3) - cv2.distanceTransform(1 - b8, cv2.DIST_L2, 3)
            e, wconf = _colour_evidence(guide, img_c, sure_f, sure_b, radius)
            z = self.colour_weight * wconf * e + dist / max(1.0, self.prior_sigma * band)
            prob = 1.0 / (1.0 + np.exp(-np.clip(z, -20.0, 20.0)))
            prob[sure_f] = 1.0
            prob[sure_b] = 0.0
            if self.guide_radius > 0:
                a, b = _guided_coeffs(guide, prob.astype(np.float32), self.guide_radius, self.guide_eps)
                prob = _apply_guided(a, b, guide)
            if self.graphcut_weight > 0 and vote:
                prob = (1.0 - self.graphcut_weight) * prob + self.graphcut_weight * self._graphcut_vote(img_c, tri)
            seg_c = prob > 0.5
            seg_c[sure_f] = True
            seg_c[sure_b] = False
        seg = tri_full == cv2.GC_FGD
        seg[cy0:cy1, cx0:cx1] = seg_c
        return _clean(seg, tri_full, connected_only)

    def _graphcut_vote(self, img_c: np.ndarray, tri: np.ndarray) -> np.ndarray:
        """Banded GrabCut on a trimap crop, run at most ``vote_side`` px: float32 0/1 (bilinear)."""
        ch, cw = tri.shape
        s = min(1.0, self.vote_side / float(max(ch, cw)))
        if s >= 1.0:
            return _grabcut(img_c, tri, self.fine_iters).astype(np.float32)
        sz = (max(1, int(round(cw * s))), max(1, int(round(ch * s))))
        small_img = cv2.resize(img_c, sz, interpolation=cv2.INTER_AREA)
        small_tri = cv2.resize(tri, sz, interpolation=cv2.INTER_NEAREST)
        seg = _grabcut(small_img, small_tri, self.fine_iters).astype(np.float32)
        return cv2.resize(seg, (cw, ch), interpolation=cv2.INTER_LINEAR)

    def _candidates(self, img, roi, fine_img, seg, base, ctx, n_out) -> list:
        """Full-resolution alphas and scores: ``[main]`` or ``[main & prior, main, main | prior]``."""
        alpha = self._upsample(img, roi, fine_img, seg)
        if n_out == 1:
            return [(roi, alpha, self._score(img, roi, alpha, ctx))]
        prior = self._upsample(img, roi, fine_img, base, smooth_only=True)
        alphas = [np.minimum(alpha, prior), alpha, np.maximum(alpha, prior)]
        return [(roi, a, self._score(img, roi, a, ctx)) for a in alphas]

    # -- stages ---------------------------------------------------------------------------
    def _roi(self, rects: list, ctx: "_Prompts", frac: float, min_margin: float = 8.0) -> Rect:
        """Union of ``rects`` grown by ``frac`` of its longest side (at least ``min_margin`` px)."""
        x0 = min(r[0] for r in rects)
        y0 = min(r[1] for r in rects)
        x1 = max(r[2] for r in rects)
        y1 = max(r[3] for r in rects)
        m = int(max(frac * max(x1 - x0, y1 - y0), min_margin))
        roi = (max(0, x0 - m), max(0, y0 - m), min(ctx.w, x1 + m), min(ctx.h, y1 + m))
        if roi[2] - roi[0] < 4 or roi[3] - roi[1] < 4:
            raise ValueError(
                f"the frame ({ctx.w}x{ctx.h}) is too small to segment: give an image of at least 4x4 pixels."
            )
        return roi

    def _grid(self, roi: Rect, side: int, img: np.ndarray) -> "_Grid":
        scale = min(1.0, side / float(max(roi[2] - roi[0], roi[3] - roi[1])))
        return _Grid(roi, scale, (img.shape[1], img.shape[0]))

    def _apply_hard(self, tri: np.ndarray, grid: "_Grid", ctx: "_Prompts", lab_small: np.ndarray, band: int) -> None:
        """Write the certain labels (box outside, clicks, exclude regions) into a trimap in place."""
        gh, gw = tri.shape
        if ctx.box is not None:
            bx0, by0, bx1, by1 = grid.rect_to_grid(ctx.box)
            m = max(1, band // 2) if ctx.prior is not None else 0
            outside = np.ones((gh, gw), bool)
            outside[max(0, by0 - m):by1 + m, max(0, bx0 - m):bx1 + m] = False
            tri[outside] = cv2.GC_BGD
        r = max(1, int(round(0.015 * max(gh, gw))))
        for carve in ctx.neg_carve:
            if carve is not None:
                tri[grid.crop_small(carve, lab_small.shape) > 0.5] = cv2.GC_BGD
        for pts, label in ((ctx.neg, cv2.GC_BGD), (ctx.pos, cv2.GC_FGD)):
            for p in pts:
                if grid.contains(p):
                    cv2.circle(tri, grid.to_grid(p), r, int(label), -1)

    def _click_region(self, lab_small: np.ndarray, p: np.ndarray, level: int, w: int, h: int) -> np.ndarray:
        """Colour-similar region grown from a click on the small Lab image: bool ``(h_s, w_s)``."""
        sh, sw = lab_small.shape[:2]
        sx = min(sw - 1, max(0, int(p[0] * sw / w)))
        sy = min(sh - 1, max(0, int(p[1] * sh / h)))
        tol = _FLOOD_TOL[level]
        ff = np.zeros((sh + 2, sw + 2), np.uint8)
        flags = 4 | cv2.FLOODFILL_MASK_ONLY | cv2.FLOODFILL_FIXED_RANGE | (1 << 8)
        cv2.floodFill(lab_small, ff, (sx, sy), 0, tol, tol, flags)
        reg = ff[1:-1, 1:-1] > 0
        reg = cv2.morphologyEx(reg.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8)) > 0
        if reg.sum() > 0.6 * sh * sw:  # leaked into the whole frame: keep a local window
            rr = max(3, int(0.12 * min(sh, sw)))
            win = np.zeros_like(reg)
            win[max(0, sy - rr):sy + rr + 1, max(0, sx - rr):sx + rr + 1] = True
            reg &= win
        return reg

    def _carve_region(
        self, lab_small: np.ndarray, p: np.ndarray, pos: np.ndarray, w: int, h: int
    ) -> Optional[np.ndarray]:
        """Region to exclude around an exclude click (small grid).

        The medium colour region around the click; the tight one when the medium one reaches
        an include click; ``None`` when even that does (same colour: only the click itself is
        excluded then).
        """
        sh, sw = lab_small.shape[:2]
        for lvl in (1, 0):
            reg = self._click_region(lab_small, p, lvl, w, h)
            hit = False
            for q in pos:
                qx = min(sw - 1, int(q[0] * sw / w))
                qy = min(sh - 1, int(q[1] * sh / h))
                hit |= bool(reg[max(0, qy - 1):qy + 2, max(0, qx - 1):qx + 2].any())
            if not hit:
                return reg
        return None

    def _upsample(
        self, img: np.ndarray, roi: Rect, fine_img: np.ndarray, seg: np.ndarray, smooth_only: bool = False
    ) -> np.ndarray:
        """Fine-scale bool mask -> soft alpha ``(roi_h, roi_w)`` float32 in [0, 1] at full resolution.

        Colour guided filter: coefficients at the fine scale, applied to the full-res ROI.
        """
        x0, y0, x1, y1 = roi
        rw, rh = x1 - x0, y1 - y0
        p = seg.astype(np.float32)
        if smooth_only or self.guide_radius == 0:
            return np.clip(cv2.resize(p, (rw, rh), interpolation=cv2.INTER_LINEAR), 0.0, 1.0)
        guide = _planes(fine_img)
        a, b = _guided_coeffs(guide, p, self.guide_radius, self.guide_eps)
        if (rh, rw) != p.shape:
            a = [cv2.resize(c, (rw, rh), interpolation=cv2.INTER_LINEAR) for c in a]
            b = cv2.resize(b, (rw, rh), interpolation=cv2.INTER_LINEAR)
            guide = _planes(img[y0:y1, x0:x1])
        return np.clip(_apply_guided(a, b, guide), 0.0, 1.0)

    def _score(self, img: np.ndarray, roi: Rect, alpha: np.ndarray, ctx: "_Prompts") -> float:
        """Confidence in ``[0, 1]`` for one mask: a documented heuristic, not a learned IoU.

        ``score = (0.35 stability + 0.35 edge + 0.3 separation) * clicks`` with the terms of
        :meth:`_score_terms` (click candidates also get ``_CLICK_EXTENT_PRIOR``). Measured on
        DAVIS frames: it drops for masks that follow no image edge (a stale mask in the wrong
        place averages 0.45, a roughly right refined one 0.58, box answers 0.70); the best-scored
        of the 3 click candidates reaches 0.50 mean IoU where the best one would give 0.53;
        across prompt kinds it correlates only moderately with IoU (Pearson ~0.42). An empty
        mask scores 0.
        """
        t = self._score_terms(img, roi, alpha, ctx)
        if t is None:
            return 0.0
        s = sum(_SCORE_WEIGHTS[k] * t[k] for k in _SCORE_WEIGHTS) * t["clicks"]
        return float(np.clip(s, 0.0, 1.0))

    def _score_terms(self, img: np.ndarray, roi: Rect, alpha: np.ndarray, ctx: "_Prompts") -> Optional[dict]:
        """The terms of the confidence heuristic, each in ``[0, 1]`` (``None`` for an empty mask).

        * ``stability``: IoU(alpha > 0.75, alpha > 0.25) -- 1 when the guided filter found crisp
          image edges along the whole outline, lower where the outline crosses flat texture;
        * ``edge``: ``1 - 1 / r``, ``r`` = mean grey-gradient magnitude on the outline over the
          mean in the ROI (an outline no stronger than its surroundings gives 0);
        * ``separation``: ``1 -`` the histogram intersection of the colours just inside and just
          outside the outline (1 = object and surroundings share no colour);
        * ``clicks``: the fraction of clicks the mask obeys (include points inside, exclude
          points outside); 1 without clicks.
        """
        hard = alpha > 0.5
        if not hard.any():
            return None
        stability = float(np.count_nonzero(alpha > 0.75)) / max(1.0, float(np.count_nonzero(alpha > 0.25)))
        x0, y0, x1, y1 = roi
        step = max(1, int(max(x1 - x0, y1 - y0) // 192))
        sub_img = np.ascontiguousarray(img[y0:y1:step, x0:x1:step])
        sub = np.ascontiguousarray(hard[::step, ::step]).astype(np.uint8)
        grey = cv2.cvtColor(sub_img, cv2.COLOR_BGR2GRAY).astype(np.float32)
        mag = cv2.magnitude(cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3))
        outline = cv2.morphologyEx(sub, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
        edge = 0.0
        if outline.any():
            r = float(mag[outline].mean()) / (float(mag.mean()) + 1e-3)
            edge = max(0.0, 1.0 - 1.0 / max(r, 1e-3))
        k = max(1, int(round(0.08 * np.sqrt(float(sub.sum())))))
        ker = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1))
        inner = (sub > 0) & ~(cv2.erode(sub, ker, borderType=cv2.BORDER_CONSTANT, borderValue=0) > 0)
        outer = (cv2.dilate(sub, ker) > 0) & (sub == 0)
        separation = 0.0
        if inner.any() and outer.any():
            q = (sub_img.astype(np.int32) >> 5)
            idx = (q[..., 0] * 8 + q[..., 1]) * 8 + q[..., 2]
            hi_ = np.bincount(idx[inner], minlength=512).astype(np.float64)
            ho_ = np.bincount(idx[outer], minlength=512).astype(np.float64)
            separation = 1.0 - float(np.minimum(hi_ / hi_.sum(), ho_ / ho_.sum()).sum())
        clicks = []
        for p in ctx.pos:
            clicks.append(_inside(hard, roi, p))
        for p in ctx.neg:
            clicks.append(not _inside(hard, roi, p))
        clicks_ok = float(np.mean(clicks)) if clicks else 1.0
        return {"stability": stability, "edge": edge, "separation": separation, "clicks": clicks_ok}

    # ------------------------------------------------------------------------------------
    # segment everything
    # ------------------------------------------------------------------------------------
    def everything(
        self, image: Optional[np.ndarray] = None, min_area_frac: float = 0.002, max_masks: int = 32
    ) -> tuple[np.ndarray, np.ndarray]:
        """Split a frame into colour regions ("segment everything", classic style).

        About 60-150 ms at 640x480 on two cores. Steps: bilateral-smoothed copy (longest side
        320 px) -> k-means (k = 10) in Lab with a deterministic start -> 5x5 majority filter ->
        connected pieces merged over their adjacency graph while their mean colours differ by
        less than ``_EVERYTHING_MERGE_DIST`` (textured surfaces), pieces under the minimum area
        merged into their closest neighbour -> each region upsampled to the frame.

        Each region's score (``[0, 1]``) is ``0.5 * solidity + 0.5 * edge`` (solidity = area over
        convex-hull area; edge = ``1 - 1 / r`` with ``r`` the mean gradient on its outline over
        the frame mean). Regions are ranked by ``(0.5 + 0.5 * score) * sqrt(area)`` (mostly by
        size, so the kept masks cover most of the frame) and the first ``max_masks`` returned.

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
        if not 0.0 < float(min_area_frac) < 1.0:
            raise ValueError(f"min_area_frac must be in (0, 1) (a fraction of the frame area), got {min_area_frac!r}.")
        if not isinstance(max_masks, (int, np.integer)) or max_masks < 1:
            raise ValueError(f"max_masks must be an integer >= 1, got {max_masks!r}.")
        h, w = img.shape[:2]
        s = min(1.0, 320.0 / max(h, w))
        sw, sh = max(1, round(w * s)), max(1, round(h * s))
        small = cv2.resize(img, (sw, sh), interpolation=cv2.INTER_AREA) if s < 1.0 else img.copy()
        small = cv2.bilateralFilter(small, 7, 30, 7)
        small = cv2.bilateralFilter(small, 7, 30, 7)
        lab = cv2.cvtColor(small, cv2.COLOR_BGR2LAB)
        k = 10
        data = lab.reshape(-1, 3).astype(np.float32)
        # deterministic start: bins of lightness x rough hue side
        lum = np.clip((data[:, 0] * (k // 2) / 256.0).astype(np.int32), 0, k // 2 - 1)
        side = (data[:, 1] + data[:, 2] > 256).astype(np.int32)
        init = (lum * 2 + side).astype(np.int32).reshape(-1, 1)
        crit = (cv2.TERM_CRITERIA_MAX_ITER | cv2.TERM_CRITERIA_EPS, 8, 0.5)
        _, labels, _ = cv2.kmeans(data, k, init, crit, 1, cv2.KMEANS_USE_INITIAL_LABELS)
        labels = labels.reshape(sh, sw)
        # majority (mode) filter over a 5x5 window: removes speckle without inventing labels
        votes = np.stack([cv2.boxFilter((labels == c).astype(np.float32), -1, (5, 5)) for c in range(k)])
        labels = np.argmax(votes, axis=0).astype(np.uint8)
        # textured surfaces split into interleaved clusters: merge adjacent pieces of similar
        # mean colour, then pieces below the minimum area into their closest neighbour
        min_small = max(4, int(min_area_frac * sh * sw))
        labels = _merge_regions(labels, k, lab.astype(np.float32), _EVERYTHING_MERGE_DIST, min_small)
        k = int(labels.max()) + 1
        regions = []
        grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY).astype(np.float32)
        mag = cv2.magnitude(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
        mean_mag = float(mag.mean()) + 1e-3
        flat = labels.ravel()
        areas = np.bincount(flat, minlength=k)
        order = np.argsort(flat, kind="stable")
        starts = np.concatenate([[0], np.cumsum(areas)])
        for c in np.flatnonzero((areas >= min_small) & (areas <= 0.95 * sh * sw)):
            area = int(areas[c])
            pix = order[starts[c]:starts[c + 1]]
            ys, xs = pix // sw, pix % sw
            x, y = int(xs.min()), int(ys.min())
            bw, bh = int(xs.max()) - x + 1, int(ys.max()) - y + 1
            sub = (labels[y:y + bh, x:x + bw] == c).astype(np.uint8)
            cnts, _ = cv2.findContours(sub, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
            hull = cv2.convexHull(np.concatenate(cnts)) if cnts else None
            solidity = area / max(1.0, cv2.contourArea(hull)) if hull is not None else 0.0
            sub_pad = cv2.copyMakeBorder(sub, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
            outline = cv2.morphologyEx(sub_pad, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))[1:-1, 1:-1] > 0
            m = mag[y:y + bh, x:x + bw][outline]
            r = float(m.mean()) / mean_mag if m.size else 0.0
            edge = max(0.0, 1.0 - 1.0 / max(r, 1e-3))
            score = float(np.clip(0.5 * min(1.0, solidity) + 0.5 * edge, 0.0, 1.0))
            # rank: mostly by size (so that max_masks keeps the regions covering most of the
            # frame), moderated by the confidence
            rank = (0.5 + 0.5 * score) * np.sqrt(area)
            regions.append((rank, score, int(c), (x, y, bw, bh)))
        regions.sort(key=lambda t: -t[0])
        regions = regions[: int(max_masks)]
        masks = np.zeros((len(regions), h, w), bool)
        scores = np.zeros(len(regions), np.float32)
        for i, (_rank, score, c, (x, y, bw, bh)) in enumerate(regions):
            sub = (labels[y:y + bh, x:x + bw] == c).astype(np.float32)
            fx0, fy0 = int(np.floor(x / s)), int(np.floor(y / s))
            fx1, fy1 = min(w, int(np.ceil((x + bw) / s))), min(h, int(np.ceil((y + bh) / s)))
            up = cv2.resize(sub, (fx1 - fx0, fy1 - fy0), interpolation=cv2.INTER_LINEAR) > 0.5
            masks[i, fy0:fy1, fx0:fx1] = up
            scores[i] = score
        # the upsampled regions may overlap by a pixel at their borders: first (best) wins
        if len(masks) > 1:
            taken = np.zeros((h, w), bool)
            for i in range(len(masks)):
                masks[i] &= ~taken
                taken |= masks[i]
        return masks, scores


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------
class _Prompts:
    """The checked prompt of one object, in frame pixels."""

    def __init__(self, pos, neg, neg_carve, box, prior, w, h):
        self.pos = pos
        self.neg = neg
        self.neg_carve = neg_carve
        self.box = box
        self.prior = prior
        self.w = w
        self.h = h


class _Grid:
    """A ROI of the frame resampled by ``scale`` (<= 1)."""

    def __init__(self, roi: Rect, scale: float, frame_wh: tuple[int, int]) -> None:
        self.roi = roi
        self.frame_wh = frame_wh
        x0, y0, x1, y1 = roi
        self.gw = max(1, int(round((x1 - x0) * scale)))
        self.gh = max(1, int(round((y1 - y0) * scale)))
        self.sx = self.gw / float(x1 - x0)
        self.sy = self.gh / float(y1 - y0)
        self.scale = min(self.sx, self.sy)

    @property
    def size(self) -> tuple[int, int]:
        return (self.gw, self.gh)

    def crop(self, img: np.ndarray) -> np.ndarray:
        x0, y0, x1, y1 = self.roi
        c = img[y0:y1, x0:x1]
        if (self.gw, self.gh) == (x1 - x0, y1 - y0):
            return np.ascontiguousarray(c)
        return cv2.resize(c, (self.gw, self.gh), interpolation=cv2.INTER_AREA)

    def crop_small(self, small_mask: np.ndarray, small_shape: tuple) -> np.ndarray:
        """A bool mask on the embedding's small grid ``(h_s, w_s)`` -> float32 ``(gh, gw)`` on this grid."""
        x0, y0 = self.roi[0], self.roi[1]
        sh, sw = small_shape[:2]
        fw, fh = self.frame_wh
        kx, ky = sw / float(fw), sh / float(fh)
        # grid pixel centre (g + 0.5) -> frame x0 + (g + 0.5) / s -> small (.) * k - 0.5
        m = np.array(
            [[kx / self.sx, 0.0, (x0 + 0.5 / self.sx) * kx - 0.5],
             [0.0, ky / self.sy, (y0 + 0.5 / self.sy) * ky - 0.5]],
            np.float64,
        )
        return cv2.warpAffine(
            small_mask.astype(np.float32), m, (self.gw, self.gh),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT, borderValue=0.0,
        )

    def contains(self, p: np.ndarray) -> bool:
        """Whether frame point ``(x, y)`` lies in the ROI."""
        x0, y0, x1, y1 = self.roi
        return x0 <= float(p[0]) <= x1 and y0 <= float(p[1]) <= y1

    def to_grid(self, p: np.ndarray) -> tuple[int, int]:
        x0, y0 = self.roi[0], self.roi[1]
        gx = int(np.clip((float(p[0]) - x0) * self.sx, 0, self.gw - 1))
        gy = int(np.clip((float(p[1]) - y0) * self.sy, 0, self.gh - 1))
        return gx, gy

    def rect_to_grid(self, r: Rect) -> Rect:
        x0, y0 = self.roi[0], self.roi[1]
        return (
            int(np.clip(np.floor((r[0] - x0) * self.sx), 0, self.gw)),
            int(np.clip(np.floor((r[1] - y0) * self.sy), 0, self.gh)),
            int(np.clip(np.ceil((r[2] - x0) * self.sx), 0, self.gw)),
            int(np.clip(np.ceil((r[3] - y0) * self.sy), 0, self.gh)),
        )


def _small_lab(img: np.ndarray) -> np.ndarray:
    """``uint8 (H, W, 3)`` BGR -> bilateral-smoothed Lab, longest side <= ``_SMALL_SIDE``."""
    h, w = img.shape[:2]
    s = min(1.0, _SMALL_SIDE / float(max(h, w)))
    small = img if s >= 1.0 else cv2.resize(
        img, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA
    )
    return cv2.cvtColor(cv2.bilateralFilter(small, 5, 20, 5), cv2.COLOR_BGR2LAB)


def _box_rect(box: np.ndarray, w: int, h: int) -> Rect:
    x0 = int(np.clip(np.floor(box[0]), 0, w))
    y0 = int(np.clip(np.floor(box[1]), 0, h))
    x1 = int(np.clip(np.ceil(box[2]), 0, w))
    y1 = int(np.clip(np.ceil(box[3]), 0, h))
    return (x0, y0, x1, y1)


def _mask_rect(m: np.ndarray) -> Rect:
    ys = np.flatnonzero(m.any(axis=1))
    xs = np.flatnonzero(m.any(axis=0))
    return (int(xs[0]), int(ys[0]), int(xs[-1]) + 1, int(ys[-1]) + 1)


def _inside(hard: np.ndarray, roi: Rect, p: np.ndarray) -> bool:
    x = int(p[0]) - roi[0]
    y = int(p[1]) - roi[1]
    if 0 <= y < hard.shape[0] and 0 <= x < hard.shape[1]:
        return bool(hard[y, x])
    return False


def _band_trimap(base: np.ndarray, band: int) -> np.ndarray:
    """Bool prior -> GrabCut trimap: eroded core FGD, far outside BGD, a ``band``-px band probable."""
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1, 2 * band + 1))
    b8 = base.astype(np.uint8)
    core = cv2.erode(b8, k, borderType=cv2.BORDER_CONSTANT, borderValue=0) > 0
    near = cv2.dilate(b8, k) > 0
    tri = np.full(base.shape, cv2.GC_BGD, np.uint8)
    tri[near] = cv2.GC_PR_BGD
    tri[base] = cv2.GC_PR_FGD
    tri[core] = cv2.GC_FGD
    return tri


def _grabcut(img: np.ndarray, tri: np.ndarray, iters: int) -> np.ndarray:
    """GrabCut from a trimap; returns bool foreground. Falls back to the trimap when it cannot run."""
    fg = (tri == cv2.GC_FGD) | (tri == cv2.GC_PR_FGD)
    n_fg = int(fg.sum())
    n_bg = tri.size - n_fg
    unknown = (tri == cv2.GC_PR_FGD) | (tri == cv2.GC_PR_BGD)
    if n_fg < 8 or n_bg < 8 or not unknown.any():
        return fg
    m = tri.copy()
    bgd = np.zeros((1, 65), np.float64)
    fgd = np.zeros((1, 65), np.float64)
    try:
        # GrabCut seeds its GMMs with k-means on OpenCV's (per-thread) RNG: fix it so that the
        # same frame and prompt always give the same mask
        cv2.setRNGSeed(0x5A5)
        cv2.grabCut(img, m, None, bgd, fgd, int(iters), cv2.GC_INIT_WITH_MASK)
    except cv2.error:
        return fg
    return (m == cv2.GC_FGD) | (m == cv2.GC_PR_FGD)


def _clean(seg: np.ndarray, tri: np.ndarray, connected_only: bool = False) -> np.ndarray:
    """Drop specks and fill small holes.

    Keeps the components that hold certain foreground and, unless ``connected_only``, those of
    at least 15% of the largest one; fills holes smaller than 1% of the mask.
    """
    if not seg.any():
        return seg
    n, cc, stats, _ = cv2.connectedComponentsWithStats(seg.astype(np.uint8), connectivity=8)
    if n > 2 or connected_only:
        sure = np.unique(cc[tri == cv2.GC_FGD])
        sure = sure[sure > 0]
        if connected_only and sure.size:
            keep = np.zeros(n - 1, bool)
        else:
            areas = stats[1:, cv2.CC_STAT_AREA]
            keep = areas >= 0.15 * areas.max()
        keep[sure - 1] = True
        seg = np.concatenate([[False], keep])[cc]
    inv = (~seg).astype(np.uint8)
    n, cc, stats, _ = cv2.connectedComponentsWithStats(inv, connectivity=4)
    if n > 2:
        limit = 0.01 * float(seg.sum())
        hh, ww = seg.shape
        x, y, bw, bh, a = (stats[1:, k] for k in range(5))
        fill = (a <= limit) & (x > 0) & (y > 0) & (x + bw < ww) & (y + bh < hh)
        if fill.any():
            seg = seg | np.concatenate([[False], fill])[cc]
    return seg


def _merge_regions(labels: np.ndarray, k: int, lab: np.ndarray, max_dist: float, min_area: int) -> np.ndarray:
    """Connected pieces of a cluster map, merged greedily (region adjacency graph).

    ``labels`` ``(h, w)`` uint8 cluster ids ``< k``; ``lab`` ``(h, w, 3)`` float32 colours. Adjacent
    pieces whose mean colours differ by less than ``max_dist`` are merged (closest pairs first),
    then pieces smaller than ``min_area`` pixels join their closest-coloured neighbour. Returns
    ``(h, w)`` int32 region ids ``0..n-1``.
    """
    h, w = labels.shape
    comp = np.zeros((h, w), np.int32)
    n = 0
    for c in range(k):
        m = (labels == c).astype(np.uint8)
        if not m.any():
            continue
        nc, cc = cv2.connectedComponents(m, connectivity=4)
        sel = cc > 0
        comp[sel] = cc[sel] + (n - 1)
        n += nc - 1
    flat = comp.ravel()
    cnt = np.bincount(flat, minlength=n).astype(np.float64)
    sums = np.stack([np.bincount(flat, weights=lab[..., ch].ravel(), minlength=n) for ch in range(3)], axis=1)
    a = np.concatenate([comp[:, :-1].ravel(), comp[:-1, :].ravel()])
    b = np.concatenate([comp[:, 1:].ravel(), comp[1:, :].ravel()])
    diff = a != b
    a, b = np.minimum(a[diff], b[diff]), np.maximum(a[diff], b[diff])
    pairs = np.unique(a.astype(np.int64) * n + b)
    pa, pb = (pairs // n).astype(np.int64), (pairs % n).astype(np.int64)
    parent = np.arange(n)

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def dist(x: int, y: int) -> float:
        return float(np.linalg.norm(sums[x] / cnt[x] - sums[y] / cnt[y]))

    means = sums / cnt[:, None]
    order = np.argsort(np.linalg.norm(means[pa] - means[pb], axis=1), kind="stable")
    for pass_small in (False, True):
        for e in order:
            x, y = find(int(pa[e])), find(int(pb[e]))
            if x == y:
                continue
            if pass_small:
                if min(cnt[x], cnt[y]) >= min_area:
                    continue
            elif dist(x, y) >= max_dist:
                continue
            if cnt[x] < cnt[y]:
                x, y = y, x
            parent[y] = x
            cnt[x] += cnt[y]
            sums[x] += sums[y]
    roots = np.array([find(i) for i in range(n)])
    _, relabel = np.unique(roots, return_inverse=True)
    return relabel.astype(np.int32)[comp]


def _ring(a: np.ndarray, width: int, value) -> None:
    """Set the outer ``width`` pixels of ``a`` to ``value`` in place."""
    a[:width, :] = value
    a[-width:, :] = value
    a[:, :width] = value
    a[:, -width:] = value


def _point_rect(p: np.ndarray, r: int = 3) -> Rect:
    return (int(p[0]) - r, int(p[1]) - r, int(p[0]) + r + 1, int(p[1]) + r + 1)


#: weights of the confidence terms (see ``ClassicPredictor._score_terms``); they sum to 1
_SCORE_WEIGHTS = {"stability": 0.35, "edge": 0.35, "separation": 0.3}

#: growth of the click region's box (times its size, per side) for the "part" / "whole" guesses
_POINT_GROW = (0.5, 1.0)
#: flood level (0 tight, 1 medium) of the "subpart" candidate
_SUBPART_LEVEL = 1
#: score factors of the 3 click candidates, smallest to largest (a click usually means the whole
#: object; on DAVIS frames this raises the IoU of the best-scored candidate from 0.40 to 0.50)
_CLICK_EXTENT_PRIOR = (0.85, 0.93, 1.0)

#: adjacent "everything" regions whose mean Lab colours (8-bit units) differ less are merged
_EVERYTHING_MERGE_DIST = 14.0

#: colour histogram bins per BGR channel for the colour-ratio seeds
_HIST_BINS = 16


def _colour_prob(img: np.ndarray, fg: np.ndarray, bg: np.ndarray, mixture: bool) -> np.ndarray:
    """Per-pixel foreground probability ``(h, w)`` float32 from smoothed BGR colour histograms.

    ``fg`` / ``bg`` are bool sample regions. With ``mixture=False`` they are pure samples and
    ``p = d_fg / (d_fg + d_bg)``. With ``mixture=True`` (a box) the ``fg`` region holds the object
    *and* some background, so ``d_in = a d_obj + (1 - a) d_bg`` and
    ``p = 1 - (1 - a) d_bg / d_in``; the object fraction ``a`` is estimated by a few fixed-point
    steps ``a = mean(p over the box)``.
    """
    b = _HIST_BINS
    q = (img.astype(np.int32) * b) >> 8
    idx = (q[..., 0] * b + q[..., 1]) * b + q[..., 2]
    hf = _blur_hist(np.bincount(idx[fg], minlength=b ** 3).astype(np.float32).reshape(b, b, b))
    hb = _blur_hist(np.bincount(idx[bg], minlength=b ** 3).astype(np.float32).reshape(b, b, b))
    df = (hf / max(float(hf.sum()), 1e-6)).reshape(-1)
    db = (hb / max(float(hb.sum()), 1e-6)).reshape(-1)
    if mixture:
        r = (db / (df + 1e-9))[idx]
        a = 0.5
        for _ in range(3):
            a = float(np.clip(np.clip(1.0 - (1.0 - a) * r[fg], 0.0, 1.0).mean(), 0.15, 0.85))
        p = np.clip(1.0 - (1.0 - a) * r, 0.0, 1.0)
        p[~fg] = 0.0
    else:
        p = (df / (df + db + 1e-9))[idx]
    return cv2.GaussianBlur(p.astype(np.float32), (3, 3), 0)


def _blur_hist(h: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    """Separable Gaussian blur of a cubic 3-D histogram (zero outside)."""
    b = h.shape[0]
    k = int(2 * round(2 * sigma) + 1)
    h = cv2.GaussianBlur(np.ascontiguousarray(h), (k, k), sigma, borderType=cv2.BORDER_CONSTANT)
    g = cv2.getGaussianKernel(k, sigma).astype(np.float32)
    one = np.ones((1, 1), np.float32)
    return cv2.sepFilter2D(
        np.ascontiguousarray(h.reshape(b * b, b)), -1, g, one, borderType=cv2.BORDER_CONSTANT
    ).reshape(b, b, b)


def _planes(img: np.ndarray) -> list[np.ndarray]:
    """``uint8 (h, w, 3)`` -> three contiguous float32 planes in ``[0, 1]``."""
    return list(cv2.split(img.astype(np.float32) * (1.0 / 255.0)))


def _colour_evidence(
    g: list[np.ndarray], img: np.ndarray, fg: np.ndarray, bg: np.ndarray, radius: int
) -> tuple[np.ndarray, np.ndarray]:
    """Colour evidence ``e`` (about ``[-1, 1]``, > 0 = object-like) and its confidence ``w`` in ``[0, 1]``.

    ``g`` holds the image as three float32 ``[0, 1]`` planes, ``img`` the same ``uint8 (h, w, 3)``;
    ``fg`` / ``bg`` are the fixed sample pixels. Local part: object / background colour means and
    variances in a ``(2 radius + 1)^2`` window (unnormalised box filters),
    ``e_loc = (|I - m_b|^2 - |I - m_f|^2) / (|m_f - m_b|^2 + v_f + v_b)`` and
    ``w = |m_f - m_b|^2 / (|m_f - m_b|^2 + v_f + v_b)``. Global part: the log ratio of smoothed
    colour histograms, scaled to ``[-1, 1]``, added with weight 0.5. Where a window lacks
    samples of either side only the global part is used, with ``w = 0.5``.
    """
    k = (2 * radius + 1, 2 * radius + 1)

    def box(x):
        return cv2.boxFilter(x, -1, k, normalize=False, borderType=cv2.BORDER_CONSTANT)

    ff = fg.astype(np.float32)
    bf = bg.astype(np.float32)
    sq = g[0] * g[0] + g[1] * g[1] + g[2] * g[2]
    n_f = box(ff)
    n_b = box(bf)
    inv_f = 1.0 / np.maximum(n_f, 1.0)
    inv_b = 1.0 / np.maximum(n_b, 1.0)
    mu_f = [box(c * ff) * inv_f for c in g]
    mu_b = [box(c * bf) * inv_b for c in g]
    v_f = box(sq * ff) * inv_f
    v_b = box(sq * bf) * inv_b
    sep = np.zeros_like(sq)
    d_f = np.zeros_like(sq)
    d_b = np.zeros_like(sq)
    for c, mf, mb in zip(g, mu_f, mu_b):
        v_f -= mf * mf
        v_b -= mb * mb
        sep += (mf - mb) ** 2
        d_f += (c - mf) ** 2
        d_b += (c - mb) ** 2
    denom = sep + np.maximum(v_f, 1e-4) + np.maximum(v_b, 1e-4)
    pg = _colour_prob(img, fg, bg, mixture=False)
    e_glob = np.clip(np.log((pg + 1e-3) / (1.0 - pg + 1e-3)), -4.0, 4.0) * 0.25
    ok = (n_f >= 5) & (n_b >= 5)
    e = np.where(ok, (d_b - d_f) / denom + 0.5 * e_glob, e_glob)
    w = np.where(ok, sep / denom, 0.5)
    return e.astype(np.float32), w.astype(np.float32)


def _guided_coeffs(g: list[np.ndarray], p: np.ndarray, r: int, eps: float) -> tuple[list[np.ndarray], np.ndarray]:
    """Colour guided filter (He et al. 2010): box-averaged coefficients ``a`` (3 planes), ``b``.

    ``g``: guide as three float32 planes in ``[0, 1]``; ``p``: float32 input; the filtered output
    is ``a0 g0 + a1 g1 + a2 g2 + b`` (:func:`_apply_guided`), also on an upsampled guide.
    """
    k = (2 * r + 1, 2 * r + 1)

    def box(x):
        return cv2.boxFilter(x, -1, k, borderType=cv2.BORDER_REFLECT)

    g0, g1, g2 = g
    m0, m1, m2 = box(g0), box(g1), box(g2)
    mp = box(p)
    c0 = box(g0 * p) - m0 * mp
    c1 = box(g1 * p) - m1 * mp
    c2 = box(g2 * p) - m2 * mp
    v00 = box(g0 * g0) - m0 * m0 + eps
    v01 = box(g0 * g1) - m0 * m1
    v02 = box(g0 * g2) - m0 * m2
    v11 = box(g1 * g1) - m1 * m1 + eps
    v12 = box(g1 * g2) - m1 * m2
    v22 = box(g2 * g2) - m2 * m2 + eps
    # inverse of the symmetric 3x3 covariance by cofactors
    i00 = v11 * v22 - v12 * v12
    i01 = v02 * v12 - v01 * v22
    i02 = v01 * v12 - v02 * v11
    i11 = v00 * v22 - v02 * v02
    i12 = v01 * v02 - v00 * v12
    i22 = v00 * v11 - v01 * v01
    inv_det = 1.0 / np.maximum(v00 * i00 + v01 * i01 + v02 * i02, 1e-12)
    a0 = (i00 * c0 + i01 * c1 + i02 * c2) * inv_det
    a1 = (i01 * c0 + i11 * c1 + i12 * c2) * inv_det
    a2 = (i02 * c0 + i12 * c1 + i22 * c2) * inv_det
    b = mp - a0 * m0 - a1 * m1 - a2 * m2
    return [box(a0), box(a1), box(a2)], box(b)


def _apply_guided(a: list[np.ndarray], b: np.ndarray, g: list[np.ndarray]) -> np.ndarray:
    return a[0] * g[0] + a[1] * g[1] + a[2] * g[2] + b

