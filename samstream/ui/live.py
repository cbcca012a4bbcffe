"""The machinery behind the live view, without Gradio: streams, per-tab views, MJPEG frames, clicks.

How frames reach the browser
    A :class:`Stream` runs one :class:`~samstream.pipeline.Pipeline` in a background thread and
    keeps only its newest ``(frame, segmentation)`` in a slot of one (a sequence number plus a
    condition variable). Each browser tab is a :class:`View`; its ``<img>`` reads
    ``/samstream/live.mjpg?sid=...`` (:meth:`Hub.mjpeg`), a ``multipart/x-mixed-replace`` stream
    whose generator waits for a *newer* result than the one it sent last, draws the overlay with
    the tab's own settings (opacity, hidden objects, prompts), stamps frame number + capture time
    into the pixels (:mod:`samstream.ui.stamp`), JPEG-encodes it and sends it, followed at once
    by the next part's boundary and header (Chromium shows a part only once the next part's header
    has arrived; without it every frame would be shown one frame late, +33 ms at 30 fps).

Stale frames are dropped, never queued
    Live sources keep only their newest frame (the pipeline never sees a backlog); the stream
    keeps only its newest result; a tab that is slower than the stream (slow network, busy
    browser) simply skips to the newest result when it is ready for the next one. Nothing is
    ever queued per frame, so memory is bounded however long a page stays open, and nothing is
    written to disk (the MJPEG route uses no files; Gradio's own cache is bounded separately by
    :mod:`samstream.ui.app`).

Sharing
    The server-side source (a camera, file, URL, synthetic scene) is opened once and shared by
    every tab: its objects (and their ids, the ones published to ROS 2) are the same for
    everybody, while opacity, hidden objects, click mode and the object being edited are per
    tab. A tab's browser webcam gets a stream of its own. The number of tabs (LRU) and of webcam
    streams is capped.

Bad input
    A click outside the image, an exclude point with no object, a malformed box, a model that is
    not exported, a camera that goes away: each raises ``ValueError`` (or is reported in the
    stream's ``error``) with a message naming the fix; the stream keeps running.
"""

from __future__ import annotations

import collections
import logging
import math
import threading
import time
from typing import Any, Iterator, Optional, Union

import cv2
import numpy as np

from ..sinks.overlay import colour_for, draw_overlay
from ..types import Frame, Segmentation
from .stamp import encode_stamp

__all__ = ["Stream", "View", "Hub", "BOUNDARY", "parse_box", "model_choices", "MJPEG_PATH"]

log = logging.getLogger("samstream.ui")

BOUNDARY = "samstreamframe"
MJPEG_PATH = "/samstream/live.mjpg"
_NEXT = b"\r\n--" + BOUNDARY.encode() + b"\r\nContent-Type: image/jpeg\r\n\r\n"

MAX_POINTS = 32  # clicks kept per object (the oldest go first)
MAX_EVERYTHING = 12  # objects added by one "segment everything"
PROMPT_SHOW_S = 2.0  # clicked points stay drawn this long


def model_choices() -> list[str]:
    """``classic`` plus every exported model in the cache (``NAME`` or ``NAME@random``)."""
    out = ["classic"]
    try:
        from ..models.cache import list_exported

        for ex in list_exported():
            out.append(ex.model if ex.weights == "official" else f"{ex.model}@random")
    except Exception as exc:  # a broken cache must not break the page
        log.warning("could not list exported models: %s", exc)
    return out


def parse_box(text: str) -> tuple[float, float, float, float]:
    """``"x1,y1,x2,y2"`` (pixels) -> box; ``ValueError`` with the expected form otherwise."""
    try:
        vals = [float(v) for v in str(text).replace(" ", "").split(",") if v != ""]
    except ValueError:
        vals = []
    if len(vals) != 4 or not all(math.isfinite(v) for v in vals):
        raise ValueError(f"box {text!r} is not X1,Y1,X2,Y2 in pixels: write e.g. 100,80,300,260.")
    x1, y1, x2, y2 = vals
    return min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)


class _Rate:
    def __init__(self, n: int = 60):
        self._t: collections.deque[float] = collections.deque(maxlen=n)

    def tick(self) -> None:
        self._t.append(time.perf_counter())

    def value(self) -> float:
        if len(self._t) < 2 or time.perf_counter() - self._t[-1] > 2.0:
            return 0.0
        span = self._t[-1] - self._t[0]
        return (len(self._t) - 1) / span if span > 0 else 0.0


