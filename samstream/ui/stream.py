"""The pipeline thread behind the live view: one :class:`Stream` runs one Pipeline for the page.

A :class:`Stream` runs a :class:`~samstream.pipeline.Pipeline` in a background thread and keeps
only its newest ``(seq, frame, segmentation)`` in a slot of one (a sequence number plus a
condition variable): a reader that is slower than the pipeline skips to the newest result, and
nothing is ever queued per frame, so memory is bounded however long a page stays open.

Live sources keep only their newest frame (the pipeline never sees a backlog). A source that
ends or fails, or a model that cannot be loaded, is reported in :attr:`Stream.error` (a message
naming the fix); the thread ends, the server stays up.

No Gradio here.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any, Optional, Union

import numpy as np

from ..metrics import PipelineMetrics
from ..types import Frame, Segmentation

__all__ = ["Stream", "model_choices"]

log = logging.getLogger("samstream.ui")

#: ``(seq, frame, segmentation)``: a result and its number in this stream (1, 2, ...).
Result = tuple[int, Frame, Segmentation]


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


def _is_push_spec(spec: Any) -> bool:
    s = spec.strip().lower() if isinstance(spec, str) else ""
    return s == "push" or s.startswith("push:")


def _source_options(spec: Any) -> dict:
    """Play files and folders at their own frame rate, looping (a demo 'camera')."""
    if isinstance(spec, str) and not spec.strip().lower().startswith(("synthetic", "push")):
        path = os.path.expanduser(spec.strip())
        if not spec.strip().isdigit() and "://" not in spec and os.path.exists(path):
            return {"realtime": True, "loop": True}
    return {}


class Stream:
    """One pipeline running in a background thread; its newest result is kept in a slot of one.

    Args:
        source: a source spec (``"synthetic"``, ``"0"``, ``"clip.mp4"``, ``"rtsp://..."``) or
            ``"push"`` / ``"push:NAME"`` (frames come from :meth:`push`, e.g. the browser's webcam).
        model: ``classic`` or an exported SAM model (``mobilesam``, ``NAME@random``).
        precision: SAM encoder precision.
        label: a short name shown in the page (default: the source spec).
        start: start the thread now.

    Attributes:
        state: ``starting`` | ``running`` | ``ended`` | ``failed`` | ``stopped`` | ``paused``.
        error: why the stream is not running (a message naming the fix), else ``None``.
        pipe: the running :class:`~samstream.pipeline.Pipeline` (``None`` before the first start).
        size: ``(width, height)`` in pixels of the newest frame, ``None`` before the first.
    """

    def __init__(self, source: Union[str, int] = "synthetic", model: str = "classic", precision: str = "fp16",
                 label: Optional[str] = None, start: bool = True) -> None:
        self.source_spec = source
        self.model = model
        self.precision = precision
        self.label = label or str(source)
        self.state = "stopped"
        self.error: Optional[str] = None
        self.pipe = None
        self.size: Optional[tuple[int, int]] = None
        self._cond = threading.Condition()
        self._latest: Optional[Result] = None
        self._seq = 0
        self._thread: Optional[threading.Thread] = None
        self._stop = threading.Event()
        self._life = threading.Lock()  # start/stop/model switch one at a time
        self._predictor = None
        self._predictor_model: Optional[str] = None
        if start:
            self.start()

    # -- lifetime --------------------------------------------------------------------------
    def start(self, predictor: Any = None, objects: Optional[dict[int, np.ndarray]] = None) -> None:
        """(Re)start: open the source, load the model, run. Errors end up in :attr:`error`.

        Args:
            predictor: a loaded :class:`~samstream.engine.base.Predictor` to use (default: the
                one already loaded for :attr:`model`, else load it).
            objects: ``{id: (H, W) bool mask}`` to carry over as mask prompts.
        """
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
        if _is_push_spec(spec):
            return open_source(spec, size_policy="resize")
        return open_source(spec, **_source_options(spec))

    def _main(self, stop: threading.Event, predictor: Any, objects: dict) -> None:
        from ..engine import load_predictor
        from ..pipeline import Pipeline
        from ..types import Prompt

        pipe = None
        try:
            if predictor is None and self._predictor_model == self.model:
                predictor = self._predictor
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
                why = pipe.source.stats().error
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

        model = model.strip() if isinstance(model, str) else ""
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
        """Hand a ``uint8 (H, W, 3)`` BGR frame (``timestamp`` in seconds, default now) to a push
        stream; ``False`` if it is not running or its source takes no pushed frames (dropped)."""
        return self.push_frame(image, timestamp) is not None

    def push_frame(self, image: np.ndarray, timestamp: Optional[float] = None) -> Optional[Frame]:
        """Like :meth:`push`, returning the :class:`~samstream.types.Frame` made of it (its
        ``index`` names the result that will carry its masks), or ``None`` when dropped."""
        pipe = self.pipe
        src = getattr(pipe, "source", None)
        if pipe is None or self.state != "running" or not getattr(src, "accepts_pushed_frames", False):
            return None
        return src.push(image, timestamp)

    def latest(self) -> Optional[Result]:
        """The newest ``(seq, frame, segmentation)``, or ``None`` before the first."""
        return self._latest

    def wait_newer(self, seq: Optional[int], timeout: float) -> Optional[Result]:
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
    def metrics(self) -> Optional[PipelineMetrics]:
        """The pipeline's typed metrics, or ``None`` before a pipeline has started.

        The stream's own state is in :attr:`state`, :attr:`error`, :attr:`model` and :attr:`label`.
        """
        pipe = self.pipe
        return pipe.metrics() if pipe is not None else None

    @property
    def frames_out(self) -> int:
        """Results the current pipeline has produced (0 before it starts)."""
        m = self.metrics()
        return int(m.frames_out) if m is not None else 0

    def object_ids(self) -> list[int]:
        """The ids of the objects tracked now (ascending)."""
        pipe = self.pipe
        return list(pipe.tracker.object_ids) if pipe is not None else []

    def require_pipe(self):
        """The running pipeline; ``ValueError`` naming the fix when the stream is not running."""
        pipe = self.pipe
        if pipe is None or self.state != "running":
            why = self.error or f"the stream is {self.state}"
            raise ValueError(f"no live stream to prompt ({why}): wait for the picture, or press 'Restart source'.")
        return pipe
