"""Video object segmentation evaluation with the DAVIS semi-supervised protocol.

What is here (all OpenCV + numpy; Pillow only to read palette PNG masks):

* :func:`load_sequences` reads DAVIS-layout data::

      root/<seq>/frames/<stem>.jpg     the video frames (.jpg/.jpeg/.png)
      root/<seq>/masks/<stem>.png      ground truth, pixel value = object id (0 = background)

  Frames and masks are matched by file stem. Frames without a mask are tracked but not scored.
  Masks are read as **object ids**, never as colours: indexed (palette, mode ``"P"``) PNGs are
  read as their palette indices (DAVIS-2017 style, ids ``1..N``), grey PNGs as their values,
  and a file whose only non-zero value is 255 (DAVIS-2016 style ``0/255`` binary masks) means
  object 1. ``0/1`` binary masks are already object 1.

* the DAVIS measures: :func:`region_similarity` (J, the IoU) and :func:`boundary_f`
  (F, the boundary F-measure; see :func:`boundary_prf` for the exact definition and the
  conventions for empty masks).

* :func:`evaluate` runs any tracker that has ``add_object(obj_id, points=None, labels=None,
  box=None, mask=None)`` and ``track(frame) -> Segmentation`` on every sequence: the first
  annotated frame's ground truth becomes the prompt (``"mask"``, ``"box"`` or ``"point"``),
  then every frame is passed to ``track()`` in order (the prompt frame included) and the
  result is scored against the ground truth.

  Protocol: the prompt frame is **not** scored (it was given to the tracker); every later
  annotated frame is. The official DAVIS-2017 toolkit also drops the last frame of each
  sequence; pass ``exclude_last=True`` to do the same. A sequence's J (F) is the mean over its
  objects of each object's mean over the scored frames. :attr:`EvalResult.J` is the mean over
  sequences; :attr:`EvalResult.J_objects` is the mean over all objects of all sequences (the
  DAVIS-2017 "global" number). For single-object data (DAVIS-2016) both are the same.

* :class:`FlowWarpBaseline`, a naive tracker (the first mask carried frame to frame with DIS
  optical flow) to compare against, and two pictures: :func:`render_chart` (per-sequence J/F
  bars, several methods side by side) and :func:`render_overlay_strip` (a few frames with the
  predicted and the ground-truth outlines).

Command line (samstream's tracker beside the flow baseline)::

    samstream eval ../shared/data/vos --prompt-mode mask --json eval.json --chart eval.png --overlays overlays/
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional, Protocol, Union

import cv2
import numpy as np

from .types import Frame, Segmentation, mask_box

__all__ = [
    "Sequence",
    "load_sequences",
    "read_mask",
    "region_similarity",
    "boundary_map",
    "boundary_tolerance",
    "boundary_prf",
    "boundary_f",
    "mask_to_box",
    "interior_point",
    "prompt_from_mask",
    "Tracker",
    "ObjectResult",
    "SequenceResult",
    "EvalResult",
    "evaluate",
    "FlowWarpBaseline",
    "render_chart",
    "render_overlay_strip",
    "PROMPT_MODES",
    "DEFAULT_BOUND_TH",
]

LAYOUT = "root/<seq>/frames/<stem>.jpg with root/<seq>/masks/<stem>.png (DAVIS layout)"
FRAME_EXTS = (".jpg", ".jpeg", ".png")
MASK_EXTS = (".png",)
PROMPT_MODES = ("mask", "box", "point")
DEFAULT_BOUND_TH = 0.008
DAVIS_FPS = 24.0  # DAVIS videos are 24 fps; used only for the Frame timestamps we make up.

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def _natural_key(text: str) -> list:
    """Sort key so that ``2`` sorts before ``10`` (DAVIS stems are zero-padded anyway)."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text)]


def _png_colour_type(path: Path) -> Optional[int]:
    """The IHDR colour type of a PNG file (3 = palette), or ``None`` if it is not a PNG."""
    with open(path, "rb") as fh:
        head = fh.read(33)
    if len(head) < 26 or head[:8] != _PNG_SIGNATURE or head[12:16] != b"IHDR":
        return None
    return head[25]


def _read_palette_png(path: Path) -> np.ndarray:
    try:
        from PIL import Image
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"{path} is an indexed (palette) PNG; reading its object ids needs Pillow: "
            "pip install pillow (OpenCV would turn the indices into colours)."
        ) from exc
    with Image.open(path) as img:
        if img.mode == "P":
            return np.array(img)
        if img.mode == "PA":  # palette + alpha: keep the indices
            return np.array(img.getchannel(0))
        return np.array(img.convert("L"))