def _source_options(spec: Any) -> dict:
    """Play files and folders at their own frame rate, looping (a demo 'camera')."""
    import os

    if isinstance(spec, str) and not spec.strip().lower().startswith(("synthetic", "push")):
        path = os.path.expanduser(spec.strip())
        if not spec.strip().isdigit() and "://" not in spec and os.path.exists(path):
            return {"realtime": True, "loop": True}
    return {}


class Stream:
    """One pipeline running in a background thread; its newest result is kept in a slot of one.

    Args:
        source: a source spec (``"synthetic"``, ``"0"``, ``"clip.mp4"``, ``"rtsp://..."``) or
            ``"push"`` (frames come from :meth:`push`, e.g. the browser's webcam).
        model: ``classic`` or an exported SAM model (``mobilesam``, ``NAME@random``).
        precision: SAM encoder precision.
        label: a short name shown in the page.
        start: start the thread now.
    """

    def __init__(self, source: Union[str, int] = "synthetic", model: str = "classic", precision: str = "fp16",
                 label: Optional[str] = None, start: bool = True) -> None:
        self.source_spec = source
        self.model = model
        self.precision = precision
        self.label = label or str(source)
        self.state = "stopped"  # starting | running | ended | failed | stopped | paused
        self.error: Optional[str] = None
        self.pipe = None
        self.size: Optional[tuple[int, int]] = None  # (W, H) once known
        self._cond = threading.Condition()
        self._latest: Optional[tuple[int, Frame, Segmentation]] = None
        self._seq = 0
        self._thread: Optional[threading.Thread] = None
        self._stop = threading.Event()
        self._life = threading.Lock()  # start/stop/model switch one at a time
        self._predictor = None
        if start:
            self.start()

    # -- lifetime --------------------------------------------------------------------------
    def start(self, predictor: Any = None, objects: Optional[dict[int, np.ndarray]] = None) -> None:
        """(Re)start: open the source, load the model, run. Errors end up in ``error``."""
        with self._life:
            self._stop_locked()
            self._stop = threading.Event()
            self.state, self.error = "starting", None
            self._thread = threading.Thread(target=self._main, args=(self._stop, predictor, objects or {}),
                                            name=f"samstream-ui[{self.label}]", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        with self._life:
            self._stop_locked()
            if self.state in ("starting", "running"):
                self.state = "stopped"

    def _stop_locked(self) -> None:
        from ..sources import LiveSource

        self._stop.set()
        pipe = self.pipe
        # A live source (capture thread + slot) may be closed from here, which also wakes a
        # pipeline waiting for a frame. A file or folder decodes in the pipeline's own thread:
        # closing its decoder from another thread can abort the process (libavcodec), so that
        # thread is left to notice the stop flag (within a frame) and close it itself.
        if pipe is not None and isinstance(getattr(pipe, "source", None), LiveSource):
            pipe.close()
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout=10.0)
        self._thread = None
        with self._cond:
            self._cond.notify_all()

    def close(self) -> None:
        self.stop()
        self.state = "stopped"

    def _open_source(self):
        from ..sources import open_source

        spec = self.source_spec
        if isinstance(spec, str) and (spec.strip().lower() == "push" or spec.strip().lower().startswith("push:")):
            return open_source(spec, size_policy="resize")
        return open_source(spec, **_source_options(spec))

    def _main(self, stop: threading.Event, predictor: Any, objects: dict) -> None:
        from ..engine import load_predictor
        from ..pipeline import Pipeline
        from ..types import Prompt

        pipe = None
        try:
            if predictor is None:
                predictor = self._predictor if (self._predictor is not None and
                                                getattr(self, "_predictor_model", None) == self.model) else None
            if predictor is None:
                predictor = load_predictor(self.model, precision=self.precision)
            self._predictor, self._predictor_model = predictor, self.model
            source = self._open_source()
            prompts = [Prompt(int(k), mask=m) for k, m in sorted(objects.items()) if m is not None and m.any()]
            pipe = Pipeline(source, predictor=predictor, prompts=prompts, auto_objects=0, asynchronous=True)
            if stop.is_set():
                pipe.close()
                return
            self.pipe = pipe
            self.state = "running"
            for seg in pipe:
                frame = pipe.last_frame
                with self._cond:
                    self._seq += 1
                    self._latest = (self._seq, frame, seg)
                    self.size = (frame.width, frame.height)
                    self._cond.notify_all()
                if stop.is_set():
                    break
            if not stop.is_set():
                src = pipe.source.stats() if hasattr(pipe.source, "stats") else {}
                why = src.get("error")
                self.state = "failed" if why else "ended"
                self.error = (f"source {self.label} failed: {why} — check the camera/URL, then press 'Restart source'."
                              if why else f"source {self.label} ended — press 'Restart source' to play it again.")
        except Exception as exc:  # shown in the page; the server stays up
            log.warning("stream %s: %s", self.label, exc)
            self.state = "failed"
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            if pipe is not None:
                pipe.close()
            with self._cond:
                self._cond.notify_all()

    def restart(self) -> None:
        """Open the source again (keeps the objects as mask prompts when there are any)."""
        self.start(objects=self._objects_now())

    def set_model(self, model: str) -> None:
        """Switch model: load it first (errors raise, the old one keeps running), then restart."""
        from ..engine import load_predictor

        model = (model or "").strip()
        if not model:
            raise ValueError("pick a model: classic, or one exported with `samstream export NAME`.")
        try:
            predictor = load_predictor(model, precision=self.precision)
        except (FileNotFoundError, KeyError, ValueError, RuntimeError, ImportError) as exc:
            raise ValueError(f"model {model!r} cannot be loaded ({exc}); export it with "
                             f"`samstream export {model.partition('@')[0]}` or pick classic.") from None
        objects = self._objects_now()
        self.model = model
        self.start(predictor=predictor, objects=objects)

    def _objects_now(self) -> dict[int, np.ndarray]:
        latest = self._latest
        if latest is None:
            return {}
        _, _, seg = latest
        return {int(i): m for i, m, lost in zip(seg.object_ids, seg.masks, seg.lost) if not lost}

    # -- frames ------------------------------------------------------------------------------
    def push(self, image: np.ndarray, timestamp: Optional[float] = None) -> bool:
        """Hand a BGR frame to a ``push`` stream; ``False`` if it is not running (frame dropped)."""
        pipe = self.pipe
        src = getattr(pipe, "source", None)
        if pipe is None or self.state != "running" or not hasattr(src, "push"):
            return False
        return src.push(image, timestamp) is not None

    def latest(self) -> Optional[tuple[int, Frame, Segmentation]]:
        return self._latest

    def wait_newer(self, seq: Optional[int], timeout: float) -> Optional[tuple[int, Frame, Segmentation]]:
        """The newest result if its number differs from ``seq``, else wait up to ``timeout`` s (``None``)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                item = self._latest
                if item is not None and item[0] != seq:
                    return item
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)

    # -- numbers ------------------------------------------------------------------------------
    def metrics(self) -> dict:
        pipe = self.pipe
        out: dict[str, Any] = {"state": self.state, "error": self.error, "model": self.model, "source": self.label}
        if pipe is not None:
            try:
                out.update(pipe.metrics())
                out["model"] = self.model
                out["model_info"] = pipe.predictor.describe()
            except Exception as exc:
                out["error"] = out["error"] or f"metrics: {exc}"
        return out

    def object_ids(self) -> list[int]:
        pipe = self.pipe
        return list(pipe.tracker.object_ids) if pipe is not None else []

    def require_pipe(self):
        pipe = self.pipe
        if pipe is None or self.state != "running":
            why = self.error or f"the stream is {self.state}"
            raise ValueError(f"no live stream to prompt ({why}): wait for the picture, or press 'Restart source'.")
        return pipe


class View:
    """One browser tab: what it looks at and how (click mode, opacity, hidden ids, current object)."""

    MODES = ("include", "exclude", "box")

    def __init__(self, sid: str, hub: "Hub") -> None:
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
        self.sent = _Rate()
        self.frames_sent = 0
        self.clicks = 0
        self._lock = threading.RLock()

    # -- which stream ----------------------------------------------------------------------
    @property
    def stream(self) -> Stream:
        if self.use_webcam and self.webcam is not None:
            return self.webcam
        return self.hub.server

    def touch(self) -> None:
        self.last_seen = time.monotonic()

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
    def render(self, frame: Frame, seg: Segmentation, stream: Stream) -> bytes:
        """The JPEG this tab shows for ``(frame, seg)``: overlay, prompts, banner, stamp."""
        pts = lab = box = None
        if time.monotonic() - self.last_click < PROMPT_SHOW_S and self.points:
            pts, lab = np.array(self.points, np.float32), np.array(self.labels, np.int32)
        if self.anchor is not None:
            pts = np.array([self.anchor], np.float32) if pts is None else np.vstack([pts, [self.anchor]])
            lab = np.array([1], np.int32) if lab is None else np.append(lab, 1)
        if self.box is not None and time.monotonic() - self.last_click < PROMPT_SHOW_S:
            box = np.array(self.box, np.float32)
        if seg.image_size == frame.image.shape[:2]:
            img = fast_overlay(frame.image, seg, self.alpha, self.hidden)
        else:  # a result of another size (source changed): show the bare frame
            img = frame.image.copy()
        if pts is not None or box is not None:
            img = draw_overlay(img, None, self.alpha, points=pts, point_labels=lab, box=box)
        if stream.state != "running":
            _banner(img, stream.error or f"stream {stream.state}")
        encode_stamp(img, frame.index, frame.timestamp)
        return _jpeg(img)

    def still(self, stream: Stream) -> bytes:
        """What to show with no new frame: the last one again (settings may have changed), or a card."""
        item = stream.latest()
        if item is not None:
            return self.render(item[1], item[2], stream)
        w, h = stream.size or (640, 480)
        img = np.full((h, w, 3), 40, np.uint8)
        if stream.state == "starting":
            text = f"starting {stream.label} ({stream.model})..."
        else:
            text = stream.error or f"stream {stream.state}"
        if stream is self.webcam and stream.state == "running":
            text = "waiting for webcam frames: press 'Record' on the webcam panel."
        _banner(img, text, top=h // 2 - 12)
        return _jpeg(img)


def fast_overlay(image: np.ndarray, seg: Segmentation, alpha: float, hidden=()) -> np.ndarray:
    """The same picture as :func:`~samstream.sinks.overlay.draw_overlay` (colour per id, outline,
    id label), computed inside each mask's bounding box only: ~1 ms instead of ~5 ms per object
    at 640x480, which matters at 30 frames/s on two cores."""
    out = image.copy()
    for m, oid, lost in zip(seg.masks, seg.object_ids, seg.lost):
        if lost or int(oid) in hidden:
            continue
        m8 = np.ascontiguousarray(m).view(np.uint8)
        x, y, w, h = cv2.boundingRect(m8)
        if w == 0 or h == 0:
            continue
        sub_m = m[y:y + h, x:x + w]
        sub = out[y:y + h, x:x + w]
        col = np.array(colour_for(oid), np.float32)
        if alpha > 0:
            region = sub[sub_m].astype(np.float32)
            sub[sub_m] = (region * (1.0 - alpha) + col * alpha).astype(np.uint8)
        cnts, _ = cv2.findContours(m8[y:y + h, x:x + w].copy(), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE,
                                   offset=(x, y))
        cv2.drawContours(out, cnts, -1, colour_for(oid), 2)
        ys, xs = np.nonzero(sub_m)
        org = (int(xs.mean()) + x - 8, int(ys.mean()) + y + 6)
        cv2.putText(out, str(int(oid)), org, cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(out, str(int(oid)), org, cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def _banner(img: np.ndarray, text: str, top: int = 0) -> None:
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


def _jpeg(img: np.ndarray, quality: int = 80) -> bytes:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - OpenCV always encodes a uint8 BGR image
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()


class Hub:
    """The server side of the live view: the shared source stream and the tabs looking at it.

    Args:
        source: the server-side source spec (default ``synthetic``: no camera needed).
        model: ``classic`` (no weights) or an exported SAM model.
        precision: SAM encoder precision.
        max_views: tabs remembered at once (least recently seen are dropped beyond this).
        max_webcams: browser-webcam streams at once (each runs a pipeline).
        idle_s: a tab with no open stream and no event for this long is dropped.
    """

    def __init__(self, source: Union[str, int] = "synthetic", model: str = "classic", precision: str = "fp16",
                 max_views: int = 16, max_webcams: int = 2, idle_s: float = 600.0) -> None:
        if max_views < 1 or max_webcams < 0:
            raise ValueError("max_views must be >= 1 and max_webcams >= 0.")
        self.precision = precision
        self.source_spec = source
        self.server = Stream(source, model=model, precision=precision, label=str(source))
        self.max_views, self.max_webcams, self.idle_s = int(max_views), int(max_webcams), float(idle_s)
        self._views: "collections.OrderedDict[str, View]" = collections.OrderedDict()
        self._lock = threading.Lock()
        self.closed = False

    def view(self, sid: str) -> View:
        """The view of tab ``sid`` (created on first use)."""
        if not isinstance(sid, str) or not sid or len(sid) > 128:
            raise ValueError("a session id is a non-empty string: reload the page.")
        drop: list[View] = []
        created = False
        with self._lock:
            v = self._views.get(sid)
            if v is None:
                v = View(sid, self)
                self._views[sid] = v
                created = True
            self._views.move_to_end(sid)
            now = time.monotonic()
            for k, old in list(self._views.items()):
                if old is not v and not old.streaming and now - old.last_seen > self.idle_s:
                    drop.append(self._views.pop(k))
            while len(self._views) > self.max_views:
                drop.append(self._views.popitem(last=False)[1])
        for old in drop:
            self._close_view(old)
        if created or drop:
            self.balance()
        v.touch()
        return v

    def find(self, sid: str) -> Optional[View]:
        with self._lock:
            return self._views.get(sid)

    def drop(self, sid: str) -> None:
        with self._lock:
            v = self._views.pop(sid, None)
        if v is not None:
            self._close_view(v)
            self.balance()

    def _close_view(self, v: View) -> None:
        v.closed = True
        if v.webcam is not None:
            v.webcam.close()
            v.webcam = None

    def balance(self) -> None:
        """Pause the shared source while no tab watches it (every tab is closed or on its own
        webcam: 2 cores are precious); resume it, objects kept, when a tab comes back to it."""
        with self._lock:
            wanted = any(not v.use_webcam for v in self._views.values() if not v.closed)
        if not wanted and self.server.state in ("running", "starting"):
            self.server.stop()
            self.server.state = "paused"
        elif wanted and self.server.state == "paused":
            self.server.restart()

    def reserve_webcam(self, view: View) -> None:
        with self._lock:
            n = sum(1 for v in self._views.values() if v.webcam is not None and v is not view)
        if n >= self.max_webcams:
            raise ValueError(f"{n} browser webcams are already streaming to this server (limit {self.max_webcams}): "
                             "close another tab's webcam, or start `samstream demo` with a larger limit.")

    @property
    def views(self) -> list[View]:
        with self._lock:
            return list(self._views.values())

    def mjpeg(self, sid: str, idle_resend_s: float = 1.0) -> Iterator[bytes]:
        """The ``multipart/x-mixed-replace`` body for tab ``sid``: newest frame only, forever.

        Ends when the tab opens a newer stream, the view is dropped or the hub closes.
        """
        view = self.view(sid)
        with view._lock:
            view.connection += 1
            conn = view.connection
        view.streaming = True
        try:
            yield _NEXT[2:]
            last: tuple[Optional[Stream], Optional[int]] = (None, None)
            last_sent = 0.0
            while not self.closed and not view.closed and view.connection == conn:
                stream = view.stream
                item = stream.wait_newer(last[1] if last[0] is stream else None, timeout=0.25)
                if view.connection != conn or view.closed or self.closed:
                    break
                if item is None:
                    if time.monotonic() - last_sent < idle_resend_s:
                        continue
                    jpeg = view.still(stream)
                else:
                    last = (stream, item[0])
                    jpeg = view.render(item[1], item[2], stream)
                view.frames_sent += 1
                view.sent.tick()
                view.touch()
                yield jpeg + _NEXT
                last_sent = time.monotonic()
        finally:
            if view.connection == conn:
                view.streaming = False

    def close(self) -> None:
        self.closed = True
        for v in self.views:
            self._close_view(v)
        self.server.close()


def readout(view: View) -> dict:
    """The numbers shown in the page for this tab."""
    stream = view.stream
    m = stream.metrics()
    src = m.get("source") if isinstance(m.get("source"), dict) else {}
    errors = []
    if stream.error:
        errors.append(stream.error)
    if src.get("last_error") and src.get("state") not in ("open", "ended", None):
        errors.append(f"source: {src.get('last_error')}")
    for e in (m.get("errors") or [])[-2:]:
        errors.append(str(e))
    return {
        "input": "browser webcam" if stream is view.webcam else stream.label,
        "state": stream.state,
        "model": stream.model,
        "input_fps": m.get("input_fps", 0.0),
        "output_fps": m.get("output_fps", 0.0),
        "display_fps": round(view.sent.value(), 1),
        "encoder_latency_ms": m.get("encoder_latency_ms"),
        "keyframe_age_frames": m.get("keyframe_age_frames"),
        "latency_ms": m.get("latency_ms"),
        "objects": stream.object_ids(),
        "dropped_frames": m.get("dropped_frames", 0),
        "frames_out": m.get("frames_out", 0),
        "size": stream.size,
        "errors": errors,
        "colours": {oid: "#%02x%02x%02x" % tuple(reversed(colour_for(oid))) for oid in stream.object_ids()},
    }

