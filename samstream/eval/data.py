"""DAVIS-layout video data: ground-truth mask reading, :class:`VideoSequence`, :func:`load_sequences`.

Layout::

    root/<seq>/frames/<stem>.jpg     the video frames (.jpg/.jpeg/.png)
    root/<seq>/masks/<stem>.png      ground truth, pixel value = object id (0 = background)

Frames and masks are matched by file stem. Frames without a mask are tracked but not scored.
Masks are read as **object ids**, never as colours: indexed (palette, mode ``"P"``) PNGs are
read as their palette indices (DAVIS-2017 style, ids ``1..N``), grey PNGs as their values,
and a file whose only non-zero value is 255 (DAVIS-2016 style ``0/255`` binary masks) means
object 1. ``0/1`` binary masks are already object 1. OpenCV + numpy; Pillow only for palette PNGs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional, Union

import cv2
import numpy as np

from ..utils import natural_key

__all__ = ["VideoSequence", "load_sequences", "read_mask", "LAYOUT", "FRAME_EXTS", "MASK_EXTS"]

LAYOUT = "root/<seq>/frames/<stem>.jpg with root/<seq>/masks/<stem>.png (DAVIS layout)"
FRAME_EXTS = (".jpg", ".jpeg", ".png")
MASK_EXTS = (".png",)

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


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
    try:
        arr = _read_palette_png(path) if _png_colour_type(path) == 3 else cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    except Exception as exc:  # cv2.error (over OpenCV's pixel limit), Pillow's errors (truncated, bomb)
        raise ValueError(f"could not read the mask {path} ({type(exc).__name__}: {str(exc).strip()[-120:]}): "
                         "expected an 8-bit grey or palette PNG.") from None
    if _png_colour_type(path) != 3:
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
class VideoSequence:
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

    def head(self, n: int) -> "VideoSequence":
        """The first ``n`` frames only."""
        if n < 1:
            raise ValueError(f"head(n) needs n >= 1, got {n}.")
        return VideoSequence(self.name, self.path, self.frame_paths[:n], self.mask_paths[:n])


def _files_by_stem(folder: Path, exts: tuple[str, ...], what: str) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for p in folder.iterdir():
        if not p.is_file() or p.suffix.lower() not in exts or p.name.startswith("."):
            continue
        if p.stem in out:
            raise ValueError(f"two {what} files share the stem {p.stem!r} in {folder}: keep one.")
        out[p.stem] = p
    return out


def _load_one(seq_dir: Path) -> VideoSequence:
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
    orphans = sorted(set(masks) - set(frames), key=natural_key)
    if orphans:
        raise ValueError(
            f"{len(orphans)} mask(s) in {masks_dir} have no frame with the same stem "
            f"(e.g. {orphans[0]!r}): frames and masks are matched by file stem."
        )
    stems = sorted(frames, key=natural_key)
    return VideoSequence(
        name=seq_dir.name,
        path=seq_dir,
        frame_paths=tuple(frames[s] for s in stems),
        mask_paths=tuple(masks.get(s) for s in stems),
    )


def load_sequences(
    root: Union[str, Path],
    names: Optional[Iterable[str]] = None,
    max_frames: Optional[int] = None,
) -> list[VideoSequence]:
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
            key=lambda d: natural_key(d.name),
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

