"""One browser tab's prompts and view settings: clicks (include/exclude), boxes, new object, clear, remove.

A :class:`View` is one tab: which stream it looks at (the shared server source or its own
browser webcam), how (opacity, hidden objects) and what a click does (click mode, the object
being edited, its points and box). The objects themselves live in the stream's pipeline, so
every tab watching the shared source sees (and can edit) the same objects with the same ids.

Bad input (a click outside the image, an exclude point with no object, a malformed box) raises
``ValueError`` with a message naming the fix; the stream keeps running.

No Gradio here.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any, Optional, Protocol

import cv2
import numpy as np

from ..types import Frame, Segmentation
from ..utils import RateMeter
from .readout import render_card, render_frame
from .stream import Stream

class HubLike(Protocol):
    """What a view asks of its session hub (:class:`samstream.ui.hub.Hub`)."""

    def balance(self) -> None: ...

    def reserve_webcam(self, view: "View") -> None: ...

__all__ = ["View", "parse_box", "MAX_POINTS", "MAX_EVERYTHING", "PROMPT_SHOW_S"]

MAX_POINTS = 32  # clicks kept per object (the oldest go first)
MAX_EVERYTHING = 12  # objects added by one "segment everything"
PROMPT_SHOW_S = 2.0  # seconds clicked points stay drawn


def parse_box(text: str) -> tuple[float, float, float, float]:
    """``"x1,y1,x2,y2"`` (pixels) -> ``(x1, y1, x2, y2)`` floats with ``x1 <= x2``, ``y1 <= y2``;
    ``ValueError`` with the expected form otherwise."""
    try:
        vals = [float(v) for v in str(text).replace(" ", "").split(",") if v != ""]
    except ValueError:
        vals = []
    if len(vals) != 4 or not all(math.isfinite(v) for v in vals):
        raise ValueError(f"box {text!r} is not X1,Y1,X2,Y2 in pixels: write e.g. 100,80,300,260.")
    x1, y1, x2, y2 = vals
    return min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)


class View:
    """One browser tab: what it looks at and how (click mode, opacity, hidden ids, current object).

    Args:
        sid: the tab's session id.
        hub: the :class:`~samstream.ui.hub.Hub` it belongs to.

    Attributes:
        mode: what a click adds (one of :attr:`MODES`); obj_id: the object being edited (or ``None``);
        points / labels: its clicked points (``(x, y)`` pixels) and labels (1 include, 0 exclude);
        box: its box ``(x1, y1, x2, y2)`` pixels; anchor: the first corner of a box being clicked;
        alpha: overlay opacity 0..1; hidden: object ids not drawn in this tab;
        use_webcam / webcam: whether the tab shows its own browser-webcam stream, and that stream;
        sent: frames sent to this tab per second (:class:`~samstream.utils.RateMeter`);
        frames_sent, clicks: counters; listed_ids: the object ids the page's dropdowns list now
        (``None`` before the first readout); streaming: an MJPEG stream of this tab is open;
        connection: number of the newest MJPEG connection; closed: the tab was dropped.
    """

    MODES = ("include", "exclude", "box")

    def __init__(self, sid: str, hub: HubLike) -> None:
        self.sid = sid
        self.hub = hub
        self.mode = "include"
        self.obj_id: Optional[int] = None
        self.points: list[tuple[float, float]] = []
        self.labels: list[int] = []
        self.box: Optional[tuple[float, float, float, float]] = None
        self.anchor: Optional[tuple[float, float]] = None
        self.alpha = 0.5
        self.hidden: set[int] = set()
        self.use_webcam = False
        self.webcam: Optional[Stream] = None
        self.message = ""
        self.last_click = 0.0
        self.last_seen = time.monotonic()
        self.connection = 0
        self.streaming = False
        self.closed = False
        self.sent = RateMeter(60, stale_after=2.0)
        self.frames_sent = 0
        self.clicks = 0
        self.listed_ids: Optional[list[int]] = None
        self._lock = threading.RLock()

    # -- which stream ----------------------------------------------------------------------
    @property
    def stream(self) -> Stream:
        """The stream this tab shows: its webcam's when on, else the hub's shared one."""
        if self.use_webcam and self.webcam is not None:
            return self.webcam
        return self.hub.server

    def touch(self) -> None:
        self.last_seen = time.monotonic()

    def open_connection(self) -> int:
        """Start a new MJPEG connection of this tab (superseding older ones); returns its number."""
        with self._lock:
            self.connection += 1
            return self.connection

    def close(self) -> None:
        """The tab is gone: stop its webcam stream."""
        self.closed = True
        if self.webcam is not None:
            self.webcam.close()
            self.webcam = None

    def set_input(self, webcam: bool) -> None:
        with self._lock:
            if webcam:
                self._ensure_webcam()
            elif self.webcam is not None:  # back to the server source: free the webcam pipeline
                self.webcam.close()
                self.webcam = None
            self.use_webcam = bool(webcam)
            self._forget_object()
        self.hub.balance()

    def _ensure_webcam(self) -> Stream:
        if self.webcam is None:
            self.hub.reserve_webcam(self)
            self.webcam = Stream("push:webcam", model=self.hub.server.model, precision=self.hub.precision,
                                 label="browser webcam")
        elif self.webcam.state in ("failed", "ended", "stopped"):
            self.webcam.restart()
        return self.webcam

    def push_webcam(self, rgb: Optional[np.ndarray]) -> bool:
        """A frame from the browser's webcam (RGB, as Gradio gives it)."""
        if rgb is None:
            return False
        with self._lock:
            if not self.use_webcam or self.webcam is None:
                self.set_input(True)
            cam = self.webcam
        img = np.asarray(rgb)
        if img.ndim == 3 and img.shape[2] >= 3:
            img = cv2.cvtColor(np.ascontiguousarray(img[..., :3]), cv2.COLOR_RGB2BGR)
        return cam.push(img)

    # -- prompts --------------------------------------------------------------------------------
    def _forget_object(self) -> None:
        self.obj_id, self.points, self.labels, self.box, self.anchor = None, [], [], None, None

    def set_mode(self, mode: str) -> None:
        mode = str(mode).strip().lower().split()[0] if str(mode).strip() else ""
        if mode not in self.MODES:
            raise ValueError(f"click mode {mode!r} is unknown: use one of {', '.join(self.MODES)}.")
        with self._lock:
            self.mode = mode
            self.anchor = None

    def click(self, x: Any, y: Any, width: Any = None, height: Any = None) -> str:
        """A click at image pixel ``(x, y)`` of the displayed frame; returns what it did."""
        with self._lock:
            self.clicks += 1
            self.touch()
            stream = self.stream
            pipe = stream.require_pipe()
            try:
                x, y = float(x), float(y)
            except (TypeError, ValueError):
                raise ValueError(f"click position {x!r}, {y!r} is not a pair of numbers: click on the picture.") from None
            size = stream.size or (None, None)
            w, h = size
            if w is None:
                raise ValueError("no frame shown yet: wait for the picture, then click on it.")
            if not (math.isfinite(x) and math.isfinite(y)) or x < 0 or y < 0 or x > w or y > h:
                raise ValueError(f"click at ({x:.0f}, {y:.0f}) is outside the {w}x{h} image: click on the picture itself.")
            x, y = min(x, w - 1.0), min(y, h - 1.0)
            self.last_click = time.monotonic()
            if self.mode == "box":
                if self.anchor is None:
                    self.anchor = (x, y)
                    return f"box: first corner ({x:.0f}, {y:.0f}); now click the opposite corner."
                (ax, ay), self.anchor = self.anchor, None
                return self._apply_box(pipe, (min(ax, x), min(ay, y), max(ax, x), max(ay, y)))
            label = 1 if self.mode == "include" else 0
            current = self.obj_id is not None and self.obj_id in pipe.tracker.object_ids
            if label == 0 and not current:
                raise ValueError("an exclude point needs an object: click the object in 'include' mode first.")
            if not current:
                self._forget_object()
                oid = pipe.next_free_id()
                pipe.add_object(oid, points=[(x, y)], labels=[1])
                self.obj_id, self.points, self.labels = oid, [(x, y)], [1]
                return f"object {oid}: include point ({x:.0f}, {y:.0f}). More clicks refine it; 'New object' starts another."
            self.points.append((x, y))
            self.labels.append(label)
            if len(self.points) > MAX_POINTS:
                self.points, self.labels = self.points[-MAX_POINTS:], self.labels[-MAX_POINTS:]
                if 1 not in self.labels:
                    self.labels[-1] = 1
            pipe.update_object(self.obj_id, points=self.points, labels=self.labels, box=self.box)
            kind = "include" if label else "exclude"
            return f"object {self.obj_id}: {kind} point ({x:.0f}, {y:.0f}) ({len(self.points)} points)."

    def _apply_box(self, pipe, box: tuple[float, float, float, float]) -> str:
        x1, y1, x2, y2 = box
        if x2 - x1 < 4 or y2 - y1 < 4:
            raise ValueError(f"box ({x1:.0f},{y1:.0f})-({x2:.0f},{y2:.0f}) is too small: give two opposite corners "
                             "at least 4 pixels apart.")
        current = self.obj_id is not None and self.obj_id in pipe.tracker.object_ids
        if current:
            self.box = box
            pipe.update_object(self.obj_id, points=self.points or None, labels=self.labels or None, box=box)
            return f"object {self.obj_id}: box ({x1:.0f},{y1:.0f})-({x2:.0f},{y2:.0f})."
        self._forget_object()
        oid = pipe.next_free_id()
        pipe.add_object(oid, box=box)
        self.obj_id, self.box = oid, box
        return f"object {oid}: box ({x1:.0f},{y1:.0f})-({x2:.0f},{y2:.0f})."

    def enter_box(self, text: str) -> str:
        """A box typed as ``x1,y1,x2,y2``: for the current object, or a new one."""
        with self._lock:
            self.touch()
            stream = self.stream
            pipe = stream.require_pipe()
            box = parse_box(text)
            w, h = stream.size or (0, 0)
            if box[0] < 0 or box[1] < 0 or box[2] > w or box[3] > h:
                raise ValueError(f"box {text!r} leaves the {w}x{h} image: keep 0 <= x <= {w}, 0 <= y <= {h}.")
            return self._apply_box(pipe, box)

    def new_object(self) -> str:
        with self._lock:
            self._forget_object()
        return "next include click (or box) starts a new object."

    def clear(self) -> str:
        with self._lock:
            self.stream.require_pipe().clear()
            self._forget_object()
            self.hidden.clear()
        return "cleared every object."

    def remove(self, obj_id: Any) -> str:
        with self._lock:
            pipe = self.stream.require_pipe()
            try:
                oid = int(str(obj_id).strip())
            except (TypeError, ValueError):
                raise ValueError(f"pick the object to remove (known ids: {pipe.tracker.object_ids}).") from None
            try:
                pipe.remove_object(oid)
            except KeyError:
                raise ValueError(f"there is no object {oid}; known ids: {pipe.tracker.object_ids}.") from None
            if self.obj_id == oid:
                self._forget_object()
            self.hidden.discard(oid)
        return f"removed object {oid}."

    def segment_everything(self) -> str:
        with self._lock:
            pipe = self.stream.require_pipe()
            frame = pipe.last_frame
            if frame is None:
                raise ValueError("no frame yet: wait for the picture, then try again.")
            masks = pipe.segment_everything(frame)[:MAX_EVERYTHING]
            added = []
            for m in masks:
                try:
                    oid = pipe.next_free_id()
                except ValueError:
                    break
                pipe.add_object(oid, mask=m)
                added.append(oid)
            self._forget_object()
        if not added:
            return "segment everything found no object of a trackable size."
        return f"segment everything: added objects {', '.join(map(str, added))}."

    def set_alpha(self, alpha: Any) -> None:
        try:
            a = float(alpha)
        except (TypeError, ValueError):
            raise ValueError(f"opacity {alpha!r} is not a number: use 0 to 1.") from None
        if not 0.0 <= a <= 1.0:
            raise ValueError(f"opacity {a} is outside 0..1.")
        self.alpha = a

    def set_hidden(self, ids: Any) -> None:
        out = set()
        for v in ids or []:
            try:
                out.add(int(v))
            except (TypeError, ValueError):
                raise ValueError(f"hidden object {v!r} is not an object id.") from None
        self.hidden = out

    # -- pictures -------------------------------------------------------------------------------
    def prompt_marks(self) -> tuple[Optional[np.ndarray], Optional[np.ndarray], Optional[np.ndarray]]:
        """The prompts to draw now: ``(points (N, 2) float32 pixels, labels (N,) int32, box (4,) float32)``,
        each ``None`` when there is none (clicks show for :data:`PROMPT_SHOW_S` seconds, a box's
        first corner until the second)."""
        pts = lab = box = None
        recent = time.monotonic() - self.last_click < PROMPT_SHOW_S
        if recent and self.points:
            pts, lab = np.array(self.points, np.float32), np.array(self.labels, np.int32)
        if self.anchor is not None:
            pts = np.array([self.anchor], np.float32) if pts is None else np.vstack([pts, [self.anchor]])
            lab = np.array([1], np.int32) if lab is None else np.append(lab, 1)
        if self.box is not None and recent:
            box = np.array(self.box, np.float32)
        return pts, lab, box

    def render(self, frame: Frame, seg: Segmentation, stream: Stream) -> bytes:
        """The JPEG this tab shows for ``(frame, seg)`` of ``stream``: overlay, prompts, banner, stamp."""
        pts, lab, box = self.prompt_marks()
        banner = None if stream.state == "running" else (stream.error or f"stream {stream.state}")
        return render_frame(frame, seg, self.alpha, self.hidden, points=pts, point_labels=lab, box=box,
                            banner=banner)

    def still(self, stream: Stream) -> bytes:
        """What to show with no new frame: the last one again (settings may have changed), or a card."""
        item = stream.latest()
        if item is not None:
            return self.render(item[1], item[2], stream)
        if stream.state == "starting":
            text = f"starting {stream.label} ({stream.model})..."
        else:
            text = stream.error or f"stream {stream.state}"
        if stream is self.webcam and stream.state == "running":
            text = "waiting for webcam frames: press 'Record' on the webcam panel."
        return render_card(stream.size, text)
