"""Settings of the segment-everything generator, validated."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

__all__ = ["EverythingConfig"]

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
