"""Capture sources: where frames come from. Start with :func:`open_source`.

Every source is an iterator of :class:`~samstream.types.Frame` (``index`` strictly increasing
from 0, ``timestamp`` in seconds), a context manager, and has ``close()``, ``name``,
``is_live``, ``fps`` (nominal, ``None`` if unknown), ``width``/``height``/``size`` (once known),
``read(timeout)``, ``ended``, ``error`` and ``stats()``::

    from samstream.sources import open_source

    with open_source("0") as cam:            # or "clip.mp4", "frames/", "rtsp://...", "synthetic"
        for frame in cam:
            ...                              # frame.image (H, W, 3) BGR uint8
        print(cam.stats())

Behaviour in one place (details in each module):

* **Live** sources (camera, URL, :class:`PushSource`, synthetic by default) are filled by a
  producer that keeps only the newest frame (a slot of one): a slow consumer never gets a
  backlog; the frames it missed are counted in ``stats().frames_dropped`` and show as gaps
  in ``Frame.index``.
* **Files and folders** decode in the consumer's thread, as fast as it reads (every frame) or,
  with ``realtime=True``, paced to their fps; in realtime mode frames the consumer is too late
  for are skipped and counted (``drop_late=False`` to keep every frame). See
  :mod:`samstream.sources.files`.
* A camera/stream that fails is reopened with exponential backoff (0.5 s doubling to 8 s),
  forever by default; ``max_retries``/``give_up_after`` make it give up, which ends iteration
  normally with the reason in ``stats().error``. See :mod:`samstream.sources.capture`.
* Bad frames (undecodable, or a size different from the first frame) are skipped and counted in
  ``stats().bad_frames`` with a rate-limited warning (``size_policy="resize"`` rescales
  instead). Errors at open time raise: ``ValueError`` (unknown spec/option),
  ``FileNotFoundError`` (missing or unreadable path), :class:`CameraNotFoundError`,
  :class:`SourceOpenError`.
"""

from __future__ import annotations

import glob
import inspect
import os
import re
from pathlib import Path
from typing import Any, Callable, Optional, Union

from .base import (
    CameraNotFoundError,
    LatestSlot,
    LiveSource,
    Source,
    SourceOpenError,
    UnreadableFileError,
)
from .capture import URL_SCHEMES, CaptureSource, list_video_devices, redact_url
from .files import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, ImageFolderSource, VideoFileSource
from .push import PushSource
from .synthetic import SyntheticScene
from .synthetic_source import SyntheticSource

__all__ = [
    "open_source",
    "parse_synthetic_spec",
    "Source",
    "LiveSource",
    "LatestSlot",
    "CaptureSource",
    "VideoFileSource",
    "ImageFolderSource",
    "PushSource",
    "SyntheticSource",
    "SyntheticScene",
    "SourceOpenError",
    "CameraNotFoundError",
    "UnreadableFileError",
    "list_video_devices",
    "redact_url",
    "SOURCE_FORMS",
    "register_source",
]

SOURCE_FORMS = (
    "accepted sources:\n"
    "  0, \"0\", \"/dev/video0\"          a camera (index or V4L2 device)\n"
    "  clip.mp4 (any video file)        a video file (options: realtime=True, loop=True)\n"
    "  frames/  or  \"frames/*.png\"      an image folder / glob / single image, natural order\n"
    "  rtsp://..., http(s)://...        a network stream (also rtmp, udp, tcp, srt)\n"
    "  synthetic[:WxH][@FPS][,seed=N,objects=N,frames=N,realtime=0]\n"
    "                                   a synthetic scene with ground truth (e.g. synthetic:640x480@30)\n"
    "  push[:NAME]                      frames pushed by code (PushSource.push)\n"
    "  ros2:/camera/image_raw           a ROS 2 image topic (needs rclpy; see samstream.ros2.source)"
)

