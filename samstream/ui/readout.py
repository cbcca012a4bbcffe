"""What a tab is shown: the rendered frame (overlay, prompts, banner, stamp, JPEG) and the text readout.

The overlay itself is :func:`samstream.sinks.overlay.draw_overlay` (the one renderer of the
project); this module adds what only the live view needs: a banner with the stream's state or
error, the frame stamp (:mod:`samstream.ui.stamp`), JPEG encoding, and the numbers shown next to
the picture (:func:`readout`, :func:`stats_markdown`).

No Gradio here.
"""

from __future__ import annotations

from typing import Any, Optional, Protocol

import cv2
import numpy as np

from ..sinks.overlay import colour_for, draw_overlay
from ..types import Frame, Segmentation
from .stamp import encode_stamp

class ViewLike(Protocol):
    """What :func:`readout` reads of a tab's view (:class:`samstream.ui.prompts.View`)."""

    stream: Any
    webcam: Any
    sent: Any

__all__ = ["render_frame", "render_card", "readout", "stats_markdown", "JPEG_QUALITY"]

JPEG_QUALITY = 80


def render_frame(frame: Frame, seg: Segmentation, alpha: float, hidden=(), points: Optional[np.ndarray] = None,
                 point_labels: Optional[np.ndarray] = None, box: Optional[np.ndarray] = None,
                 banner: Optional[str] = None) -> bytes:
    """The JPEG of ``frame`` with ``seg`` drawn on it.

    Args:
        frame: the frame; ``frame.image`` is ``uint8 (H, W, 3)`` BGR.
        seg: its result; one of another size (the source changed) is not drawn (bare frame).
        alpha: mask opacity 0..1; hidden: object ids not drawn.
        points / point_labels / box: prompts to draw, ``(N, 2)`` float32 pixels / ``(N,)`` int32
            (1 include, 0 exclude) / ``(4,)`` float32 ``x1, y1, x2, y2`` pixels.
        banner: a line of text drawn across the top (the stream's state or error), or ``None``.

    Returns JPEG bytes; the frame index and capture time are stamped into the pixels.
    """
    if seg.image_size == frame.image.shape[:2]:
        img = draw_overlay(frame.image, seg, alpha, hidden=hidden, points=points, point_labels=point_labels, box=box)
    else:  # a result of another size (source changed): show the bare frame
        img = draw_overlay(frame.image, None, alpha, points=points, point_labels=point_labels, box=box)
    if banner:
        _banner(img, banner)
    encode_stamp(img, frame.index, frame.timestamp)
    return _jpeg(img)


