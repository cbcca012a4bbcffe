"""Carry each object's mask across frames; refresh it from keyframes; detect loss; re-acquire.

Every call to :meth:`Tracker.track` returns masks aligned to *that* frame:

1. **Propagate** (every frame, main thread): dense DIS optical flow from the new frame back to
   the previous one moves every object's mask forward (one flow per frame, shared by all objects).
2. **Refresh** (keyframes): a keyframe snapshot (its grey image and each object's mask there) is
   sent to the backend. For SAM models the encoder runs asynchronously on OpenVINO and the
   decoder then runs with prompts *derived from the propagated state at that keyframe*: the box,
   an interior include point and the previous low-res logits (or the propagated mask as logits)
   as ``mask_input``. The refined keyframe masks are moved to the current frame with one flow
   from the current frame back to the keyframe, then replace the propagated ones.
3. **Lost / re-acquired**: a refresh whose score is low, whose mask collapses, or which disagrees
   with the propagated mask marks the object *lost* (empty mask, ``lost=True``) instead of
   reporting garbage; lost objects are searched for around their last box at each keyframe and
   re-acquired when a confident mask of plausible size comes back.

State per object is O(1) (one mask, one logit map, a few numbers); keyframe snapshots are bounded
by the encoder's in-flight bound.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import threading
import time
from dataclasses import dataclass, field
from typing import Optional

import cv2
import numpy as np

from ..engine.base import DecoderPrompt, Embedding, Predictor
from ..engine.encoder import AsyncEncoder, EncodeHandle
from ..geometry import affine_box, affine_points, grow_box, interior_point, mask_box, mask_iou
from ..metrics import TrackerStats
from ..types import Frame, Prompt, Segmentation
from .flow import IDENTITY, FlowEstimator, FlowField, chain, compose, grey_small, warp_affine
from .refine import guided_snap

__all__ = ["Tracker", "TrackerConfig", "TrackedObject", "RefreshKind"]


class RefreshKind(enum.Enum):
    """Why an object is re-decoded at a keyframe."""

    USER = "user"  #: a new user prompt (click, box, mask) is resolved
    TRACK = "track"  #: a tracked object is refreshed from its propagated state
    SEARCH = "search"  #: a lost object is searched for around its last box


_PRESETS = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
            "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}
# DIS settings between "fast" and "medium": medium's pyramid without variational refinement (which
# smooths flow across object boundaries), patch stride 5 and 8 gradient-descent iterations. Chosen
# under the oracle-keyframe protocol on 3 DAVIS clips and checked on the 7 others (docs/tracking.md):
# as good as "medium" at full resolution there, at about a fifth of its cost.
_CUSTOM = {"balanced": (cv2.DISOPTICAL_FLOW_PRESET_MEDIUM, dict(patch_stride=5, gd_iterations=8, vr_iterations=0))}


@dataclass
class TrackerConfig:
    """Tracker settings (validated).

    Attributes:
        flow_width: width of the grey frame optical flow runs on (pixels; frames narrower than this
            are used at full size).
        flow_preset: DIS optical-flow setting: ``balanced`` (default: medium's pyramid, no variational
            refinement, ~5 ms at 640x480 unloaded), ``ultrafast``, ``fast`` or ``medium``.
        propagation: ``"dense"`` (default) warps each mask pixel by pixel with the flow field
            (follows deformation; measured best under the oracle-keyframe protocol, see
            docs/tracking.md); ``"rigid"`` moves it with the similarity transform that best explains
            the flow inside it (robust to background drag, fails on deforming objects).
        flow_warm_start: start each frame's flow from the previous one (steady motion; measured
            slightly better than cold starts).
        flow_history: frames of flow kept (a ring of low-res flows), so a keyframe answered up to
            this many frames late is moved forward from its own frame to the current one.
        soft_masks: carry each mask as a float map in ``[0, 1]`` (one interpolation per frame, no
            rounding at every step) and publish ``>= 0.5``; ``False`` re-binarises every frame.
        snap_radius: radius (full-res pixels) of a guided filter that snaps each propagated mask's
            boundary to image edges (default 2); 0 = off.
        snap_late: also snap a late keyframe's mask after it is moved forward to the current frame.
        snap_eps: the guided filter's regularisation (intensity variance, image in ``[0, 1]``).
        keyframe_interval: sync mode: refresh every N frames; async mode: minimum frames between
            keyframes (0 = as often as the encoder is free).
        lost_score: a refresh scoring below this counts as a miss.
        min_area_frac: masks smaller than this fraction of the frame count as a miss.
        min_consistency: IoU between refreshed and propagated keyframe masks below this is a miss.
        misses_to_lose: consecutive misses before an object is marked lost.
        reacquire_score: score a lost object's candidate needs to be re-acquired.
        box_margin: box prompts are the mask's bounding box grown by this fraction.
        search_scale: lost objects are searched for in their last box grown by this factor.
    """

    flow_width: int = 640
    flow_preset: str = "balanced"
    propagation: str = "dense"
    flow_history: int = 16
    flow_warm_start: bool = True
    soft_masks: bool = True
    snap_radius: int = 2
    snap_eps: float = 0.001
    snap_late: bool = True
    keyframe_interval: int = 0
    lost_score: float = 0.35
    min_area_frac: float = 0.0005
    min_consistency: float = 0.25
    misses_to_lose: int = 2
    reacquire_score: float = 0.6
    box_margin: float = 0.05
    search_scale: float = 1.6

    def __post_init__(self) -> None:
        if self.flow_width < 32:
            raise ValueError(f"flow_width must be >= 32 pixels, got {self.flow_width}.")
        if self.flow_preset not in _PRESETS and self.flow_preset not in _CUSTOM:
            raise ValueError(f"flow_preset must be one of {sorted(_PRESETS) + sorted(_CUSTOM)}, got {self.flow_preset!r}.")
        if self.flow_history < 1 or self.flow_history > 256:
            raise ValueError(f"flow_history must be 1..256 frames, got {self.flow_history}.")
        if self.snap_radius < 0 or self.snap_radius > 64:
            raise ValueError(f"snap_radius must be 0..64 pixels (0 = off), got {self.snap_radius}.")
        if not self.snap_eps > 0:
            raise ValueError(f"snap_eps must be > 0, got {self.snap_eps}.")
        if self.propagation not in ("rigid", "dense"):
            raise ValueError(f"propagation must be 'rigid' or 'dense', got {self.propagation!r}.")
        if self.keyframe_interval < 0:
            raise ValueError("keyframe_interval must be >= 0.")
        for name in ("lost_score", "min_consistency", "reacquire_score", "min_area_frac"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {v}.")
        if self.misses_to_lose < 1:
            raise ValueError("misses_to_lose must be >= 1.")
        if self.search_scale < 1.0 or self.box_margin < 0.0:
            raise ValueError("search_scale must be >= 1 and box_margin >= 0.")


@dataclass
class TrackedObject:
    """One object's state (O(1) memory over time)."""

    obj_id: int
    mask: Optional[np.ndarray] = None  # (H, W) bool in the latest frame
    prob: Optional[np.ndarray] = None  # (H, W) float32 soft mask in [0, 1] behind ``mask``
    score: float = 0.0
    lost: bool = False
    misses: int = 0
    ref_area: float = 0.0
    logits: Optional[np.ndarray] = None  # (1, L, L) low-res logits of the last refresh
    last_box: Optional[np.ndarray] = None
    pending: Optional[Prompt] = None  # a user prompt not yet decoded
    # motion since each in-flight keyframe (keyframe index -> 2x3 affine, or None once unknown);
    # bounded by the encoder's in-flight bound
    motion: dict[int, Optional[np.ndarray]] = field(default_factory=dict)
    # while an object has no mask yet (prompt in flight) or is lost, the region its prompt covers
    # is moved instead, so a late keyframe result can still be brought to the current frame
    proxy: Optional[np.ndarray] = None
    # a point/box prompt that waits for a free encoder is carried with the frames until it is
    # decoded: the region it covers (moved each frame) and the motion (2x3) since its own frame
    pending_region: Optional[np.ndarray] = None
    pending_shift: Optional[np.ndarray] = None


