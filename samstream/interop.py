"""Interop with other vision libraries (optional; each imported only when used).

* roboflow ``supervision``: :func:`to_supervision` / :func:`from_supervision` convert a
  :class:`~samstream.types.Segmentation` to and from ``supervision.Detections`` with masks
  (also as ``Segmentation.to_supervision()`` / ``Segmentation.from_supervision(...)``).

Mapping: ``xyxy`` = the masks' boxes (``x2``/``y2`` exclusive pixels, float32), ``mask`` = ``(N, H, W)``
bool, ``confidence`` = scores, ``tracker_id`` = object ids and ``class_id`` = object ids too (so
supervision's annotators colour each object apart; pass ``class_id=`` to set real classes), and
``data["lost"]``. Lost (empty-mask) objects are left out unless ``include_lost=True``.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .types import Segmentation

__all__ = ["to_supervision", "from_supervision"]


def _sv():
    try:
        import supervision as sv
    except ImportError as exc:
        raise ImportError("to_supervision()/from_supervision() need roboflow supervision: "
                          "pip install 'samstream[viz]' (or pip install supervision).") from exc
    return sv


def to_supervision(seg: Segmentation, include_lost: bool = False, class_id: Optional[np.ndarray] = None) -> Any:
    """``seg`` -> ``supervision.Detections`` (see the module docstring for the mapping)."""
    sv = _sv()
    keep = np.ones(len(seg), bool) if include_lost else ~seg.lost
    boxes = seg.boxes()[keep]
    boxes = np.where(np.isfinite(boxes), boxes, 0.0).astype(np.float32)
    ids = seg.object_ids[keep].astype(int)
    if class_id is not None:
        class_id = np.asarray(class_id, dtype=int).reshape(-1)
        if class_id.shape[0] != len(seg):
            raise ValueError(f"class_id needs one class per object ({len(seg)}), got {class_id.shape[0]}.")
        class_id = class_id[keep]
    h, w = seg.image_size
    masks = seg.masks[keep] if len(seg) else np.zeros((0, h, w), bool)
    return sv.Detections(xyxy=boxes.reshape(-1, 4), mask=masks, confidence=seg.scores[keep].astype(np.float32),
                         class_id=ids if class_id is None else class_id, tracker_id=ids,
                         data={"lost": seg.lost[keep].copy()})


def from_supervision(detections: Any, frame_index: int = 0, timestamp: float = 0.0,
                     image_size: Optional[tuple[int, int]] = None) -> Segmentation:
    """``supervision.Detections`` (with masks) -> :class:`Segmentation`.

    Object ids come from ``tracker_id`` (else ``1..N``); scores from ``confidence`` (else 1);
    ``image_size`` ``(H, W)`` is needed only for an empty ``Detections``.
    """
    mask = getattr(detections, "mask", None)
    n = len(detections)
    if mask is None:
        if n:
            raise ValueError("these Detections have no masks: samstream results are masks; segment the boxes "
                             "first (e.g. Pipeline prompts=['box:...']) or give Detections(mask=...).")
        if image_size is None:
            raise ValueError("empty Detections without masks: pass image_size=(H, W).")
        mask = np.zeros((0, *image_size), bool)
    mask = np.asarray(mask, dtype=bool)
    tid = getattr(detections, "tracker_id", None)
    ids = np.arange(1, n + 1) if tid is None else np.asarray(tid, dtype=int)
    conf = getattr(detections, "confidence", None)
    scores = np.ones(n, np.float32) if conf is None else np.asarray(conf, np.float32)
    lost = detections.data.get("lost") if isinstance(getattr(detections, "data", None), dict) else None
    return Segmentation(mask, np.clip(scores, 0, 1), ids, int(frame_index), float(timestamp), lost=lost)
