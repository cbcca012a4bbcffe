"""Where models live on disk, checkpoint download + verification, and exported IR lookup.

Layout under the cache root (``$SAMSTREAM_CACHE``, else ``$XDG_CACHE_HOME/samstream``, else
``~/.cache/samstream``)::

    checkpoints/<official file name>                 # verified by SHA-256
    ir/<model>/<weights>/encoder_fp32.xml|.bin       # weights = "official" | "random-init" | "custom"
    ir/<model>/<weights>/encoder_fp16.xml|.bin
    ir/<model>/<weights>/encoder_int8.xml|.bin
    ir/<model>/<weights>/decoder.xml|.bin
    ir/<model>/<weights>/meta.json                   # geometry, provenance, export settings
    ov_cache/                                        # OpenVINO compiled-blob cache (fast 2nd start)
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .registry import IR_PRECISIONS, ModelSpec

__all__ = [
    "cache_root",
    "ExportedModel",
    "ir_dir",
    "find_exported",
    "list_exported",
    "fetch_checkpoint",
    "verify_checkpoint",
    "sha256_file",
    "WEIGHT_TAGS",
]

WEIGHT_TAGS = ("official", "random-init", "custom")


def cache_root() -> Path:
    """The samstream cache folder (created on demand)."""
    env = os.environ.get("SAMSTREAM_CACHE")
    if env:
        root = Path(env).expanduser()
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "samstream"
    return root


def ir_dir(model: str, weights: str = "official") -> Path:
    if weights not in WEIGHT_TAGS:
        raise ValueError(f"weights must be one of {WEIGHT_TAGS}, got {weights!r}.")
    return cache_root() / "ir" / model / weights


@dataclass(frozen=True)
class ExportedModel:
    """An exported model folder and its metadata."""

    model: str
    weights: str  # "official" | "random-init" | "custom" (a user-trained checkpoint, ``--custom NAME``)
    folder: Path
    meta: dict

    def encoder_xml(self, precision: str) -> Path:
        return self.folder / f"encoder_{precision}.xml"

    @property
    def decoder_xml(self) -> Path:
        return self.folder / "decoder.xml"

    def precisions(self) -> list[str]:
        return [p for p in IR_PRECISIONS if self.encoder_xml(p).exists()]


def _read_meta(folder: Path) -> Optional[dict]:
    meta = folder / "meta.json"
    if not meta.exists():
        return None
    try:
        return json.loads(meta.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def find_exported(model: str, weights: str = "official") -> Optional[ExportedModel]:
    folder = ir_dir(model, weights)
    meta = _read_meta(folder)
    if meta is None or not (folder / "decoder.xml").exists():
        return None
    return ExportedModel(model, weights, folder, meta)


def list_exported() -> list[ExportedModel]:
    root = cache_root() / "ir"
    out = []
    if root.is_dir():
        for mdir in sorted(p for p in root.iterdir() if p.is_dir()):
            for tag in WEIGHT_TAGS:
                found = find_exported(mdir.name, tag)
                if found is not None:
                    out.append(found)
    return out


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def _fix_hint(spec: ModelSpec) -> str:
    return (
        f"download it yourself from {spec.url} and pass it with "
        f"`samstream export {spec.name} --checkpoint PATH` (expected SHA-256 {spec.sha256})."
    )


def verify_checkpoint(spec: ModelSpec, path: Path) -> Path:
    """Check that ``path`` exists and has the official SHA-256; raise with the fix otherwise."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist: {_fix_hint(spec)}")
    digest = sha256_file(path)
    if digest != spec.sha256:
        raise ValueError(
            f"checkpoint {path} is not the official {spec.title} file (SHA-256 {digest[:16]}…, "
            f"size {path.stat().st_size} bytes{f', expected {spec.size_bytes}' if spec.size_bytes else ''}): it is corrupt, "
            f"truncated or another model; {_fix_hint(spec)}"
        )
    return path


def fetch_checkpoint(spec: ModelSpec, checkpoint: Optional[Path] = None, timeout: float = 30.0) -> Path:
    """Return a verified official checkpoint: ``checkpoint`` if given, else the cached or a fresh download.

    Offline, or a wrong/corrupt file, raises one clear error naming the URL and ``--checkpoint``.
    """
    if checkpoint is not None:
        return verify_checkpoint(spec, Path(checkpoint))
    dest = cache_root() / "checkpoints" / spec.filename
    if dest.is_file():
        if sha256_file(dest) == spec.sha256:
            return dest
        dest.unlink()  # a corrupt/partial earlier download; fetch it again
    dest.parent.mkdir(parents=True, exist_ok=True)
    from tqdm import tqdm

    sys.stderr.write(f"downloading {spec.title}\n  {spec.url}\n")
    tmp = tempfile.NamedTemporaryFile(dir=dest.parent, delete=False, suffix=".part")
    try:
        with urllib.request.urlopen(spec.url, timeout=timeout) as resp, tmp:
            total = int(resp.headers.get("Content-Length") or 0) or spec.size_bytes or None
            with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=f"downloading {spec.name}",
                      file=sys.stderr, leave=True) as bar:
                while True:
                    block = resp.read(1 << 20)
                    if not block:
                        break
                    tmp.write(block)
                    bar.update(len(block))
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        os.unlink(tmp.name)
        raise ConnectionError(
            f"could not download the {spec.title} checkpoint ({exc}); this machine may be offline: "
            f"{_fix_hint(spec)}"
        ) from None
    try:
        verify_checkpoint(spec, Path(tmp.name))
    except ValueError:
        os.unlink(tmp.name)
        raise
    shutil.move(tmp.name, dest)
    return dest
