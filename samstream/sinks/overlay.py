"""Overlay rendering: coloured masks, outlines, ids and prompts on a frame (OpenCV only).

Colours are stable per object id (the same id gets the same colour in the CLI, the video
sink, the web view and the ROS overlay topic).
"""

from __future__ import annotations

from typing import Iterable, Optional

import cv2
import numpy as np

from ..types import Frame, Segmentation

__all__ = ["colour_for", "draw_overlay", "OverlayRenderer"]

# 20 well-separated BGR colours; id k uses entry (k - 1) % 20.
_PALETTE = np.array([
    (75, 25, 230), (75, 180, 60), (25, 225, 255), (200, 130, 0), (48, 130, 245),
    (180, 30, 145), (240, 240, 70), (230, 50, 240), (60, 245, 210), (212, 190, 250),
    (128, 128, 0), (255, 190, 220), (40, 110, 170), (200, 250, 255), (0, 0, 128),
    (195, 255, 170), (0, 128, 128), (180, 215, 255), (128, 0, 0), (128, 128, 128),
], dtype=np.uint8)


def colour_for(obj_id: int) -> tuple[int, int, int]:
    """The BGR colour of object ``obj_id`` (stable across runs and components)."""
    return tuple(int(c) for c in _PALETTE[(int(obj_id) - 1) % len(_PALETTE)])


def draw_overlay(
    image: np.ndarray,
    seg: Optional[Segmentation],
    alpha: float = 0.5,
    outline: bool = True,
    labels: bool = True,
    hidden: Iterable[int] = (),
    points: Optional[np.ndarray] = None,
    point_labels: Optional[np.ndarray] = None,
    box: Optional[np.ndarray] = None,
) -> np.ndarray:
    """A copy of ``image`` (uint8 BGR) with ``seg``'s masks blended at ``alpha`` (0..1).

    Lost objects are not drawn. ``points``/``point_labels``/``box`` draw prompts (green include,
    red exclude) in frame pixels.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}.")
    out = image.copy()
    hidden = set(int(h) for h in hidden)
    if seg is not None and len(seg):
        if seg.image_size != image.shape[:2]:
            raise ValueError(
                f"masks are {seg.image_size} but the image is {image.shape[:2]}: draw a result on its own frame."
            )
        for m, oid, lost in zip(seg.masks, seg.object_ids, seg.lost):
            if lost or int(oid) in hidden:
                continue
            # work inside the mask's bounding box only (same pixels, far less work per object)
            m8 = np.ascontiguousarray(m).view(np.uint8)
            x, y, w, h = cv2.boundingRect(m8)
            if w == 0 or h == 0:
                continue
            sub_m = m[y:y + h, x:x + w]
            sub = out[y:y + h, x:x + w]
            col = np.array(colour_for(oid), np.float32)
            region = sub[sub_m].astype(np.float32)
            sub[sub_m] = (region * (1.0 - alpha) + col * alpha).astype(np.uint8)
            if outline:
                cnts, _ = cv2.findContours(m8[y:y + h, x:x + w].copy(), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE,
                                           offset=(x, y))
                cv2.drawContours(out, cnts, -1, colour_for(oid), 2)
            if labels:
                ys, xs = np.nonzero(sub_m)
                org = (int(xs.mean()) + x - 8, int(ys.mean()) + y + 6)
                cv2.putText(out, str(int(oid)), org, cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 3, cv2.LINE_AA)
                cv2.putText(out, str(int(oid)), org, cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)
    if box is not None:
        x1, y1, x2, y2 = (int(round(v)) for v in np.asarray(box).reshape(-1)[:4])
        cv2.rectangle(out, (x1, y1), (x2, y2), (0, 255, 0), 2)
    if points is not None and point_labels is not None:
        for (x, y), lab in zip(np.asarray(points).reshape(-1, 2), np.asarray(point_labels).reshape(-1)):
            c = (0, 200, 0) if lab == 1 else (0, 0, 230)
            cv2.circle(out, (int(round(x)), int(round(y))), 6, (255, 255, 255), -1)
            cv2.circle(out, (int(round(x)), int(round(y))), 4, c, -1)
    return out


class OverlayRenderer:
    """A sink that renders each result onto its frame; the latest picture is in ``.image``.

    Args:
        alpha: mask opacity 0..1.
        callback: optional ``fn(frame, overlay_bgr)`` called for every rendered frame.
    """

    def __init__(self, alpha: float = 0.5, callback=None):
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha}.")
        self.alpha = alpha
        self.callback = callback
        self.image: Optional[np.ndarray] = None

    def write(self, frame: Frame, seg: Segmentation) -> None:
        self.image = draw_overlay(frame.image, seg, self.alpha)
        if self.callback is not None:
            self.callback(frame, self.image)

    def close(self) -> None:
        pass