@dataclass
class _Keyframe:
    index: int
    timestamp: float
    grey: np.ndarray
    hw: tuple[int, int]
    prompts: dict[int, DecoderPrompt]
    kind: dict[int, RefreshKind]
    masks: dict[int, Optional[np.ndarray]]  # propagated masks at the keyframe (for consistency)
    results: dict[int, tuple] = field(default_factory=dict)
    error: Optional[BaseException] = None
    latency_ms: float = 0.0


def _separate(masks: np.ndarray, probs: list) -> None:
    """Objects do not overlap in the label map: a pixel claimed by several masks goes to the one
    with the highest soft value (ties: the later id, drawn on top). Only the published masks are
    cut; each object's own soft mask keeps its hidden part, so it returns when it re-emerges."""
    idx = [i for i, _ in probs]
    claimed = masks[idx].sum(0) > 1
    if not claimed.any():
        return
    ys, xs = np.nonzero(claimed)
    vals = np.stack([(p[ys, xs] if p is not None else np.ones(ys.size, np.float32)) + 1e-4 * k
                     for k, (_, p) in enumerate(probs)])
    vals[~masks[idx][:, ys, xs]] = -1.0
    win = vals.argmax(0)
    for k, i in enumerate(idx):
        masks[i, ys, xs] = win == k