_SYN_SIZE = re.compile(r"^(?:(\d+)x(\d+))?(?:@(\d+(?:\.\d*)?))?$", re.IGNORECASE)
_SYN_KEYS = {"seed": "seed", "objects": "num_objects", "num_objects": "num_objects", "n": "num_objects",
             "frames": "frames", "fps": "fps", "speed": "speed", "realtime": "realtime",
             "width": "width", "height": "height", "w": "width", "h": "height"}


def _parse_value(key: str, v: str) -> Any:
    s = v.strip().lower()
    if key == "realtime":
        if s in ("1", "true", "yes", "on"):
            return True
        if s in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"synthetic option realtime={v!r}: use realtime=1 or realtime=0.")
    if key == "frames" and s in ("inf", "infinite", "none", "endless"):
        return None
    try:
        return float(s) if key in ("fps", "speed") else int(s)
    except ValueError:
        raise ValueError(f"synthetic option {key}={v!r} is not a number.") from None


def parse_synthetic_spec(spec: str) -> dict:
    """``"synthetic:640x480@30,seed=3,objects=4,frames=100"`` -> SyntheticSource keyword args."""
    head, _, rest = spec.strip().partition(":")
    if head.strip().lower() != "synthetic":
        raise ValueError(f"not a synthetic spec: {spec!r}")
    out: dict = {}
    tokens = [t.strip() for t in rest.split(",") if t.strip()] if rest else []
    for j, tok in enumerate(tokens):
        if "=" in tok:
            k, _, v = tok.partition("=")
            key = _SYN_KEYS.get(k.strip().lower())
            if key is None:
                raise ValueError(f"unknown synthetic option {k.strip()!r} in {spec!r}: known are "
                                 "seed, objects, frames, fps, speed, realtime, width, height.")
            out[key] = _parse_value(key, v)
            continue
        m = _SYN_SIZE.match(tok)
        if j == 0 and m and tok:
            if m.group(1):
                out["width"], out["height"] = int(m.group(1)), int(m.group(2))
            if m.group(3):
                out["fps"] = float(m.group(3))
            continue
        raise ValueError(f"cannot read {tok!r} in {spec!r}: write synthetic:WIDTHxHEIGHT@FPS followed by "
                         ",key=value options, e.g. synthetic:640x480@30,seed=1,objects=4")
    return out


_REGISTRY: dict[str, Callable[..., Source]] = {}
ENTRY_POINT_GROUP = "samstream.sources"


def register_source(prefix: str, factory: Callable[..., Source]) -> None:
    """Make ``open_source("PREFIX:rest")`` call ``factory(rest, **options)``.

    Packages that bring a source of their own (the ROS 2 layer: ``ros2:/topic``) register it
    here, or through the ``samstream.sources`` entry-point group (loaded lazily, on first use of
    the prefix, so ``import samstream`` never imports rclpy).
    """
    key = prefix.strip().lower().rstrip(":")
    if not re.fullmatch(r"[a-z][a-z0-9_]*", key):
        raise ValueError(f"source prefix {prefix!r} must be a short lowercase word such as 'ros2'.")
    if not callable(factory):
        raise ValueError(f"source factory for {prefix!r} must be callable (a Source class or function).")
    _REGISTRY[key] = factory


def _registered(prefix: str) -> Optional[Callable[..., Source]]:
    if prefix in _REGISTRY:
        return _REGISTRY[prefix]
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name.lower() == prefix:
            _REGISTRY[prefix] = ep.load()
            return _REGISTRY[prefix]
    return None