def read_mask(path: Union[str, Path]) -> np.ndarray:
    """Read a ground-truth mask PNG as an ``(H, W)`` array of **object ids** (0 = background).

    * palette (indexed, mode ``"P"``) PNGs: the palette indices (Pillow; OpenCV would return
      the palette colours instead);
    * grey PNGs (8- or 16-bit): the values; a colour PNG is accepted only if it is grey
      (all channels equal), else ``ValueError``;
    * a file whose only non-zero value is 255 (or 65535) is a single-object binary mask: it
      becomes object 1. ``0/1`` masks are object 1 already.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"mask file {path} does not exist (expected {LAYOUT}).")
    if _png_colour_type(path) == 3:
        arr = _read_palette_png(path)
    else:
        arr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if arr is None:
            raise ValueError(f"could not read the mask {path}: expected an 8-bit grey or palette PNG.")
        if arr.ndim == 3:
            colour = arr[:, :, :3]
            if not (np.array_equal(colour[:, :, 0], colour[:, :, 1]) and np.array_equal(colour[:, :, 0], colour[:, :, 2])):
                raise ValueError(
                    f"{path} is a colour (RGB) image: masks must hold object ids, as a grey PNG "
                    "(value = id) or an indexed/palette PNG (index = id), as DAVIS stores them."
                )
            arr = colour[:, :, 0]
    arr = np.asarray(arr)
    if arr.ndim != 2:
        raise ValueError(f"{path} has shape {arr.shape}: a mask must be a single-channel image.")
    if arr.dtype == np.uint16 and arr.max(initial=0) <= 255 or arr.dtype == bool:
        arr = arr.astype(np.uint8)
    nonzero = np.unique(arr[arr != 0])
    if nonzero.size == 1 and int(nonzero[0]) == np.iinfo(arr.dtype).max:
        arr = (arr != 0).astype(np.uint8)  # 0/255 binary mask: object 1
    return np.ascontiguousarray(arr)


@dataclass(frozen=True)
class Sequence:
    """One video: its frames in order and, for each, the ground-truth mask file (or ``None``).

    Frames and masks are read lazily (:meth:`read_frame`, :meth:`read_mask`), so loading a
    data set costs only a directory listing. Positions are 0-based indices into
    :attr:`frame_paths`.
    """

    name: str
    path: Path
    frame_paths: tuple[Path, ...]
    mask_paths: tuple[Optional[Path], ...]

    def __post_init__(self) -> None:
        if len(self.frame_paths) != len(self.mask_paths):
            raise ValueError("frame_paths and mask_paths must be aligned (one entry per frame).")

    def __len__(self) -> int:
        return len(self.frame_paths)

    @property
    def stems(self) -> list[str]:
        return [p.stem for p in self.frame_paths]

    @property
    def annotated(self) -> list[int]:
        """Positions of the frames that have a ground-truth mask."""
        return [i for i, m in enumerate(self.mask_paths) if m is not None]

    def read_frame(self, pos: int) -> np.ndarray:
        """Frame ``pos`` as ``uint8`` ``(H, W, 3)`` BGR."""
        p = self.frame_paths[pos]
        img = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if img is None:
            raise ValueError(f"could not read the frame {p}: is it a valid JPEG/PNG image?")
        return img

    def read_mask(self, pos: int) -> Optional[np.ndarray]:
        """Ground-truth object ids of frame ``pos`` (see :func:`read_mask`), ``None`` if unannotated."""
        p = self.mask_paths[pos]
        return None if p is None else read_mask(p)

    def object_ids(self) -> list[int]:
        """The object ids present in the first annotated frame (the objects that get prompts)."""
        first = self.annotated[0]
        m = self.read_mask(first)
        return [int(v) for v in np.unique(m) if v != 0]

    def head(self, n: int) -> "Sequence":
        """The first ``n`` frames only."""
        if n < 1:
            raise ValueError(f"head(n) needs n >= 1, got {n}.")
        return Sequence(self.name, self.path, self.frame_paths[:n], self.mask_paths[:n])


def _files_by_stem(folder: Path, exts: tuple[str, ...], what: str) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for p in folder.iterdir():
        if not p.is_file() or p.suffix.lower() not in exts or p.name.startswith("."):
            continue
        if p.stem in out:
            raise ValueError(f"two {what} files share the stem {p.stem!r} in {folder}: keep one.")
        out[p.stem] = p
    return out


def _load_one(seq_dir: Path) -> Sequence:
    frames_dir, masks_dir = seq_dir / "frames", seq_dir / "masks"
    for d, what in ((frames_dir, "frames"), (masks_dir, "masks")):
        if not d.is_dir():
            raise ValueError(f"sequence folder {seq_dir} has no {what}/ folder: expected {LAYOUT}.")
    frames = _files_by_stem(frames_dir, FRAME_EXTS, "frame")
    if not frames:
        raise ValueError(f"{frames_dir} holds no .jpg/.jpeg/.png frames: expected {LAYOUT}.")
    masks = _files_by_stem(masks_dir, MASK_EXTS, "mask")
    if not masks:
        raise ValueError(f"{masks_dir} holds no .png masks: expected {LAYOUT}.")
    orphans = sorted(set(masks) - set(frames), key=_natural_key)
    if orphans:
        raise ValueError(
            f"{len(orphans)} mask(s) in {masks_dir} have no frame with the same stem "
            f"(e.g. {orphans[0]!r}): frames and masks are matched by file stem."
        )
    stems = sorted(frames, key=_natural_key)
    return Sequence(
        name=seq_dir.name,
        path=seq_dir,
        frame_paths=tuple(frames[s] for s in stems),
        mask_paths=tuple(masks.get(s) for s in stems),
    )


def load_sequences(
    root: Union[str, Path],
    names: Optional[Iterable[str]] = None,
    max_frames: Optional[int] = None,
) -> list[Sequence]:
    """Load DAVIS-layout sequences from ``root`` (``root/<seq>/frames`` + ``root/<seq>/masks``).

    ``root`` may also be a single sequence folder (one that holds ``frames/`` and ``masks/``).
    ``names`` keeps only those sequences (in that order); ``max_frames`` keeps the first frames
    of each. Raises ``FileNotFoundError`` for a missing root and ``ValueError`` (naming the
    expected layout) for a malformed one.
    """
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"VOS data root {root} does not exist: expected {LAYOUT}.")
    if not root.is_dir():
        raise ValueError(f"VOS data root {root} is a file, not a folder: expected {LAYOUT}.")
    if (root / "frames").is_dir():
        seq_dirs = [root]
    else:
        seq_dirs = sorted(
            (d for d in root.iterdir() if d.is_dir() and not d.name.startswith((".", "_"))),
            key=lambda d: _natural_key(d.name),
        )
    if not seq_dirs:
        raise ValueError(f"{root} holds no sequence folders: expected {LAYOUT}.")
    if names is not None:
        names = list(names)
        by_name = {d.name: d for d in seq_dirs}
        missing = [n for n in names if n not in by_name]
        if missing:
            raise ValueError(f"no sequence {missing} under {root}; available: {sorted(by_name)}.")
        seq_dirs = [by_name[n] for n in names]
    seqs = [_load_one(d) for d in seq_dirs]
    if max_frames is not None:
        seqs = [s.head(max_frames) for s in seqs]
    return seqs


# --------------------------------------------------------------------------------------------
# Measures
# --------------------------------------------------------------------------------------------


def _as_bool(mask: object, name: str) -> np.ndarray:
    m = np.asarray(mask)
    if m.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (H, W) mask, got shape {m.shape}.")
    return m.astype(bool, copy=False)


def _pair(pred: object, gt: object) -> tuple[np.ndarray, np.ndarray]:
    p, g = _as_bool(pred, "pred"), _as_bool(gt, "gt")
    if p.shape != g.shape:
        raise ValueError(f"prediction {p.shape} and ground truth {g.shape} differ in size.")
    return p, g


def region_similarity(pred: object, gt: object) -> float:
    """DAVIS region similarity J: ``|pred & gt| / |pred | gt|``; 1.0 when both are empty."""
    p, g = _pair(pred, gt)
    union = np.count_nonzero(p | g)
    if union == 0:
        return 1.0
    return float(np.count_nonzero(p & g)) / float(union)


def boundary_map(mask: object) -> np.ndarray:
    """The 1-pixel boundary of a binary mask, as the DAVIS toolkit's ``seg2bmap`` defines it.

    A pixel is on the boundary when it differs from its right, lower or lower-right neighbour
    (so the outline of a filled square ``[a..b]x[a..b]`` is the square ring ``[a-1..b]``). In
    the last column only the lower neighbour counts, in the last row only the right one, and
    the bottom-right pixel is never a boundary: the image border itself is not a boundary.
    """
    s = _as_bool(mask, "mask")
    right = np.zeros_like(s)
    right[:, :-1] = s[:, 1:]
    down = np.zeros_like(s)
    down[:-1, :] = s[1:, :]
    diag = np.zeros_like(s)
    diag[:-1, :-1] = s[1:, 1:]
    b = (s ^ right) | (s ^ down) | (s ^ diag)
    b[-1, :] = s[-1, :] ^ right[-1, :]
    b[:, -1] = s[:, -1] ^ down[:, -1]
    b[-1, -1] = False
    return b


def boundary_tolerance(shape: tuple[int, int], bound_th: float = DEFAULT_BOUND_TH) -> int:
    """Match radius in pixels: ``ceil(bound_th * diagonal)``, or ``bound_th`` itself when ``>= 1``."""
    if bound_th < 0:
        raise ValueError(f"bound_th must be >= 0, got {bound_th}.")
    if bound_th >= 1:
        return int(math.ceil(bound_th))
    return int(math.ceil(bound_th * math.hypot(shape[0], shape[1])))


def _disk(radius: int) -> np.ndarray:
    """Disk structuring element: all offsets with ``dx^2 + dy^2 <= radius^2``."""
    r = int(radius)
    y, x = np.ogrid[-r : r + 1, -r : r + 1]
    return ((x * x + y * y) <= r * r).astype(np.uint8)


def boundary_prf(
    pred: object, gt: object, bound_th: float = DEFAULT_BOUND_TH
) -> tuple[float, float, float]:
    """DAVIS boundary measure: ``(precision, recall, F)``.

    Both boundaries come from :func:`boundary_map`. A predicted boundary pixel counts as
    correct (precision) when a ground-truth boundary pixel lies within the disk of radius
    :func:`boundary_tolerance` around it, and vice versa for recall. ``F = 2PR / (P + R)``
    (0 when ``P + R = 0``). Empty boundaries follow the DAVIS toolkit: both empty -> P = R = 1;
    only the prediction empty -> P = 1, R = 0; only the ground truth empty -> P = 0, R = 1
    (so F = 0 in the last two cases). Note that a mask covering the whole image has an empty
    boundary (the image border is not a boundary).
    """
    p, g = _pair(pred, gt)
    pb, gb = boundary_map(p), boundary_map(g)
    n_p, n_g = int(np.count_nonzero(pb)), int(np.count_nonzero(gb))
    if n_p == 0 and n_g == 0:
        precision, recall = 1.0, 1.0
    elif n_p == 0:
        precision, recall = 1.0, 0.0
    elif n_g == 0:
        precision, recall = 0.0, 1.0
    else:
        kernel = _disk(boundary_tolerance(p.shape, bound_th))
        p_dil = cv2.dilate(pb.astype(np.uint8), kernel).astype(bool)
        g_dil = cv2.dilate(gb.astype(np.uint8), kernel).astype(bool)
        precision = np.count_nonzero(pb & g_dil) / float(n_p)
        recall = np.count_nonzero(gb & p_dil) / float(n_g)
    f = 0.0 if precision + recall == 0 else 2.0 * precision * recall / (precision + recall)
    return float(precision), float(recall), float(f)


def boundary_f(pred: object, gt: object, bound_th: float = DEFAULT_BOUND_TH) -> float:
    """DAVIS boundary accuracy F (see :func:`boundary_prf`)."""
    return boundary_prf(pred, gt, bound_th)[2]


# --------------------------------------------------------------------------------------------
# Prompts from ground truth
# --------------------------------------------------------------------------------------------


def mask_to_box(mask: object) -> np.ndarray:
    """``(4,)`` float32 ``x1, y1, x2, y2`` around a non-empty mask; ``x2``/``y2`` exclusive
    (``x2 = last column + 1``), the convention of :meth:`Segmentation.boxes`."""
    box = mask_box(_as_bool(mask, "mask"))
    if box is None:
        raise ValueError("cannot make a box from an empty mask.")
    return box


def interior_point(mask: object) -> np.ndarray:
    """``(2,)`` float32 ``(x, y)``: the pixel (column, row) of the mask farthest from its edge.

    Euclidean distance transform; the image border counts as an edge (the mask is padded
    with background), and ties go to the first pixel in row-major order.
    """
    m = _as_bool(mask, "mask")
    if not m.any():
        raise ValueError("cannot pick a point in an empty mask.")
    padded = np.pad(m.astype(np.uint8), 1)
    dist = cv2.distanceTransform(padded, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return np.array([x, y], dtype=np.float32)


def prompt_from_mask(mask: object, mode: str) -> dict[str, Any]:
    """Keyword arguments for ``tracker.add_object`` derived from a ground-truth object mask.

    ``"mask"``: the mask itself; ``"box"``: :func:`mask_to_box`; ``"point"``: one positive
    point at :func:`interior_point`.
    """
    m = _as_bool(mask, "mask")
    if mode == "mask":
        return {"mask": m.copy()}
    if mode == "box":
        return {"box": mask_to_box(m)}
    if mode == "point":
        return {"points": interior_point(m)[None], "labels": np.ones(1, dtype=np.int32)}
    raise ValueError(f"prompt_mode must be one of {PROMPT_MODES}, got {mode!r}.")


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


def _mean(values: Iterable[float]) -> float:
    v = [float(x) for x in values if x is not None and np.isfinite(x)]
    return float(np.mean(v)) if v else float("nan")


def _json_float(x: float) -> Optional[float]:
    x = float(x)
    return x if np.isfinite(x) else None


@dataclass
class ObjectResult:
    """J and F of one object over the scored frames of a sequence."""

    obj_id: int
    J_per_frame: list[float]
    F_per_frame: list[float]

    @property
    def J(self) -> float:
        """Mean J over the scored frames (NaN when none)."""
        return _mean(self.J_per_frame)

    @property
    def F(self) -> float:
        return _mean(self.F_per_frame)

    @property
    def J_recall(self) -> float:
        """DAVIS recall: the fraction of scored frames with J > 0.5."""
        return _mean([float(j > 0.5) for j in self.J_per_frame])

    @property
    def F_recall(self) -> float:
        return _mean([float(f > 0.5) for f in self.F_per_frame])

    def to_dict(self) -> dict:
        return {
            "obj_id": int(self.obj_id),
            "J": _json_float(self.J),
            "F": _json_float(self.F),
            "J_recall": _json_float(self.J_recall),
            "F_recall": _json_float(self.F_recall),
            "J_per_frame": [float(x) for x in self.J_per_frame],
            "F_per_frame": [float(x) for x in self.F_per_frame],
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> "ObjectResult":
        return cls(int(d["obj_id"]), list(d["J_per_frame"]), list(d["F_per_frame"]))


@dataclass
class SequenceResult:
    """One sequence: per-object scores, the scored frame stems and the tracker's speed.

    ``samples`` maps a few frame positions to the predicted ``(H, W)`` uint8 label map, for
    :func:`render_overlay_strip`; it is not part of :meth:`to_dict`.
    """

    name: str
    prompt_stem: str
    scored_stems: list[str]
    objects: list[ObjectResult]
    n_tracked: int
    track_seconds: float
    init_seconds: float
    samples: dict[int, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    @property
    def J(self) -> float:
        """Mean over objects of each object's mean J."""
        return _mean(o.J for o in self.objects)

    @property
    def F(self) -> float:
        return _mean(o.F for o in self.objects)

    @property
    def JF(self) -> float:
        return (self.J + self.F) / 2.0

    @property
    def fps(self) -> float:
        """Frames per second of ``track()`` alone (wall clock, every frame incl. the prompt frame)."""
        return self.n_tracked / self.track_seconds if self.track_seconds > 0 else float("nan")

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "J": _json_float(self.J),
            "F": _json_float(self.F),
            "JF": _json_float(self.JF),
            "fps": _json_float(self.fps),
            "n_tracked": int(self.n_tracked),
            "n_scored": len(self.scored_stems),
            "track_seconds": float(self.track_seconds),
            "init_seconds": float(self.init_seconds),
            "prompt_stem": self.prompt_stem,
            "scored_stems": list(self.scored_stems),
            "objects": [o.to_dict() for o in self.objects],
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> "SequenceResult":
        return cls(
            name=d["name"],
            prompt_stem=d["prompt_stem"],
            scored_stems=list(d["scored_stems"]),
            objects=[ObjectResult.from_dict(o) for o in d["objects"]],
            n_tracked=int(d["n_tracked"]),
            track_seconds=float(d["track_seconds"]),
            init_seconds=float(d["init_seconds"]),
        )


