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

from ...geometry import box_iou, box_nms
from .config import EverythingConfig
from .generator import MaskGenerator, MaskRecord
from .ops import build_point_grid, remove_small_regions, stability_score

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
