"""A naive baseline tracker for :func:`~samstream.eval.evaluate`: masks carried by optical flow."""

from __future__ import annotations

import collections
from typing import Any, Mapping, MutableMapping, Optional

import cv2
import numpy as np

from ..types import Frame, Segmentation

__all__ = ["FlowWarpBaseline", "FlowCache"]


class FlowCache(collections.OrderedDict):
    """A small LRU of computed flows keyed by the two frames' (subsampled) pixels,
    so several baselines run side by side on the same frames (one per oracle setting) compute
    each flow once. Holds at most ``maxsize`` flows (``(H, W, 2)`` float32 each)."""

    def __init__(self, maxsize: int = 16):
        super().__init__()
        if maxsize < 1:
            raise ValueError(f"FlowCache maxsize must be >= 1, got {maxsize}.")
        self.maxsize = int(maxsize)

    def put(self, key, value) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.maxsize:
            self.popitem(last=False)


class FlowWarpBaseline:
    """Naive baseline: carry each object's mask from frame to frame with DIS optical flow.

    For each new frame, dense flow is computed **from the current frame to the previous one**
    (``DIS.calc(current, previous)``, preset MEDIUM, on grey images), so every pixel of the
    current frame knows where it came from; the previous binary mask is then backward-warped
    with ``cv2.remap`` (bilinear, outside = background) and thresholded at ``>= threshold``
    (0.5). Backward warping leaves no holes, unlike pushing pixels forward along the flow.
    Objects are warped independently (their masks may overlap). There is no re-detection,
    so errors accumulate: this is the floor a real tracker should beat.

    Oracle keyframes (:meth:`refresh_masks`): a mask of a past frame ``k`` replaces the carried
    one, moved from ``k`` to the current frame through the last ``flow_history`` per-frame flows
    (composed into one field, one interpolation) — the same protocol the tracker gets, so the
    comparison isolates what happens between keyframes.

    Prompts become the initial mask on the next ``track()`` frame: a mask as is, else the box
    region itself (``x1, y1, x2, y2`` pixels, filled), else discs of radius ``point_radius``
    (default ``max(2, round(0.02 * min(H, W)))``, about 10 px at 480p) around positive points,
    minus discs around negative points.
    """

    def __init__(
        self,
        preset: int = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
        threshold: float = 0.5,
        point_radius: Optional[int] = None,
        flow_history: int = 12,
        flow_cache: Optional[MutableMapping] = None,
    ) -> None:
        if flow_history < 1:
            raise ValueError(f"flow_history must be >= 1 frame, got {flow_history}.")
        self._dis = cv2.DISOpticalFlow_create(preset)
        self._cache = flow_cache
        self._ring: collections.deque = collections.deque(maxlen=int(flow_history))  # (index, prev index, flow)
        self._refresh: list[tuple[int, dict[int, np.ndarray]]] = []
        self._prev_index = -1
        self._prev_source = ""
        self.threshold = float(threshold)
        self.point_radius = point_radius
        self._pending: dict[int, dict[str, Any]] = {}
        self._masks: dict[int, np.ndarray] = {}
        self._prev: Optional[np.ndarray] = None
        self._grid: Optional[tuple[np.ndarray, np.ndarray]] = None
        self._key_index = -1

    def reset(self) -> None:
        self._pending.clear()
        self._masks.clear()
        self._prev = None
        self._key_index = -1
        self._ring.clear()
        self._refresh.clear()

    def refresh_masks(self, key_index: int, masks: Mapping[int, np.ndarray]) -> None:
        """Replace objects' masks with ``masks`` of the past frame ``key_index`` (applied, moved
        forward to it, at the next :meth:`track`)."""
        self._refresh.append((int(key_index), {int(k): np.asarray(v).astype(bool) for k, v in masks.items()}))

    def _carry(self, mask: np.ndarray, key_index: int, now: int) -> Optional[np.ndarray]:
        if key_index == now:
            return mask.copy()
        entries = [e for e in self._ring if e[0] > key_index]
        if not entries or entries[-1][0] != now or entries[0][1] != key_index:
            return None
        h, w = mask.shape
        gx, gy = self._grid
        total = entries[-1][2].copy()
        for _, _, f in reversed(entries[:-1]):
            total += cv2.remap(f, gx + total[..., 0], gy + total[..., 1], cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)
        warped = cv2.remap(mask.astype(np.float32), gx + total[..., 0], gy + total[..., 1], cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        return warped >= self.threshold

    def add_object(self, obj_id: int, points=None, labels=None, box=None, mask=None) -> None:
        if not isinstance(obj_id, (int, np.integer)) or not 1 <= int(obj_id) <= 255:
            raise ValueError(f"obj_id must be an integer in 1..255, got {obj_id!r}.")
        if points is None and box is None and mask is None:
            raise ValueError(f"object {obj_id} has no prompt: give points (+labels), a box or a mask.")
        self._pending[int(obj_id)] = {"points": points, "labels": labels, "box": box, "mask": mask}

    def _initial_mask(self, prompt: Mapping[str, Any], h: int, w: int) -> np.ndarray:
        if prompt["mask"] is not None:
            m = np.asarray(prompt["mask"]).astype(bool)
            if m.shape != (h, w):
                raise ValueError(f"mask prompt is {m.shape[::-1]} but the frame is {(w, h)}.")
            return m.copy()
        out = np.zeros((h, w), dtype=np.uint8)
        if prompt["box"] is not None:
            x1, y1, x2, y2 = np.asarray(prompt["box"], dtype=np.float64).reshape(4)
            xa, ya = max(0, int(np.floor(x1))), max(0, int(np.floor(y1)))
            xb, yb = min(w, int(np.ceil(x2))), min(h, int(np.ceil(y2)))
            out[ya:yb, xa:xb] = 1
            return out.astype(bool)
        pts = np.asarray(prompt["points"], dtype=np.float64).reshape(-1, 2)
        labels = np.ones(len(pts), np.int32) if prompt["labels"] is None else np.asarray(prompt["labels"]).reshape(-1)
        if labels.shape[0] != pts.shape[0]:
            raise ValueError(f"{pts.shape[0]} points but {labels.shape[0]} labels.")
        r = self.point_radius if self.point_radius is not None else max(2, int(round(0.02 * min(h, w))))
        for (x, y), lab in sorted(zip(pts.tolist(), labels.tolist()), key=lambda t: -t[1]):
            cv2.circle(out, (int(round(x)), int(round(y))), int(r), 1 if lab == 1 else 0, thickness=-1)
        return out.astype(bool)

    def track(self, frame: Frame) -> Segmentation:
        h, w = frame.height, frame.width
        grey = cv2.cvtColor(frame.image, cv2.COLOR_BGR2GRAY)
        if self._prev is not None and self._prev.shape != grey.shape:
            raise ValueError(
                f"frame size changed from {self._prev.shape[::-1]} to {grey.shape[::-1]}: call reset()."
            )
        if self._prev is not None and self._masks:
            key = None
            if self._cache is not None:  # the two images themselves (subsampled) name the flow
                key = (hash(self._prev[::8, ::8].tobytes()), hash(grey[::8, ::8].tobytes()), grey.shape)
            flow = self._cache.get(key) if key is not None else None
            if flow is None:
                flow = self._dis.calc(grey, self._prev, None)  # current -> previous
                if key is not None:
                    put = getattr(self._cache, "put", None)
                    put(key, flow) if callable(put) else self._cache.__setitem__(key, flow)
            self._ring.append((frame.index, self._prev_index, flow))
            if self._grid is None or self._grid[0].shape != (h, w):
                gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
                self._grid = (gx, gy)
            map_x = self._grid[0] + flow[..., 0]
            map_y = self._grid[1] + flow[..., 1]
            for oid, m in self._masks.items():
                warped = cv2.remap(
                    m.astype(np.float32), map_x, map_y, cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_CONSTANT, borderValue=0,
                )
                self._masks[oid] = warped >= self.threshold
        for key_index, masks in self._refresh:
            for oid, m in masks.items():
                if oid in self._masks and m.shape == (h, w):
                    moved = self._carry(m, key_index, frame.index) if self._grid is not None or key_index == frame.index else None
                    if moved is not None:
                        self._masks[oid] = moved
                        self._key_index = max(self._key_index, key_index)
        self._refresh.clear()
        if self._pending:
            for oid, prompt in self._pending.items():
                self._masks[oid] = self._initial_mask(prompt, h, w)
            self._pending.clear()
            self._key_index = frame.index
        self._prev, self._prev_index, self._prev_source = grey, frame.index, frame.source
        ids = sorted(self._masks)
        masks = np.stack([self._masks[o] for o in ids]) if ids else np.zeros((0, h, w), bool)
        return Segmentation(
            masks=masks,
            scores=np.ones(len(ids), np.float32),
            object_ids=np.asarray(ids, np.int32),
            frame_index=frame.index,
            timestamp=frame.timestamp,
            lost=np.array([not self._masks[o].any() for o in ids], dtype=bool),
            keyframe_index=self._key_index,
            image_size=(h, w),
        )