def render_card(size: Optional[tuple[int, int]], text: str) -> bytes:
    """A dark ``(width, height)`` JPEG (default 640x480) with ``text`` in the middle: no frame yet."""
    w, h = size or (640, 480)
    img = np.full((h, w, 3), 40, np.uint8)
    _banner(img, text, top=h // 2 - 12)
    return _jpeg(img)


def _banner(img: np.ndarray, text: str, top: int = 0) -> None:
    """Wrap ``text`` into at most 6 lines on a black band at row ``top`` of ``img`` (in place)."""
    h, w = img.shape[:2]
    scale = 0.5 if w >= 480 else 0.35
    lines, line = [], ""
    max_chars = max(20, int(w / (11 * scale / 0.5)))
    for word in str(text).split():
        if len(line) + len(word) + 1 > max_chars and line:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    if line:
        lines.append(line)
    lines = lines[:6]
    lh = int(22 * scale / 0.5)
    y0 = max(0, min(top, h - lh * len(lines) - 8))
    cv2.rectangle(img, (0, y0), (w - 1, y0 + lh * len(lines) + 8), (0, 0, 0), -1)
    for i, ln in enumerate(lines):
        cv2.putText(img, ln, (8, y0 + lh * (i + 1)), cv2.FONT_HERSHEY_SIMPLEX, scale, (80, 200, 255), 1, cv2.LINE_AA)


def _jpeg(img: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - OpenCV always encodes a uint8 BGR image
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()


# -- the text readout ---------------------------------------------------------------------------
def readout(view: ViewLike) -> dict:
    """The numbers shown in the page for tab ``view`` (plain values, JSON-ready).

    Keys: ``input``, ``state``, ``model``, ``input_fps`` / ``output_fps`` / ``display_fps``
    (per second), ``encoder_latency_ms`` / ``latency_ms`` (ms; ``None`` before a pipeline runs),
    ``keyframe_age_frames``, ``keyframes_failed`` and ``last_keyframe_error``, ``objects`` (ids),
    ``dropped_frames``, ``frames_out``, ``size`` (``(width, height)`` pixels or ``None``),
    ``errors`` (messages to show), ``colours`` (``{id: "#rrggbb"}``).
    """
    stream = view.stream
    errors = []
    if stream.error:
        errors.append(stream.error)
    try:
        m = stream.metrics()
    except Exception as exc:  # a readout must never break the page
        m = None
        if not stream.error:
            errors.append(f"metrics: {exc}")
    if m is not None:
        src = m.source
        if src.last_error and src.state not in ("open", "ended", None):
            errors.append(f"source: {src.last_error}")
        errors.extend(str(e) for e in list(m.errors)[-2:])
    ids = stream.object_ids()
    return {
        "input": "browser webcam" if stream is view.webcam else stream.label,
        "state": stream.state,
        "model": stream.model,
        "input_fps": m.input_fps if m is not None else 0.0,
        "output_fps": m.output_fps if m is not None else 0.0,
        "display_fps": round(view.sent.value(), 1),
        "encoder_latency_ms": m.encoder_latency_ms if m is not None else None,
        "keyframe_age_frames": m.keyframe_age_frames if m is not None else None,
        "keyframes_failed": m.keyframes_failed if m is not None else 0,
        "last_keyframe_error": m.last_keyframe_error if m is not None else None,
        "latency_ms": m.latency_ms if m is not None else None,
        "objects": ids,
        "dropped_frames": m.dropped_frames if m is not None else 0,
        "frames_out": m.frames_out if m is not None else 0,
        "size": stream.size,
        "errors": errors,
        "colours": {oid: "#%02x%02x%02x" % tuple(reversed(colour_for(oid))) for oid in ids},
    }


def _fmt(v: Any, unit: str = "", digits: int = 1) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}{unit}"
    return f"{v}{unit}"


def stats_markdown(r: dict) -> str:
    """The readout ``r`` (from :func:`readout`) as the page's Markdown."""
    objs = ", ".join(f'<span style="color:{r["colours"].get(o, "#888")}">■</span> {o}' for o in r["objects"]) or "none"
    size = f'{r["size"][0]}x{r["size"][1]}' if r.get("size") else "–"
    failed = ""
    if r.get("keyframes_failed"):
        last = r.get("last_keyframe_error")
        failed = f"  \n⚠ keyframes failed: {r['keyframes_failed']}" + (f" (last: {last})" if last else "")
    return (
        f"**input** {r['input']} ({size}, {r['state']})  \n"
        f"**model** {r['model']}  \n"
        f"**input fps** {_fmt(r['input_fps'])} · **output fps** {_fmt(r['output_fps'])} · "
        f"**sent to this tab** {_fmt(r['display_fps'])} fps  \n"
        f"**encoder latency** {_fmt(r['encoder_latency_ms'], ' ms')} · "
        f"**keyframe age** {_fmt(r['keyframe_age_frames'], ' frames')} · "
        f"**pipeline latency** {_fmt(r['latency_ms'], ' ms')}  \n"
        f"**dropped (stale) frames** {r['dropped_frames']} · **frames** {r['frames_out']}  \n"
        f"**objects** {objs}"
        f"{failed}"
    )