@dataclass
class EvalResult:
    """The whole run: one :class:`SequenceResult` per sequence plus the settings used."""

    method: str
    prompt_mode: str
    sequences: list[SequenceResult]
    bound_th: float = DEFAULT_BOUND_TH
    exclude_last: bool = False

    @property
    def J(self) -> float:
        """Mean over sequences of the sequence J."""
        return _mean(s.J for s in self.sequences)

    @property
    def F(self) -> float:
        return _mean(s.F for s in self.sequences)

    @property
    def JF(self) -> float:
        return (self.J + self.F) / 2.0

    @property
    def J_objects(self) -> float:
        """Mean over every object of every sequence (the DAVIS-2017 global J)."""
        return _mean(o.J for s in self.sequences for o in s.objects)

    @property
    def F_objects(self) -> float:
        return _mean(o.F for s in self.sequences for o in s.objects)

    @property
    def fps(self) -> float:
        """All tracked frames over all time spent in ``track()``."""
        t = sum(s.track_seconds for s in self.sequences)
        return sum(s.n_tracked for s in self.sequences) / t if t > 0 else float("nan")

    def sequence(self, name: str) -> SequenceResult:
        for s in self.sequences:
            if s.name == name:
                return s
        raise KeyError(f"no sequence {name!r}; have {[s.name for s in self.sequences]}")

    def to_dict(self) -> dict:
        """A JSON-serialisable dict (NaN becomes ``None``); :meth:`from_dict` reads it back."""
        return {
            "method": self.method,
            "prompt_mode": self.prompt_mode,
            "protocol": {
                "bound_th": float(self.bound_th),
                "exclude_first": True,
                "exclude_last": bool(self.exclude_last),
                "sequence_score": "mean over objects of the per-object mean over scored frames",
                "J": "mean over sequences",
                "J_objects": "mean over all objects (DAVIS-2017 global)",
            },
            "J": _json_float(self.J),
            "F": _json_float(self.F),
            "JF": _json_float(self.JF),
            "J_objects": _json_float(self.J_objects),
            "F_objects": _json_float(self.F_objects),
            "fps": _json_float(self.fps),
            "sequences": [s.to_dict() for s in self.sequences],
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> "EvalResult":
        proto = d.get("protocol", {})
        return cls(
            method=d["method"],
            prompt_mode=d["prompt_mode"],
            sequences=[SequenceResult.from_dict(s) for s in d["sequences"]],
            bound_th=float(proto.get("bound_th", DEFAULT_BOUND_TH)),
            exclude_last=bool(proto.get("exclude_last", False)),
        )

    def save_json(self, path: Union[str, Path]) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=1))
        return path

    @classmethod
    def load_json(cls, path: Union[str, Path]) -> "EvalResult":
        return cls.from_dict(json.loads(Path(path).read_text()))

    def summary(self) -> str:
        """A plain-text table: one row per sequence, then the means."""
        lines = [
            f"method={self.method} prompt={self.prompt_mode} bound_th={self.bound_th} "
            f"exclude_last={self.exclude_last}",
            f"{'sequence':<16}{'objs':>5}{'frames':>8}{'J':>8}{'F':>8}{'J&F':>8}{'fps':>8}",
        ]
        for s in self.sequences:
            lines.append(
                f"{s.name:<16}{len(s.objects):>5}{len(s.scored_stems):>8}"
                f"{s.J:>8.3f}{s.F:>8.3f}{s.JF:>8.3f}{s.fps:>8.1f}"
            )
        lines.append(f"{'mean':<16}{'':>5}{'':>8}{self.J:>8.3f}{self.F:>8.3f}{self.JF:>8.3f}{self.fps:>8.1f}")
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# The runner
# --------------------------------------------------------------------------------------------


