"""The typed objects that cross every boundary in samstream.

Only numpy is imported here. Every dataclass validates itself in ``__post_init__`` and
raises ``ValueError`` with the fix, so a malformed value is caught where it is made, not
three modules later.

Conventions used everywhere:

* images are ``uint8`` arrays, ``(H, W, 3)`` **BGR** (OpenCV order) or ``(H, W)`` grey;
* coordinates are ``(x, y)`` in **pixels of the original frame**, origin top-left;
* a box is ``(x1, y1, x2, y2)`` in the same frame, ``x1 <= x2`` and ``y1 <= y2``;
* point labels: ``1`` include (positive), ``0`` exclude (negative);
* timestamps are seconds (``float``), from ``time.time()`` unless a source says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from .geometry import mask_box

__all__ = [
    "Frame",
    "Prompt",
    "Segmentation",
    "as_image",
    "as_points",
    "as_box",
]


def as_image(image: object, name: str = "frame") -> np.ndarray:
    """Check and normalise an image to ``uint8`` ``(H, W, 3)`` BGR.

    Accepts ``(H, W)`` grey, ``(H, W, 1)``, ``(H, W, 3)`` and ``(H, W, 4)`` (alpha dropped).
    Raises ``ValueError`` naming the problem and the fix.
    """
    if image is None:
        raise ValueError(f"{name} is None: pass a uint8 numpy image of shape (H, W, 3) (BGR).")
    if not isinstance(image, np.ndarray):
        raise ValueError(
            f"{name} must be a numpy array, got {type(image).__name__}: "
            "convert it with np.asarray(...) (uint8, (H, W, 3), BGR)."
        )
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
        raise ValueError(
            f"{name} has shape {image.shape}: expected (H, W), (H, W, 3) or (H, W, 4) "
            "(a single image, channels last)."
        )
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {image.shape}): pass a non-empty image.")
    if image.dtype != np.uint8:
        if image.dtype == bool:
            raise ValueError(f"{name} is a boolean mask, not an image: pass the camera frame.")
        if np.issubdtype(image.dtype, np.floating):
            raise ValueError(
                f"{name} has dtype {image.dtype}: samstream takes uint8 images; "
                "convert with (np.clip(img, 0, 1) * 255).astype(np.uint8) for [0, 1] floats."
            )
        raise ValueError(f"{name} has dtype {image.dtype}: convert it to uint8 first.")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    elif image.shape[2] == 4:
        image = image[:, :, :3]
    return np.ascontiguousarray(image)


def as_points(
    points: object, labels: object, width: int, height: int, *, name: str = "point_coords"
) -> tuple[Optional[np.ndarray], Optional[np.ndarray]]:
    """Validate point prompts: ``(N, 2)`` float32 pixel coords and ``(N,)`` int32 labels."""
    if points is None and labels is None:
        return None, None
    if points is None or labels is None:
        raise ValueError(
            "point_coords and point_labels go together: pass both (labels 1 = include, 0 = exclude)."
        )
    try:
        pts = np.asarray(points, dtype=np.float64)
        lab = np.asarray(labels)
    except (TypeError, ValueError):  # ragged lists, strings, dicts (e.g. from JSON)
        raise ValueError(f"{name} must be (N, 2) pixel (x, y) numbers with (N,) labels 0/1, e.g. "
                         f"[[320, 240]] and [1]; got {str(points)[:60]} and {str(labels)[:60]}.") from None
    if pts.ndim == 1 and pts.size == 2:
        pts = pts[None]
    if lab.ndim == 0:
        lab = lab[None]
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"{name} has shape {pts.shape}: expected (N, 2) pixel (x, y) pairs.")
    if lab.ndim != 1 or lab.shape[0] != pts.shape[0]:
        raise ValueError(
            f"{pts.shape[0]} points but {lab.size} labels: give one label per point "
            "(1 = include, 0 = exclude)."
        )
    if pts.shape[0] == 0:
        return None, None
    if not np.all(np.isfinite(pts)):
        raise ValueError(f"{name} contains NaN or inf: every point needs finite pixel coordinates.")
    if not np.all(np.isin(lab, (0, 1))):
        raise ValueError(f"point_labels must be 0 (exclude) or 1 (include), got {np.unique(lab)}.")
    _check_inside(pts, width, height, "point")
    return pts.astype(np.float32), lab.astype(np.int32)


def as_box(box: object, width: int, height: int) -> Optional[np.ndarray]:
    """Validate a box prompt: ``(4,)`` float32 ``x1, y1, x2, y2`` in frame pixels."""
    if box is None:
        return None
    try:
        b = np.asarray(box, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):  # ragged lists, strings, dicts (e.g. from JSON)
        raise ValueError(f"box must be 4 numbers x1, y1, x2, y2 in pixels, e.g. [100, 80, 300, 260]; "
                         f"got {str(box)[:60]}.") from None
    if b.size != 4:
        raise ValueError(f"box has {b.size} values: expected 4 (x1, y1, x2, y2) in pixels.")
    if not np.all(np.isfinite(b)):
        raise ValueError("box contains NaN or inf: give finite pixel coordinates x1, y1, x2, y2.")
    if b[2] < b[0] or b[3] < b[1]:
        raise ValueError(
            f"box {b.tolist()} has x2 < x1 or y2 < y1: order it as (x1, y1, x2, y2), "
            "top-left corner first."
        )
    _check_inside(b.reshape(2, 2), width, height, "box")
    return b.astype(np.float32)


def _check_inside(pts: np.ndarray, width: int, height: int, what: str) -> None:
    # A point on the far edge (x == width) is accepted: it is the edge of the last pixel.
    bad = (pts[:, 0] < 0) | (pts[:, 1] < 0) | (pts[:, 0] > width) | (pts[:, 1] > height)
    if np.any(bad):
        first = pts[np.argmax(bad)].tolist()
        raise ValueError(
            f"{what} {first} lies outside the {width}x{height} frame: coordinates are pixels "
            f"of the original frame, x in [0, {width}], y in [0, {height}]."
        )


@dataclass(frozen=True)
class Frame:
    """One captured image.

    Attributes:
        image: ``uint8`` ``(H, W, 3)`` BGR.
        index: frame number from the source, starting at 0, strictly increasing.
        timestamp: capture time in seconds (``time.time()`` clock unless the source gives its own).
        source: a short label of where it came from (``"synthetic"``, a path, ``"ros2:/topic"``).
    """

    image: np.ndarray
    index: int
    timestamp: float
    source: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "image", as_image(self.image))
        if int(self.index) < 0:
            raise ValueError(f"Frame.index must be >= 0, got {self.index}.")
        if not np.isfinite(self.timestamp):
            raise ValueError("Frame.timestamp must be a finite number of seconds.")

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])


@dataclass
class Prompt:
    """What the user says about one object: include/exclude points, a box and/or a mask.

    Attributes:
        obj_id: object id, ``1..255`` (it is the label value in published label maps; 0 = background).
        points: ``(N, 2)`` pixel ``(x, y)``, or ``None``.
        labels: ``(N,)`` 1 include / 0 exclude, or ``None``.
        box: ``(x1, y1, x2, y2)`` pixels, or ``None``.
        mask: ``(H, W)`` bool mask of the object in the frame it refers to, or ``None``.
    """

    obj_id: int
    points: Optional[np.ndarray] = None
    labels: Optional[np.ndarray] = None
    box: Optional[np.ndarray] = None
    mask: Optional[np.ndarray] = None

    def __post_init__(self) -> None:
        if not isinstance(self.obj_id, (int, np.integer)) or not 1 <= int(self.obj_id) <= 255:
            raise ValueError(
                f"obj_id must be an integer in 1..255 (0 is background in label maps), got {self.obj_id!r}."
            )
        self.obj_id = int(self.obj_id)
        if self.points is None and self.box is None and self.mask is None:
            raise ValueError(
                f"object {self.obj_id} has no prompt: give points (+labels), a box or a mask."
            )
        if self.mask is not None:
            m = np.asarray(self.mask)
            if m.ndim != 2 or m.size == 0:
                raise ValueError(f"mask must be a 2-D (H, W) array, got shape {m.shape}.")
            self.mask = m.astype(bool)
            if not self.mask.any() and self.points is None and self.box is None:
                raise ValueError(f"the mask for object {self.obj_id} is empty: draw at least one pixel.")

    def validated(self, width: int, height: int) -> "Prompt":
        """Return a copy with every field checked against a ``width`` x ``height`` frame."""
        pts, lab = as_points(self.points, self.labels, width, height)
        box = as_box(self.box, width, height)
        if self.mask is not None and self.mask.shape != (height, width):
            raise ValueError(
                f"mask for object {self.obj_id} is {self.mask.shape[1]}x{self.mask.shape[0]} but the frame "
                f"is {width}x{height}: resize it with cv2.resize(mask, ({width}, {height}), "
                "interpolation=cv2.INTER_NEAREST)."
            )
        return Prompt(self.obj_id, pts, lab, box, self.mask)


@dataclass
class Segmentation:
    """The result for one frame: one mask per object, aligned to that frame.

    Attributes:
        masks: ``(N, H, W)`` bool, one per object, in the pixels of frame ``frame_index``.
        scores: ``(N,)`` float32 in ``[0, 1]`` (predicted IoU / confidence).
        object_ids: ``(N,)`` int32, ``1..255``, unique.
        frame_index: index of the frame these masks belong to.
        timestamp: capture timestamp of that frame (seconds).
        lost: ``(N,)`` bool; ``True`` where the object is currently lost (its mask is empty).
        keyframe_index: index of the frame whose encoder output last refreshed the masks
            (``-1`` when none yet); ``frame_index - keyframe_index`` is the keyframe age in frames.
    """

    masks: np.ndarray
    scores: np.ndarray
    object_ids: np.ndarray
    frame_index: int
    timestamp: float
    lost: Optional[np.ndarray] = None
    keyframe_index: int = -1
    image_size: tuple[int, int] = field(default=(0, 0))  # (H, W), derived when masks are empty

    def __post_init__(self) -> None:
        self.masks = np.asarray(self.masks)
        if self.masks.ndim != 3:
            raise ValueError(f"masks must be (N, H, W), got shape {self.masks.shape}.")
        if self.masks.dtype != bool:
            self.masks = self.masks.astype(bool)
        n = self.masks.shape[0]
        self.scores = np.asarray(self.scores, dtype=np.float32).reshape(-1)
        self.object_ids = np.asarray(self.object_ids, dtype=np.int32).reshape(-1)
        if self.scores.shape[0] != n or self.object_ids.shape[0] != n:
            raise ValueError(
                f"{n} masks but {self.scores.shape[0]} scores and {self.object_ids.shape[0]} ids: "
                "give one score and one id per mask."
            )
        if n and (self.object_ids.min() < 1 or self.object_ids.max() > 255):
            raise ValueError("object ids must lie in 1..255 (0 is background in label maps).")
        if len(set(self.object_ids.tolist())) != n:
            raise ValueError(f"object ids must be unique, got {self.object_ids.tolist()}.")
        if self.lost is None:
            self.lost = np.zeros(n, dtype=bool)
        else:
            self.lost = np.asarray(self.lost, dtype=bool).reshape(-1)
            if self.lost.shape[0] != n:
                raise ValueError(f"lost must have one flag per mask ({n}), got {self.lost.shape[0]}.")
        if n:
            self.image_size = (int(self.masks.shape[1]), int(self.masks.shape[2]))
        elif self.masks.shape[1] and self.masks.shape[2]:
            self.image_size = (int(self.masks.shape[1]), int(self.masks.shape[2]))
        if int(self.frame_index) < 0:
            raise ValueError(f"frame_index must be >= 0, got {self.frame_index}.")

    def __len__(self) -> int:
        return int(self.masks.shape[0])

    @classmethod
    def empty(cls, frame: Frame) -> "Segmentation":
        """No objects, for ``frame``."""
        return cls(
            masks=np.zeros((0, frame.height, frame.width), dtype=bool),
            scores=np.zeros(0, np.float32),
            object_ids=np.zeros(0, np.int32),
            frame_index=frame.index,
            timestamp=frame.timestamp,
        )

    def label_map(self) -> np.ndarray:
        """``(H, W)`` uint8: 0 background, k where object id k is (later objects on top)."""
        h, w = self.image_size
        out = np.zeros((h, w), dtype=np.uint8)
        for m, oid, lost in zip(self.masks, self.object_ids, self.lost):
            if not lost:
                out[m] = oid
        return out

    def boxes(self) -> np.ndarray:
        """``(N, 4)`` float32 ``x1, y1, x2, y2`` (inclusive-exclusive pixels); NaN rows for empty masks."""
        out = np.full((len(self), 4), np.nan, dtype=np.float32)
        for i, m in enumerate(self.masks):
            box = mask_box(m)
            if box is not None:
                out[i] = box
        return out

    def to_supervision(self, include_lost: bool = False, class_id=None):
        """This result as ``supervision.Detections`` with masks (see :mod:`samstream.interop`;
        needs ``pip install supervision``)."""
        from .interop import to_supervision

        return to_supervision(self, include_lost=include_lost, class_id=class_id)

    @classmethod
    def from_supervision(cls, detections, frame_index: int = 0, timestamp: float = 0.0,
                         image_size: Optional[tuple[int, int]] = None) -> "Segmentation":
        """A result from ``supervision.Detections`` with masks; ids from ``tracker_id`` (see
        :mod:`samstream.interop`)."""
        from .interop import from_supervision

        return from_supervision(detections, frame_index, timestamp, image_size)

    def mask_for(self, obj_id: int) -> np.ndarray:
        """The ``(H, W)`` bool mask of object ``obj_id``; ``KeyError`` naming the known ids if absent."""
        idx = np.flatnonzero(self.object_ids == obj_id)
        if idx.size == 0:
            raise KeyError(f"no object {obj_id} in this result; known ids: {self.object_ids.tolist()}")
        return self.masks[idx[0]]


def stack_masks(masks: Sequence[np.ndarray], height: int, width: int) -> np.ndarray:
    """Stack per-object ``(H, W)`` masks into ``(N, H, W)`` bool (``(0, H, W)`` when empty)."""
    if not masks:
        return np.zeros((0, height, width), dtype=bool)
    return np.stack([np.asarray(m, dtype=bool) for m in masks])