def _prompt_region(prompt, hw: tuple[int, int]) -> np.ndarray:
    """The area a prompt (a :class:`DecoderPrompt` or :class:`Prompt`) points at (box, discs around
    include points), for motion only."""
    pts, lab, box = prompt.points, prompt.labels, prompt.box
    h, w = hw
    region = np.zeros((h, w), np.uint8)
    if box is not None:
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        region[max(0, y1):max(0, y2), max(0, x1):max(0, x2)] = 1
    if pts is not None:
        r = max(8, int(0.04 * max(h, w)))
        for (x, y), l in zip(pts, lab):
            if l == 1:
                cv2.circle(region, (int(round(x)), int(round(y))), r, 1, -1)
    return region.astype(bool)


class Tracker:
    """Promptable multi-object tracker over any :class:`~samstream.engine.base.Predictor`.

    Args:
        predictor: ``classic`` or a SAM predictor.
        asynchronous: refresh keyframes in the background (live use); ``False`` refreshes inline
            every ``keyframe_interval`` frames (offline evaluation, deterministic).
        config: :class:`TrackerConfig`.
        encoder: an :class:`AsyncEncoder` to use (created with ``policy="drop_oldest"`` if omitted).

    Prompts given with :meth:`add_object` / :meth:`update` refer to the next frame passed to
    :meth:`track` (pixels of that frame).
    """

    def __init__(self, predictor: Optional[Predictor], asynchronous: bool = True,
                 config: Optional[TrackerConfig] = None, encoder: Optional[AsyncEncoder] = None):
        if predictor is not None and not isinstance(predictor, Predictor):
            raise ValueError(f"Tracker needs a samstream Predictor (or None: keyframes only from "
                             f"refresh_masks()), got {type(predictor).__name__}.")
        if predictor is None:
            asynchronous = False
        self.predictor = predictor
        self.config = config or TrackerConfig()
        self.asynchronous = bool(asynchronous)
        self._own_encoder = encoder is None and self.asynchronous
        self.encoder = encoder if encoder is not None else (
            AsyncEncoder(predictor, jobs=1, max_pending=1, policy="drop_oldest") if self.asynchronous else None)
        preset = self.config.flow_preset
        self._flow = FlowEstimator(*_CUSTOM[preset]) if preset in _CUSTOM else FlowEstimator(_PRESETS[preset])
        self._objects: dict[int, TrackedObject] = {}
        self._lock = threading.Lock()
        self._done: collections.deque[_Keyframe] = collections.deque(maxlen=4)
        self._in_flight: Optional[_Keyframe] = None
        self._prev_grey: Optional[np.ndarray] = None
        self._frame_hw: Optional[tuple[int, int]] = None
        self._prev_index = -1
        # (frame index, previous frame index, flow from that frame back to the previous one)
        self._ring: collections.deque[tuple[int, int, FlowField]] = collections.deque(maxlen=self.config.flow_history)
        # masks handed in by refresh_masks(): (their frame index, {obj_id: mask})
        self._external: collections.deque[tuple[int, dict[int, np.ndarray]]] = collections.deque(
            maxlen=self.config.flow_history + 1)
        self._last_key_index = -10**9
        self.keyframe_index = -1
        self._stats = TrackerStats()

    @property
    def stats(self) -> TrackerStats:
        """A snapshot of the counters and the last frame's costs (safe from any thread)."""
        with self._lock:
            objs = list(self._objects.values())
            return dataclasses.replace(self._stats, objects=len(objs), lost=sum(1 for o in objs if o.lost))

    def _count(self, **changes) -> None:
        """Set counter fields (``name=value``); callers hold ``_lock`` or own the keyframe."""
        self._stats = dataclasses.replace(self._stats, **changes)

    def _bump(self, name: str) -> None:
        self._stats = dataclasses.replace(self._stats, **{name: getattr(self._stats, name) + 1})

    # -- objects ----------------------------------------------------------------------------
    def add_object(self, obj_id: int, points=None, labels=None, box=None, mask=None) -> None:
        """Start tracking ``obj_id`` from prompts in the next frame's pixels.

        Raises ``ValueError`` if the id is taken (use :meth:`update`) or the prompt is malformed.
        """
        prompt = self._prompt(obj_id, points, labels, box, mask)
        with self._lock:
            if prompt.obj_id in self._objects:
                raise ValueError(f"object {obj_id} already exists: use update({obj_id}, ...) or remove_object first.")
            self._objects[prompt.obj_id] = TrackedObject(prompt.obj_id, pending=prompt)

    def update(self, obj_id: int, points=None, labels=None, box=None, mask=None) -> None:
        """Replace ``obj_id``'s prompt (e.g. more clicks); ``KeyError`` naming known ids if absent."""
        prompt = self._prompt(obj_id, points, labels, box, mask)
        with self._lock:
            obj = self._get(obj_id)
            obj.pending, obj.pending_region, obj.pending_shift = prompt, None, None

    def _prompt(self, obj_id, points, labels, box, mask) -> Prompt:
        """Build and, once the frame size is known, check a prompt against it (ValueError with the fix)."""
        if not isinstance(obj_id, (int, np.integer)) or isinstance(obj_id, bool):
            raise ValueError(f"object id must be an integer 1..255, got {obj_id!r}.")
        prompt = Prompt(int(obj_id), points, labels, box, mask)
        if self.predictor is None and (prompt.points is not None or prompt.box is not None):
            raise ValueError(f"object {obj_id}: this Tracker has no predictor, so it takes mask prompts only; "
                             "give mask=..., or make it with a predictor (Tracker(load_predictor('classic')))")
        if self._frame_hw is not None:
            h, w = self._frame_hw
            prompt = prompt.validated(w, h)
        return prompt

    def remove_object(self, obj_id: int) -> None:
        with self._lock:
            self._get(obj_id)
            del self._objects[int(obj_id)]

    def reset(self) -> None:
        """Forget every object and the motion history."""
        with self._lock:
            self._objects.clear()
            self._done.clear()
            self._external.clear()
            self._ring.clear()
            self._prev_grey = None

    @property
    def object_ids(self) -> list[int]:
        with self._lock:
            return sorted(self._objects)

    def _get(self, obj_id: int) -> TrackedObject:
        try:
            return self._objects[int(obj_id)]
        except (KeyError, ValueError, TypeError):
            raise KeyError(f"unknown object id {obj_id!r}; known ids: {sorted(self._objects)}") from None

    def close(self) -> None:
        if self._own_encoder and self.encoder is not None:
            self.encoder.close()

    # -- oracle / external keyframes ------------------------------------------------------------
    def refresh_masks(self, key_index: int, masks: dict) -> None:
        """Refresh objects with masks that belong to the *past* frame ``key_index``.

        ``masks`` maps object ids to ``(H, W)`` bool masks in frame ``key_index``'s pixels, as a
        (perfect or external) decoder answered for that keyframe. They are applied at the next
        :meth:`track` call: moved forward from ``key_index`` to that frame through the ring of
        stored flows (``flow_history`` frames), never pasted stale. An empty mask marks the object
        lost (it is not in that frame); a later non-empty one re-acquires it. Unknown ids raise
        ``KeyError``; a keyframe older than the flow ring is dropped (``stats.last_error`` says so).
        """
        key_index = int(key_index)
        with self._lock:
            if self._frame_hw is not None and key_index > self._prev_index + 1:
                raise ValueError(f"refresh_masks: frame {key_index} is in the future (last tracked frame "
                                 f"{self._prev_index}); give masks of a frame already passed to track().")
            clean = {}
            for oid, m in masks.items():
                self._get(oid)
                m = np.asarray(m).astype(bool, copy=False)
                if m.ndim != 2:
                    raise ValueError(f"refresh_masks: the mask of object {oid} must be (H, W), got {m.shape}.")
                clean[int(oid)] = m
            self._external.append((key_index, clean))

    def _carry(self, mask: np.ndarray, key_index: int, now: int) -> Optional[np.ndarray]:
        """``mask`` of frame ``key_index`` moved to frame ``now`` (float32 soft map) through the
        flow ring with one interpolation, or ``None`` when the ring does not reach back that far."""
        if key_index == now:
            return mask.astype(np.float32)
        entries = [e for e in self._ring if e[0] > key_index]
        if not entries or entries[-1][0] != now or entries[0][1] != key_index:
            return None
        field = chain([e[2] for e in reversed(entries)])
        return field.warp_prob(mask.astype(np.float32))

    def _set(self, obj: TrackedObject, prob: np.ndarray) -> None:
        """Set an object's soft mask (float32 ``(H, W)``) and the bool mask behind it."""
        prob = prob.astype(np.float32, copy=False)
        if not self.config.soft_masks:
            prob = (prob >= 0.5).astype(np.float32)
        obj.prob = prob
        obj.mask = prob >= 0.5

    def _apply_external(self, key_index: int, masks: dict, frame: Frame) -> None:
        h, w = frame.height, frame.width
        applied = False
        for oid, m in masks.items():
            obj = self._objects.get(oid)
            if obj is None:
                continue
            if m.shape != (h, w):
                self._count(last_error=f"refresh_masks: object {oid}'s mask is {m.shape[::-1]}, frame is {(w, h)}")
                continue
            if not m.any():
                if obj.mask is not None and obj.mask.any():
                    obj.last_box = mask_box(obj.mask)
                obj.lost, obj.mask, obj.prob, obj.score, obj.misses = True, None, None, 0.0, 0
                applied = True
                continue
            moved = self._carry(m, key_index, frame.index)
            if moved is not None and key_index != frame.index and self.config.snap_radius > 0 and self.config.snap_late:
                moved = guided_snap(cv2.cvtColor(frame.image, cv2.COLOR_BGR2GRAY) if frame.image.ndim == 3 else frame.image,
                                    moved, self.config.snap_radius, self.config.snap_eps)
            if moved is None:
                self._count(keyframes_failed=self._stats.keyframes_failed + 1,
                            last_error=f"refresh_masks: frame {key_index} is older than the flow ring "
                                       f"({self.config.flow_history} frames); raise flow_history")
                continue
            self._set(obj, moved)
            obj.lost, obj.misses, obj.score, obj.pending, obj.proxy = False, 0, 1.0, None, None
            obj.ref_area = float(np.count_nonzero(m))
            obj.last_box = mask_box(obj.mask) if obj.mask.any() else mask_box(m)
            obj.logits = None
            applied = True
        if applied:
            self._bump("keyframes_applied")
            self.keyframe_index = max(self.keyframe_index, key_index)

    # -- per frame ------------------------------------------------------------------------------
    def track(self, frame: Frame, resolve_now: bool = False) -> Segmentation:
        """The masks of every object in ``frame`` (aligned to it).

        ``resolve_now`` decodes new user prompts on this very frame, inline (the pipeline does this
        for the first frame, so results have masks from frame 0); otherwise they resolve with the
        next asynchronous keyframe, a few frames later.
        """
        if not isinstance(frame, Frame):
            raise ValueError(f"track() takes a samstream.Frame, got {type(frame).__name__}.")
        t0 = time.perf_counter()
        h, w = frame.height, frame.width
        grey = grey_small(frame.image, self.config.flow_width)
        with self._lock:
            if self._prev_grey is not None and self._prev_grey.shape != grey.shape:
                self._prev_grey = None  # frame size changed: motion history no longer applies
                self._ring.clear()
                for obj in self._objects.values():
                    obj.mask, obj.prob, obj.pending_region, obj.pending_shift = None, None, None, None
            # 1. propagate (one flow per frame, shared by all objects, kept in the ring)
            moving = [o for o in self._objects.values() if (o.mask is not None and not o.lost) or o.proxy is not None]
            if self._prev_grey is not None and self._objects:
                tf = time.perf_counter()
                flow = self._flow(grey, self._prev_grey, (h, w), warm_start=self.config.flow_warm_start)
                self._count(flow_ms=(time.perf_counter() - tf) * 1e3)
                if self._ring:
                    self._ring[-1][2].release()  # keep only the low-res flows of past frames
                self._ring.append((frame.index, self._prev_index, flow))
                full_grey = None
                for obj in moving:
                    m = None
                    if obj.mask is not None and not obj.lost:
                        if self.config.propagation == "rigid":
                            moved, m = flow.warp_rigid(obj.mask)
                            self._set(obj, moved.astype(np.float32))
                        else:
                            prob = obj.prob if obj.prob is not None else obj.mask.astype(np.float32)
                            prob = flow.warp_prob(prob)
                            if self.config.snap_radius > 0:
                                if full_grey is None:
                                    full_grey = cv2.cvtColor(frame.image, cv2.COLOR_BGR2GRAY) \
                                        if frame.image.ndim == 3 else frame.image
                                prob = guided_snap(full_grey, prob, self.config.snap_radius, self.config.snap_eps)
                            self._set(obj, prob)
                            m = flow.rigid_transform(obj.mask) if (obj.motion and obj.proxy is None) else None
                    if obj.proxy is not None:
                        # a prompt is in flight (a new object, a re-prompt of this one elsewhere, a
                        # search): its result lands where the *prompted region* went, not where the
                        # object's old mask went (a moved id would otherwise be shifted by the old
                        # object's motion and land on the background)
                        m = flow.rigid_transform(obj.proxy)
                        obj.proxy = warp_affine(obj.proxy, m) if m is not None else flow.warp(obj.proxy)
                    for k, acc in obj.motion.items():
                        obj.motion[k] = compose(m, acc) if (m is not None and acc is not None) else None
                    if obj.mask is not None and not obj.lost and np.count_nonzero(obj.mask) < self.config.min_area_frac * h * w:
                        self._miss(obj, hard=True)
                for obj in self._objects.values():  # prompts still waiting for the encoder move too
                    if obj.pending is not None and obj.pending_region is not None:
                        m = flow.rigid_transform(obj.pending_region)
                        if m is not None:
                            obj.pending_region = warp_affine(obj.pending_region, m)
                            obj.pending_shift = compose(m, obj.pending_shift)
            # 2. user prompts that are masks apply at once
            for obj in self._objects.values():
                p = obj.pending
                if p is not None and p.mask is not None and p.points is None and p.box is None:
                    p = p.validated(w, h)
                    self._set(obj, p.mask.astype(np.float32))
                    obj.pending, obj.lost, obj.misses = None, False, 0
                    obj.score = 1.0
                    obj.ref_area = float(np.count_nonzero(p.mask))
                    obj.last_box = mask_box(p.mask)
                    obj.logits = None
            # 3. finished refreshes (predictor keyframes, then masks handed in by refresh_masks)
            while self._done:
                self._apply(self._done.popleft(), frame, grey)
            while self._external:
                k, masks = self._external.popleft()
                self._apply_external(k, masks, frame)
            # 4. next keyframe
            need_user = any(o.pending is not None for o in self._objects.values())
            if self._objects and self.predictor is not None:
                if self.asynchronous and resolve_now and need_user:
                    key = self._snapshot(frame, grey)
                    self._run_sync(key, frame)
                    self._apply(key, frame, grey)
                elif not self.asynchronous:
                    interval = max(1, self.config.keyframe_interval)
                    if need_user or frame.index - self._last_key_index >= interval:
                        key = self._snapshot(frame, grey)
                        self._run_sync(key, frame)
                        self._apply(key, frame, grey)
                elif self._in_flight is None and (
                        need_user or frame.index - self._last_key_index >= self.config.keyframe_interval):
                    self._submit(self._snapshot(frame, grey), frame)
            # a point/box prompt that this frame could not send (a keyframe is in flight) refers to
            # this frame: from here on it is carried with the motion of the region it covers
            for obj in self._objects.values():
                p = obj.pending
                if p is not None and obj.pending_region is None and (p.points is not None or p.box is not None):
                    try:
                        obj.pending_region = _prompt_region(p.validated(w, h), (h, w))
                        obj.pending_shift = IDENTITY.copy()
                    except ValueError:
                        pass  # dropped at the next snapshot, which says why
            self._prev_grey, self._prev_index, self._frame_hw = grey, frame.index, (h, w)
            seg = self._result(frame)
            self._count(frames=self._stats.frames + 1, track_ms=(time.perf_counter() - t0) * 1e3)
        return seg

    # -- keyframes ------------------------------------------------------------------------------
    def _snapshot(self, frame: Frame, grey: np.ndarray) -> _Keyframe:
        h, w = frame.height, frame.width
        prompts, kinds, masks = {}, {}, {}
        sq = self.predictor.square_frame((h, w))
        for obj in self._objects.values():
            if obj.pending is not None:
                try:
                    p = obj.pending.validated(w, h)
                except ValueError:
                    obj.pending = None  # a prompt that no longer fits this frame (size changed)
                    continue
                p = self._carried(p, obj.pending_shift, w, h)
                obj.pending_region = obj.pending_shift = None
                mask_in = sq.mask_to_logits(p.mask) if p.mask is not None else None
                prompts[obj.obj_id] = DecoderPrompt(p.points, p.labels, p.box, mask_in)
                kinds[obj.obj_id] = RefreshKind.USER
                masks[obj.obj_id] = None
                obj.pending = None
            elif obj.lost or (obj.mask is not None and not obj.mask.any()):
                # lost, or carried down to an empty mask without being declared lost (the loss
                # thresholds are off): search around the last place it was seen, never give up on it
                if obj.last_box is None:
                    continue
                prompts[obj.obj_id] = DecoderPrompt(box=grow_box(obj.last_box, self.config.search_scale, w, h))
                kinds[obj.obj_id] = RefreshKind.SEARCH
                masks[obj.obj_id] = None
            elif obj.mask is not None:
                box = mask_box(obj.mask)
                if box is None:
                    continue
                pt = interior_point(obj.mask, max_side=160)
                pt = None if pt is None else pt[None]
                mask_in = obj.logits if (obj.logits is not None and self.predictor.reuses_low_res_logits) \
                    else sq.mask_to_logits(obj.mask)
                prompts[obj.obj_id] = DecoderPrompt(pt, None if pt is None else np.ones(1, np.int32),
                                                    grow_box(box, 1.0 + 2 * self.config.box_margin, w, h), mask_in)
                kinds[obj.obj_id] = RefreshKind.TRACK
                masks[obj.obj_id] = obj.mask.copy()
        for oid, kind in kinds.items():
            obj = self._objects[oid]
            if kind is not RefreshKind.TRACK:
                obj.proxy = _prompt_region(prompts[oid], (h, w))
            if len(obj.motion) >= 4:  # stale entries of keyframes that never came back
                obj.motion.pop(min(obj.motion))
            obj.motion[frame.index] = IDENTITY.copy()
        self._last_key_index = frame.index
        return _Keyframe(frame.index, frame.timestamp, grey, (h, w), prompts, kinds, masks)

    @staticmethod
    def _carried(p: Prompt, shift: Optional[np.ndarray], w: int, h: int) -> Prompt:
        """A prompt given on an earlier frame, moved by ``shift`` (the motion of the region it covers
        since then) to the frame it is decoded on; unchanged without motion (or if it would leave
        the frame)."""
        if shift is None or np.allclose(shift, IDENTITY, atol=1e-3):
            return p
        box = affine_box(p.box, shift, w, h) if p.box is not None else None
        if p.box is not None and box is None:
            return p
        pts = None
        if p.points is not None:
            pts = affine_points(p.points, shift)
            pts[:, 0] = np.clip(pts[:, 0], 0, w - 1)
            pts[:, 1] = np.clip(pts[:, 1], 0, h - 1)
        return Prompt(p.obj_id, pts, p.labels, box, p.mask)

    def _decode(self, key: _Keyframe, emb: Embedding) -> None:
        ids = list(key.prompts)
        outs = self.predictor.predict_on(emb, [key.prompts[i] for i in ids], multimask_output=False)
        key.results = {i: (o[0][0], float(o[1][0]), o[2][:1]) for i, o in zip(ids, outs)}
        key.latency_ms = emb.latency_ms

    def _run_sync(self, key: _Keyframe, frame: Frame) -> None:
        if not key.prompts:
            return
        try:
            emb = self.predictor.encode(frame.image, frame.index, frame.timestamp)
            self._decode(key, emb)
            self._count(encoder_ms=emb.latency_ms)
        except Exception as exc:  # a failing refresh must not kill tracking
            key.error = exc

    def _submit(self, key: _Keyframe, frame: Frame) -> None:
        if not key.prompts:
            return

        def on_done(handle: EncodeHandle) -> None:
            try:
                emb = handle.result(0)
                self._decode(key, emb)
            except Exception as exc:
                key.error = exc
            with self._lock:
                if key.error is None:
                    self._count(encoder_ms=emb.latency_ms)
                self._done.append(key)
                if self._in_flight is key:
                    self._in_flight = None

        self._in_flight = key
        self._bump("keyframes_submitted")
        self.encoder.submit(frame.image, frame.index, frame.timestamp, callback=on_done)

    def _apply(self, key: _Keyframe, frame: Frame, grey: np.ndarray) -> None:
        if key.error is not None or not key.results:
            if key.error is not None:
                self._count(keyframes_failed=self._stats.keyframes_failed + 1,
                            last_error=f"{type(key.error).__name__}: {key.error}")
            return
        h, w = frame.height, frame.width
        if key.hw != (h, w):
            return  # frame size changed since the keyframe
        flow = None
        self._bump("keyframes_applied")
        self.keyframe_index = max(self.keyframe_index, key.index)
        min_area = self.config.min_area_frac * h * w
        for oid, (mask_k, score, logits) in key.results.items():
            obj = self._objects.get(oid)
            if obj is None:
                continue  # removed meanwhile
            kind = key.kind[oid]
            area = float(np.count_nonzero(mask_k))
            if kind is RefreshKind.USER:
                good = area >= 1
            elif kind is RefreshKind.SEARCH:
                good = (score >= self.config.reacquire_score and area >= min_area
                        and (obj.ref_area == 0 or 0.33 <= area / obj.ref_area <= 3.0))
            else:
                prior = key.masks.get(oid)
                consistent = prior is None or mask_iou(mask_k, prior) >= self.config.min_consistency
                good = score >= self.config.lost_score and area >= min_area and consistent
            if not good:
                if kind is RefreshKind.TRACK:
                    self._miss(obj)
                elif kind is RefreshKind.USER:
                    obj.lost, obj.mask, obj.prob = True, None, None
                continue
            acc = obj.motion.pop(key.index, None)
            if key.index == frame.index:
                moved = mask_k.astype(np.float32)
            elif acc is not None and (self.config.propagation == "rigid" or kind is not RefreshKind.TRACK):
                moved = warp_affine(mask_k, acc).astype(np.float32)  # the object's own motion since the keyframe
            else:
                moved = self._carry(mask_k, key.index, frame.index)  # through the flow ring
                if moved is None:
                    if flow is None:
                        flow = self._flow(grey, key.grey, (h, w))
                    moved = flow.warp_prob(mask_k.astype(np.float32))
            self._set(obj, moved)
            moved = obj.mask
            obj.score = float(np.clip(score, 0.0, 1.0))
            obj.logits = logits
            obj.lost, obj.misses, obj.proxy = False, 0, None
            obj.ref_area = area if (kind is not RefreshKind.TRACK or obj.ref_area == 0) else 0.8 * obj.ref_area + 0.2 * area
            obj.last_box = mask_box(moved) if moved.any() else obj.last_box

    def _warp(self, flow, mask: np.ndarray) -> tuple[np.ndarray, Optional[np.ndarray]]:
        if self.config.propagation == "rigid":
            return flow.warp_rigid(mask)
        return flow.warp(mask), None

    def _miss(self, obj: TrackedObject, hard: bool = False) -> None:
        obj.misses += 1
        if hard or obj.misses >= self.config.misses_to_lose:
            if obj.mask is not None and obj.mask.any():
                obj.last_box = mask_box(obj.mask)
            obj.lost, obj.mask, obj.prob, obj.score = True, None, None, 0.0
            obj.motion.clear()

    def _result(self, frame: Frame) -> Segmentation:
        h, w = frame.height, frame.width
        ids = sorted(self._objects)
        masks = np.zeros((len(ids), h, w), bool)
        scores = np.zeros(len(ids), np.float32)
        lost = np.zeros(len(ids), bool)
        probs = []
        for i, oid in enumerate(ids):
            obj = self._objects[oid]
            if obj.mask is not None and not obj.lost:
                masks[i] = obj.mask
                scores[i] = obj.score
                probs.append((i, obj.prob))
            else:
                lost[i] = obj.lost or obj.mask is None
        if len(probs) > 1:
            _separate(masks, probs)
        return Segmentation(masks, scores, ids, frame.index, frame.timestamp, lost=lost,
                            keyframe_index=self.keyframe_index)