class Tracker(Protocol):
    """What :func:`evaluate` needs from a tracker (one instance per sequence)."""

    def add_object(self, obj_id: int, points=None, labels=None, box=None, mask=None) -> Any: ...

    def track(self, frame: Frame) -> Segmentation: ...


def _pred_mask(seg: Segmentation, obj_id: int, shape: tuple[int, int], where: str) -> np.ndarray:
    idx = np.flatnonzero(seg.object_ids == obj_id)
    if idx.size == 0:
        return np.zeros(shape, dtype=bool)  # object not reported: counts as an empty mask
    i = int(idx[0])
    m = seg.masks[i]
    if m.shape != shape:
        raise ValueError(
            f"{where}: the tracker returned a {m.shape[1]}x{m.shape[0]} mask for object {obj_id} "
            f"but the frame is {shape[1]}x{shape[0]}: masks must be in the frame's pixels."
        )
    if seg.lost is not None and bool(seg.lost[i]):
        return np.zeros(shape, dtype=bool)
    return m


def _sample_positions(first: int, last: int, n: int) -> set[int]:
    if n <= 0:
        return set()
    return {int(round(v)) for v in np.linspace(first, last, num=min(n, last - first + 1))}


def _as_sequences(root: Union[str, Path, Iterable[Sequence]], names, max_frames) -> list[Sequence]:
    if isinstance(root, (str, Path)):
        return load_sequences(root, names=names, max_frames=max_frames)
    seqs = list(root)
    if not all(isinstance(s, Sequence) for s in seqs):
        raise ValueError("root must be a data folder or a list of Sequence (from load_sequences).")
    if names is not None:
        names = list(names)
        seqs = [s for s in seqs if s.name in names]
    if max_frames is not None:
        seqs = [s.head(max_frames) for s in seqs]
    return seqs