def _construct(cls: type, args: tuple, options: dict) -> Source:
    params = inspect.signature(cls.__init__).parameters
    allowed = [n for n, p in params.items() if n != "self" and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        positional = list(params)[1:1 + len(args)]
        allowed = [a for a in allowed if a not in positional]
        raise ValueError(f"{cls.__name__} does not take option(s) {', '.join(unknown)}; "
                         f"it takes: {', '.join(allowed)}.")
    return cls(*args, **options)


_PATHISH_EXT = tuple(e for e in VIDEO_EXTENSIONS + IMAGE_EXTENSIONS)


def _looks_like_path(s: str) -> bool:
    return ("/" in s or "\\" in s or s.startswith((".", "~"))
            or os.path.splitext(s)[1].lower() in _PATHISH_EXT)


def open_source(spec: Union[int, str, os.PathLike, Source], **options: Any) -> Source:
    """Open a capture source from a spec (see :data:`SOURCE_FORMS`) and keyword options.

    Options go to the source's class (:class:`CaptureSource`, :class:`VideoFileSource`,
    :class:`ImageFolderSource`, :class:`SyntheticSource`, :class:`PushSource`); for synthetic
    specs they override the values written in the string. An option the chosen source does not
    take raises ``ValueError`` listing those it does.

    Raises:
        ValueError: unknown spec form (the message lists the accepted ones) or option.
        FileNotFoundError: a path (file, folder, glob) that does not exist or holds nothing usable.
        CameraNotFoundError: a camera index/device that does not exist (lists those that do).
        SourceOpenError: a camera or stream that exists but cannot be opened.
    """
    if isinstance(spec, Source):
        if options:
            raise ValueError("open_source(source_object) takes no options: the source is already open.")
        return spec
    if isinstance(spec, bool) or spec is None:
        raise ValueError(f"source spec {spec!r} is not a source.\n{SOURCE_FORMS}")
    if isinstance(spec, int):
        return _construct(CaptureSource, (spec,), options)
    if isinstance(spec, os.PathLike):
        return _open_path(os.fspath(spec), options)
    if not isinstance(spec, str):
        raise ValueError(f"source spec must be an int, str or path, got {type(spec).__name__}.\n{SOURCE_FORMS}")

    s = spec.strip()
    low = s.lower()
    if not s:
        raise ValueError(f"empty source spec.\n{SOURCE_FORMS}")
    if low == "synthetic" or low.startswith("synthetic:"):
        kw = parse_synthetic_spec(s)
        kw.update(options)
        return _construct(SyntheticSource, (), kw)
    if low == "push" or low.startswith("push:"):
        name = s.partition(":")[2].strip() or "push"
        options.setdefault("name", name)
        return _construct(PushSource, (), options)
    prefix, sep, rest = s.partition(":")
    factory = _registered(prefix.lower()) if sep and not rest.startswith("//") else None
    if factory is not None:
        return _construct(factory, (rest.strip(),), options)
    if s.isdigit():
        return _construct(CaptureSource, (int(s),), options)
    if s.startswith("/dev/"):
        return _construct(CaptureSource, (s,), options)
    m = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://", s)
    if m:
        scheme = m.group(1).lower()
        if scheme in URL_SCHEMES:
            return _construct(CaptureSource, (s,), options)
        if scheme == "file":
            return _open_path(s[len("file://"):], options)
        raise ValueError(f"unsupported URL scheme {scheme!r} in {redact_url(s)!r}.\n{SOURCE_FORMS}")
    return _open_path(s, options, from_string=True)


def _open_path(p: str, options: dict, from_string: bool = False) -> Source:
    path = Path(os.path.expanduser(p))
    if path.is_dir():
        return _construct(ImageFolderSource, (path,), options)
    if path.exists():
        if path.suffix.lower() in IMAGE_EXTENSIONS:
            return _construct(ImageFolderSource, (path,), options)
        return _construct(VideoFileSource, (path,), options)
    if glob.has_magic(p):
        return _construct(ImageFolderSource, (p,), options)
    if from_string and not _looks_like_path(p):
        raise ValueError(f"unknown source {p!r} (not a camera index, URL, 'synthetic', 'push', or an "
                         f"existing file/folder).\n{SOURCE_FORMS}")
    raise FileNotFoundError(f"no such file or folder: {path} (working directory is {os.getcwd()})")