def evaluate(
    tracker_factory: Callable[[], Tracker],
    root: Union[str, Path, Iterable[Sequence]],
    prompt_mode: str = "mask",
    *,
    sequences: Optional[Iterable[str]] = None,
    max_frames: Optional[int] = None,
    method: Optional[str] = None,
    bound_th: float = DEFAULT_BOUND_TH,
    exclude_last: bool = False,
    sample_frames: int = 5,
    progress: Optional[Callable[[str], None]] = None,
) -> EvalResult:
    """Run a semi-supervised tracker on every sequence and score it with J and F.

    For each sequence a fresh ``tracker_factory()`` is made. The first annotated frame is the
    prompt frame: each object id in its ground truth is given to ``add_object`` as a
    ``prompt_mode`` prompt (see :func:`prompt_from_mask`). Then every frame from the prompt
    frame on is passed to ``track()`` in order, as a :class:`Frame` with ``index`` counting
    from 0 at the prompt frame and ``timestamp = index / 24``. Only ``track()`` is timed (frame
    decoding and scoring are not); ``add_object`` time is reported as ``init_seconds``.

    Scored frames: every annotated frame after the prompt frame (and, with ``exclude_last``,
    not the sequence's last frame, as the official DAVIS-2017 toolkit does). An object the
    tracker does not report, or reports as lost, counts as an empty mask.

    ``root`` is a data folder (see :func:`load_sequences`) or a list of :class:`Sequence`;
    ``sequences`` keeps only those names; ``max_frames`` keeps the first frames of each;
    ``sample_frames`` predicted label maps per sequence are kept for
    :func:`render_overlay_strip`; ``progress`` receives one line per sequence.
    """
    if prompt_mode not in PROMPT_MODES:
        raise ValueError(f"prompt_mode must be one of {PROMPT_MODES}, got {prompt_mode!r}.")
    seqs = _as_sequences(root, sequences, max_frames)
    if not seqs:
        raise ValueError("no sequences to evaluate.")
    if method is None:
        method = getattr(tracker_factory, "__name__", None) or type(tracker_factory).__name__
    results: list[SequenceResult] = []
    for seq in seqs:
        annotated = seq.annotated
        if not annotated:
            raise ValueError(f"sequence {seq.name} has no ground-truth mask: nothing to prompt with.")
        p0 = annotated[0]
        gt0 = seq.read_mask(p0)
        obj_ids = [int(v) for v in np.unique(gt0) if v != 0]
        if not obj_ids:
            raise ValueError(
                f"the first annotated frame of {seq.name} ({seq.stems[p0]}) has no object: "
                "the semi-supervised protocol needs the objects in the prompt frame."
            )
        scored = [p for p in annotated if p > p0]
        if exclude_last and scored and scored[-1] == len(seq) - 1:
            scored = scored[:-1]
        scored_set = set(scored)
        samples_at = _sample_positions(p0, len(seq) - 1, sample_frames)

        tracker = tracker_factory()
        t0 = time.perf_counter()
        for oid in obj_ids:
            tracker.add_object(oid, **prompt_from_mask(gt0 == oid, prompt_mode))
        init_s = time.perf_counter() - t0

        per_j: dict[int, list[float]] = {o: [] for o in obj_ids}
        per_f: dict[int, list[float]] = {o: [] for o in obj_ids}
        samples: dict[int, np.ndarray] = {}
        track_s = 0.0
        for pos in range(p0, len(seq)):
            image = seq.read_frame(pos)
            frame = Frame(image, index=pos - p0, timestamp=(pos - p0) / DAVIS_FPS, source=str(seq.frame_paths[pos]))
            t0 = time.perf_counter()
            seg = tracker.track(frame)
            track_s += time.perf_counter() - t0
            if not isinstance(seg, Segmentation):
                raise TypeError(f"track() must return a samstream.types.Segmentation, got {type(seg).__name__}.")
            if pos not in scored_set and pos not in samples_at:
                continue
            shape = image.shape[:2]
            where = f"{seq.name}/{seq.stems[pos]}"
            preds = {oid: _pred_mask(seg, oid, shape, where) for oid in obj_ids}
            if pos in scored_set:
                gt = seq.read_mask(pos)
                if gt.shape != shape:
                    raise ValueError(f"{where}: mask is {gt.shape[::-1]} but the frame is {shape[::-1]}.")
                for oid in obj_ids:
                    g = gt == oid
                    per_j[oid].append(region_similarity(preds[oid], g))
                    per_f[oid].append(boundary_f(preds[oid], g, bound_th))
            if pos in samples_at:
                lab = np.zeros(shape, dtype=np.uint8)
                for oid in obj_ids:
                    lab[preds[oid]] = oid
                samples[pos] = lab
        res = SequenceResult(
            name=seq.name,
            prompt_stem=seq.stems[p0],
            scored_stems=[seq.stems[p] for p in scored],
            objects=[ObjectResult(o, per_j[o], per_f[o]) for o in obj_ids],
            n_tracked=len(seq) - p0,
            track_seconds=track_s,
            init_seconds=init_s,
            samples=samples,
        )
        results.append(res)
        if progress is not None:
            progress(f"{seq.name}: J={res.J:.3f} F={res.F:.3f} fps={res.fps:.1f} ({res.n_tracked} frames)")
    return EvalResult(method, prompt_mode, results, bound_th=bound_th, exclude_last=exclude_last)


# --------------------------------------------------------------------------------------------
# Baseline: optical-flow mask warping
# --------------------------------------------------------------------------------------------


class FlowWarpBaseline:
    """Naive baseline: carry each object's mask from frame to frame with DIS optical flow.

    For each new frame, dense flow is computed **from the current frame to the previous one**
    (``DIS.calc(current, previous)``, preset MEDIUM, on grey images), so every pixel of the
    current frame knows where it came from; the previous binary mask is then backward-warped
    with ``cv2.remap`` (bilinear, outside = background) and thresholded at ``>= threshold``
    (0.5). Backward warping leaves no holes, unlike pushing pixels forward along the flow.
    Objects are warped independently (their masks may overlap). There is no re-detection,
    so errors accumulate: this is the floor a real tracker should beat.

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
    ) -> None:
        self._dis = cv2.DISOpticalFlow_create(preset)
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
            flow = self._dis.calc(grey, self._prev, None)  # current -> previous
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
        if self._pending:
            for oid, prompt in self._pending.items():
                self._masks[oid] = self._initial_mask(prompt, h, w)
            self._pending.clear()
            self._key_index = frame.index
        self._prev = grey
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


# --------------------------------------------------------------------------------------------
# Pictures (OpenCV drawing only)
# --------------------------------------------------------------------------------------------

_FONT = cv2.FONT_HERSHEY_SIMPLEX
# BGR base colours per method (J bar solid, F bar lighter).
_METHOD_COLOURS = [(180, 119, 31), (14, 127, 255), (44, 160, 44), (40, 39, 214), (189, 103, 148), (75, 86, 140)]


def _ascii(text: str) -> str:
    return text.encode("ascii", "replace").decode("ascii")


def _text(img, text, org, scale=0.45, colour=(30, 30, 30), thickness=1, anchor="left") -> None:
    text = _ascii(text)
    (tw, th), _ = cv2.getTextSize(text, _FONT, scale, thickness)
    x, y = org
    if anchor == "center":
        x -= tw // 2
    elif anchor == "right":
        x -= tw
    cv2.putText(img, text, (int(x), int(y)), _FONT, scale, colour, thickness, cv2.LINE_AA)


def _lighter(c: tuple[int, int, int], f: float = 0.55) -> tuple[int, int, int]:
    return tuple(int(round(v + (255 - v) * f)) for v in c)


def _write_png(path: Union[str, Path], img: np.ndarray) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), img):
        raise ValueError(f"could not write {path}: give a path ending in .png (or .jpg).")
    return path


def render_chart(
    results: Union[EvalResult, Iterable[EvalResult]],
    path: Union[str, Path],
    *,
    title: Optional[str] = None,
    height: int = 440,
) -> Path:
    """Save a grouped bar chart of per-sequence J and F (plus the mean) as a PNG.

    ``results`` is one :class:`EvalResult` or several (e.g. ``classic`` and the flow-warp
    baseline); each method gets a colour, its J bar solid and its F bar lighter. Sequences
    are those of the first result, then any others. Returns the path.
    """
    runs = [results] if isinstance(results, EvalResult) else list(results)
    if not runs:
        raise ValueError("render_chart needs at least one EvalResult.")
    names: list[str] = []
    for r in runs:
        for s in r.sequences:
            if s.name not in names:
                names.append(s.name)
    groups = names + ["mean"]

    def value(run: EvalResult, group: str, which: str) -> float:
        if group == "mean":
            return getattr(run, which)
        for s in run.sequences:
            if s.name == group:
                return getattr(s, which)
        return float("nan")

    bar_w = 16
    left, right, top, bottom = 56, 20, 52 + 18 * len(runs), 56
    # groups fill at least a 640 px wide chart; bars stay 16 px, the gaps grow
    group_w = max(2 * bar_w * len(runs) + 28, (640 - left - right) // len(groups))
    gap = group_w - 2 * bar_w * len(runs)
    width = left + right + group_w * len(groups)
    img = np.full((height, width, 3), 255, np.uint8)
    plot_h = height - top - bottom
    y_of = lambda v: int(round(top + plot_h * (1.0 - min(max(v, 0.0), 1.0))))  # noqa: E731

    _text(img, title or f"J (region) and F (boundary), prompt: {runs[0].prompt_mode}", (left, 24), 0.6, thickness=1)
    # legend
    for k, r in enumerate(runs):
        c = _METHOD_COLOURS[k % len(_METHOD_COLOURS)]
        lx, ly = left, 36 + 18 * k
        cv2.rectangle(img, (lx, ly), (lx + 12, ly + 12), c, -1)
        cv2.rectangle(img, (lx + 14, ly), (lx + 26, ly + 12), _lighter(c), -1)
        _text(img, f"{r.method}: J / F  (mean J={r.J:.3f} F={r.F:.3f})", (lx + 32, ly + 11), 0.4)
    # axes and grid
    for t in range(0, 11, 2):
        v = t / 10
        y = y_of(v)
        cv2.line(img, (left, y), (width - right, y), (225, 225, 225) if t else (90, 90, 90), 1)
        _text(img, f"{v:.1f}", (left - 6, y + 4), 0.4, anchor="right")
    cv2.line(img, (left, top), (left, top + plot_h), (90, 90, 90), 1)
    # bars
    for g, group in enumerate(groups):
        gx = left + gap // 2 + g * group_w
        for k, r in enumerate(runs):
            c = _METHOD_COLOURS[k % len(_METHOD_COLOURS)]
            for j, (which, colour) in enumerate((("J", c), ("F", _lighter(c)))):
                v = value(r, group, which)
                x0 = gx + (2 * k + j) * bar_w
                if not np.isfinite(v):
                    _text(img, "n/a", (x0 + bar_w // 2, y_of(0) - 4), 0.3, anchor="center")
                    continue
                cv2.rectangle(img, (x0, y_of(v)), (x0 + bar_w - 2, y_of(0)), colour, -1)
                cv2.rectangle(img, (x0, y_of(v)), (x0 + bar_w - 2, y_of(0)), c, 1)
                if bar_w >= 14:
                    _text(img, f"{v:.2f}"[1:] if v < 1 else "1.0", (x0 + bar_w // 2 - 1, y_of(v) - 3), 0.28, anchor="center")
        label = group if len(group) <= 14 else group[:13] + "."
        _text(img, label, (gx + (group_w - gap) // 2, top + plot_h + 18), 0.42, anchor="center",
              thickness=2 if group == "mean" else 1)
    _text(img, f"bars: J then F per method; F tolerance {runs[0].bound_th} x diagonal; prompt frame not scored",
          (left, height - 14), 0.38, colour=(110, 110, 110))
    return _write_png(path, img)


def render_overlay_strip(
    sequence: Sequence,
    predictions: Union[SequenceResult, Mapping[int, Union[np.ndarray, Segmentation]]],
    path: Union[str, Path],
    *,
    positions: Optional[Iterable[int]] = None,
    max_frames: int = 5,
    thumb_width: int = 320,
    gt_colour: tuple[int, int, int] = (0, 220, 0),
    pred_colour: tuple[int, int, int] = (0, 0, 255),
) -> Path:
    """Save a row of frames with ground-truth (green) and predicted (red) outlines as a PNG.

    ``predictions`` maps frame positions (indices into ``sequence``) to a predicted ``(H, W)``
    label map (0 = background, value = object id) or a :class:`Segmentation`; a
    :class:`SequenceResult` from :func:`evaluate` may be passed directly (its ``samples``).
    Each tile is captioned with the frame stem and the mean J over the objects there.
    """
    preds = predictions.samples if isinstance(predictions, SequenceResult) else predictions
    if positions is None:
        keys = sorted(preds)
        if len(keys) > max_frames:
            keys = [keys[int(round(i))] for i in np.linspace(0, len(keys) - 1, max_frames)]
    else:
        keys = list(positions)
    if not keys:
        raise ValueError("no predicted frames to draw: pass predictions for at least one frame position.")
    tiles = []
    for pos in keys:
        if pos not in preds:
            raise ValueError(f"no prediction for frame position {pos}; have {sorted(preds)}.")
        img = sequence.read_frame(pos)
        h, w = img.shape[:2]
        p = preds[pos]
        if isinstance(p, Segmentation):
            lab = np.zeros((h, w), np.uint8)
            for oid in p.object_ids.tolist():
                lab[_pred_mask(p, oid, (h, w), sequence.name)] = oid
        else:
            lab = np.asarray(p)
            if lab.dtype == bool:
                lab = lab.astype(np.uint8)
        if lab.shape != (h, w):
            raise ValueError(f"prediction for position {pos} is {lab.shape[::-1]} but the frame is {(w, h)}.")
        gt = sequence.read_mask(pos)
        scale = thumb_width / float(w)
        thick = max(2, int(round(2.0 / scale)))
        ids = set(np.unique(lab).tolist()) | (set(np.unique(gt).tolist()) if gt is not None else set())
        ids.discard(0)
        js = []
        for oid in sorted(ids):
            for m, colour in (((gt == oid) if gt is not None else None, gt_colour), (lab == oid, pred_colour)):
                if m is None or not m.any():
                    continue
                cs, _ = cv2.findContours(m.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
                cv2.drawContours(img, cs, -1, colour, thick, cv2.LINE_AA)
            if gt is not None:
                js.append(region_similarity(lab == oid, gt == oid))
        tile = cv2.resize(img, (thumb_width, max(1, int(round(h * scale)))), interpolation=cv2.INTER_AREA)
        band = np.full((22, thumb_width, 3), 0, np.uint8)
        cap = sequence.stems[pos] + (f"  J={np.mean(js):.3f}" if js else "  (no GT)")
        if isinstance(predictions, SequenceResult) and sequence.stems[pos] == predictions.prompt_stem:
            cap += "  (prompt)"
        _text(band, cap, (6, 16), 0.45, colour=(255, 255, 255))
        tiles.append(np.vstack([band, tile]))
    hmax = max(t.shape[0] for t in tiles)
    tiles = [np.vstack([t, np.zeros((hmax - t.shape[0], t.shape[1], 3), np.uint8)]) for t in tiles]
    sep = np.full((hmax, 4, 3), 255, np.uint8)
    row = tiles[0]
    for t in tiles[1:]:
        row = np.hstack([row, sep, t])
    footer = np.full((24, row.shape[1], 3), 255, np.uint8)
    legend = f"{sequence.name}:  ground truth = "
    _text(footer, legend, (6, 17), 0.45)
    x = 6 + cv2.getTextSize(_ascii(legend), _FONT, 0.45, 1)[0][0]
    cv2.line(footer, (x + 2, 12), (x + 30, 12), gt_colour, 3)
    _text(footer, ",  prediction = ", (x + 34, 17), 0.45)
    x += 34 + cv2.getTextSize(",  prediction = ", _FONT, 0.45, 1)[0][0]
    cv2.line(footer, (x + 2, 12), (x + 30, 12), pred_colour, 3)
    return _write_png(path, np.vstack([row, footer]))


# --------------------------------------------------------------------------------------------
# Command line: flow-warp baseline on a data folder
# --------------------------------------------------------------------------------------------


def run_cli_eval(args) -> int:
    """``samstream eval``: our tracker (and the flow-warp baseline) on DAVIS-layout data."""
    import sys

    from .engine import load_predictor
    from .tracker import Tracker, TrackerConfig

    if args.keyframe_interval < 1:
        raise ValueError("--keyframe-interval must be >= 1.")
    names = [n.strip() for n in args.sequences.split(",")] if args.sequences else None
    seqs = load_sequences(args.dir, names=names, max_frames=args.max_frames)
    predictor = load_predictor(args.model, precision=args.precision)
    if predictor.describe().get("weights") == "random":
        raise ValueError(f"{args.model} has RANDOM weights: accuracy on random weights means nothing; "
                         "export the official checkpoint (`samstream export NAME`) to evaluate it.")
    cfg = TrackerConfig(keyframe_interval=args.keyframe_interval)

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    label = f"samstream {args.model} (keyframe every {args.keyframe_interval})"
    ours = evaluate(lambda: Tracker(predictor, asynchronous=False, config=cfg), seqs, args.prompt_mode,
                    method=label, progress=progress)
    results = [ours]
    if not args.no_baseline:
        results.insert(0, evaluate(FlowWarpBaseline, seqs, args.prompt_mode, method="flow-warp baseline",
                                   progress=progress))
    for r in results:
        print(r.summary())
        print()
    if args.json:
        payload = {"results": [r.to_dict() for r in results]}
        Path(args.json).write_text(json.dumps(payload, indent=2))
        print(f"wrote {args.json}")
    if args.chart:
        print(f"wrote {render_chart(results, args.chart)}")
    if args.overlays:
        for seq, sr in zip(seqs, ours.sequences):
            print(f"wrote {render_overlay_strip(seq, sr, Path(args.overlays) / f'{seq.name}.png')}")
    return 0
