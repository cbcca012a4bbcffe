"""The scripting API: source -> tracker (async keyframe encoder + flow) -> sinks, one result per frame.

::

    from samstream import Pipeline, Prompt

    with Pipeline("synthetic", model="classic", prompts=[Prompt(1, box=[100, 80, 220, 200])]) as pipe:
        for seg in pipe:
            print(seg.frame_index, seg.object_ids, seg.masks.shape)

Every yielded :class:`~samstream.types.Segmentation` belongs to the frame it names and its masks
are aligned to that frame; results come in input order, one per frame the source delivered.
"""

from __future__ import annotations

import json
import re
import time
from collections import deque
from typing import Any, Iterable, Iterator, Optional, Sequence, Union

import numpy as np

from .metrics import PipelineMetrics, SourceStats
from .types import Frame, Prompt, Segmentation
from .utils import RateMeter

__all__ = ["Pipeline", "parse_prompt"]

_NUM = r"-?\d+(?:\.\d+)?"
_PROMPT_RE = re.compile(rf"^(box|point|neg):({_NUM}(?:,{_NUM})*)(?:@(\d+))?$")


def parse_prompt(text: str) -> tuple[str, list[float], int]:
    """``"box:X1,Y1,X2,Y2[@ID]"``, ``"point:X,Y[@ID]"``, ``"neg:X,Y[@ID]"`` -> (kind, values, id).

    The id defaults to 1.
    """
    m = _PROMPT_RE.match(str(text).replace(" ", ""))
    if not m:
        raise ValueError(
            f"bad prompt {text!r}: use box:X1,Y1,X2,Y2[@ID], point:X,Y[@ID] or neg:X,Y[@ID] (pixels; ID 1..255)."
        )
    kind, vals, oid = m.group(1), [float(v) for v in m.group(2).split(",")], int(m.group(3) or 1)
    need = 4 if kind == "box" else 2
    if len(vals) != need:
        raise ValueError(f"bad prompt {text!r}: {kind} takes {need} numbers, got {len(vals)}.")
    return kind, vals, oid


def prompts_from_strings(texts: Sequence[str], init_mask: Optional[np.ndarray] = None) -> list[Prompt]:
    """Group CLI prompt strings by object id into :class:`Prompt` objects."""
    by_id: dict[int, dict[str, Any]] = {}
    for t in texts:
        kind, vals, oid = parse_prompt(t)
        d = by_id.setdefault(oid, {"points": [], "labels": [], "box": None})
        if kind == "box":
            if d["box"] is not None:
                raise ValueError(f"object {oid} has two boxes: give one box per object id.")
            d["box"] = vals
        else:
            d["points"].append(vals)
            d["labels"].append(1 if kind == "point" else 0)
    out = []
    for oid, d in sorted(by_id.items()):
        if d["box"] is None and not any(lab == 1 for lab in d["labels"]):
            raise ValueError(f"object {oid} has only exclude points: add a point:X,Y@{oid} or box:...@{oid}.")
        out.append(Prompt(oid, d["points"] or None, d["labels"] or None, d["box"]))
    if init_mask is not None:
        labels = np.unique(init_mask[init_mask > 0])
        if labels.size == 0:
            raise ValueError("--init-mask is empty: paint the object(s) with non-zero values.")
        if labels.size == 1:
            labels_map = {int(labels[0]): 1}
        else:
            labels_map = {int(v): int(v) for v in labels}
        for v, oid in labels_map.items():
            if any(p.obj_id == oid for p in out):
                raise ValueError(f"object {oid} has both --init-mask and --prompt: give one.")
            out.append(Prompt(oid, mask=init_mask == v))
    return out


class Pipeline:
    """Source -> tracker -> sinks, iterated one frame at a time.

    Args:
        source: a source spec (``"synthetic"``, ``"0"``, ``"video.mp4"``, ``"frames/"``,
            ``"rtsp://..."``; see :func:`samstream.sources.open_source`) or a source object.
        model: ``"classic"`` (no weights) or an exported SAM model name (``"mobilesam"``, ...).
        prompts: :class:`Prompt` objects (or CLI strings ``"box:X1,Y1,X2,Y2@ID"``) applied to the
            first frame. With none, ``auto_objects`` largest objects found by segment-everything on
            the first frame are tracked (0 disables).
        sinks: objects with ``write(frame, seg)`` (and optionally ``close()``).
        precision: SAM encoder precision (``fp16``, ``int8``, ...).
        asynchronous: keyframes encoded in the background (live); ``False`` = inline, every
            ``keyframe_interval`` frames (deterministic, for evaluation).
        max_frames: stop after this many frames.
        predictor: an already-loaded predictor (overrides ``model``).
        source_options: keyword options for :func:`open_source` (``realtime=True``, ...).
        encoder: a model-server URL (``"grpc://host:9000/mobilesam"``, ``"http://host:8000/mobilesam"``)
            that encodes the keyframes (KServe v2: ``samstream serve``, OpenVINO Model Server, Triton);
            ``model`` names the same export, whose decoder runs here. If the server goes away the
            objects keep being tracked by flow and ``metrics().encoder.reachable`` is ``False``.
        depth: lift the masks to 3-D (:mod:`samstream.spatial`): ``"source"`` takes the colour-aligned
            depth from the source (its ``depth_for(frame)``: the synthetic source, a ROS source with a
            depth topic), or pass any object with ``depth_for(frame) -> DepthFrame | None``.
            ``None`` (default): 2-D only. Each frame's :class:`~samstream.spatial.Objects3D` (or
            ``None`` when no depth matched it) is ``pipeline.last_objects3d``; a sink that has
            ``write_3d(frame, seg, objects3d)`` gets that call *instead of* ``write(frame, seg)`` for
            frames with a 3-D result (``write`` for the others).
        lift_config: a :class:`~samstream.spatial.LiftConfig` (erosion, outlier rejection, cloud size).
    """

    def __init__(
        self,
        source: Union[str, int, Any] = "synthetic",
        model: str = "classic",
        prompts: Iterable[Union[Prompt, str]] = (),
        sinks: Iterable[Any] = (),
        precision: str = "fp16",
        asynchronous: bool = True,
        keyframe_interval: int = 0,
        auto_objects: int = 3,
        max_frames: Optional[int] = None,
        predictor: Any = None,
        tracker_config: Any = None,
        source_options: Optional[dict] = None,
        encoder: Optional[str] = None,
        depth: Any = None,
        lift_config: Any = None,
    ):
        from .engine import load_predictor
        from .tracker import Tracker, TrackerConfig

        prompts = list(prompts)
        strings = [p for p in prompts if isinstance(p, str)]
        objs = [p for p in prompts if isinstance(p, Prompt)]
        if len(strings) + len(objs) != len(prompts):
            raise ValueError("prompts must be samstream.Prompt objects or strings like 'box:10,10,50,50@1'.")
        self.prompts = objs + prompts_from_strings(strings)
        ids = [p.obj_id for p in self.prompts]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate object ids in prompts: {ids}; give each object one Prompt.")
        if max_frames is not None and max_frames < 1:
            raise ValueError("max_frames must be >= 1 (or None for no limit).")
        if auto_objects < 0 or auto_objects > 255:
            raise ValueError("auto_objects must be in 0..255.")
        self.sinks = list(sinks)
        for s in self.sinks:
            if not callable(getattr(s, "write", None)):
                raise ValueError(f"sink {s!r} has no write(frame, seg) method.")
        if predictor is not None and encoder:
            raise ValueError("give either predictor= or encoder= (a remote encoder is loaded with model=), not both.")
        self.predictor = predictor if predictor is not None else load_predictor(model, precision=precision,
                                                                                encoder=encoder)
        if isinstance(source, (str, int)):
            from .sources import open_source

            self.source = open_source(source, **(source_options or {}))
        else:
            self.source = source
        self.depth = self.source if isinstance(depth, str) and depth == "source" else depth
        if self.depth is not None and not callable(getattr(self.depth, "depth_for", None)):
            raise ValueError(f"depth={depth!r}: the depth provider needs depth_for(frame) (the synthetic source has "
                             "it; a ROS source gets it with a depth topic); pass depth=None for 2-D only.")
        self.lift_config = lift_config
        self.last_objects3d: Any = None
        self._lift_ms = 0.0
        cfg = tracker_config or TrackerConfig(keyframe_interval=keyframe_interval)
        self.tracker = Tracker(self.predictor, asynchronous=asynchronous, config=cfg)
        self.auto_objects = 0 if self.prompts else int(auto_objects)
        self.max_frames = max_frames
        self._started = False
        self._closed = False
        self._in_rate, self._out_rate = RateMeter(), RateMeter()
        self._frames_out = 0
        self._sink_ms = 0.0
        self._latency_ms = 0.0
        self._last: Optional[Segmentation] = None
        self.last_frame: Optional[Frame] = None
        self.errors: deque[str] = deque(maxlen=20)

    # -- objects (thread-safe; used by UIs and ROS) ---------------------------------------------
    def add_object(self, obj_id: int, points=None, labels=None, box=None, mask=None) -> None:
        self.tracker.add_object(obj_id, points, labels, box, mask)

    def update_object(self, obj_id: int, points=None, labels=None, box=None, mask=None) -> None:
        self.tracker.update(obj_id, points, labels, box, mask)

    def remove_object(self, obj_id: int) -> None:
        self.tracker.remove_object(obj_id)

    def clear(self) -> None:
        self.tracker.reset()

    def next_free_id(self) -> int:
        used = set(self.tracker.object_ids)
        for i in range(1, 256):
            if i not in used:
                return i
        raise ValueError("all 255 object ids are in use: remove an object first.")

    # -- iteration -------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Segmentation]:
        if self._started:
            raise RuntimeError("a Pipeline can be iterated once; make a new one to run again.")
        self._started = True
        try:
            for frame in self.source:
                if self._closed:
                    break
                self._in_rate.tick()
                first = self._frames_out == 0
                if first:
                    self._first_frame(frame)
                seg = self.tracker.track(frame, resolve_now=first)
                objs3d = self._lift(frame, seg) if self.depth is not None else None
                t0 = time.perf_counter()
                for sink in self.sinks:
                    try:
                        if objs3d is not None and callable(getattr(sink, "write_3d", None)):
                            sink.write_3d(frame, seg, objs3d)  # instead of write(): one item per frame
                        else:
                            sink.write(frame, seg)
                    except Exception as exc:  # a failing sink is reported, the stream goes on
                        self.errors.append(f"sink {type(sink).__name__}: {exc}")
                self._sink_ms = (time.perf_counter() - t0) * 1e3
                self._latency_ms = (time.time() - frame.timestamp) * 1e3
                self._frames_out += 1
                self._out_rate.tick()
                self._last = seg
                self.last_frame = frame
                yield seg
                if self.max_frames is not None and self._frames_out >= self.max_frames:
                    break
        finally:
            self.close()

    def _lift(self, frame: Frame, seg: Segmentation) -> Any:
        """The 3-D objects of ``frame`` (``None`` when no depth matched it: never a stale one)."""
        from .spatial import lift_objects

        t0 = time.perf_counter()
        self.last_objects3d = None
        try:
            d = self.depth.depth_for(frame)
            if d is not None:
                self.last_objects3d = lift_objects(seg, d, self.lift_config)
        except Exception as exc:  # bad depth is reported, the stream goes on
            self.errors.append(f"depth: {exc}")
        self._lift_ms = (time.perf_counter() - t0) * 1e3
        return self.last_objects3d

    def _first_frame(self, frame: Frame) -> None:
        for p in self.prompts:
            p = p.validated(frame.width, frame.height)
            self.tracker.add_object(p.obj_id, p.points, p.labels, p.box, p.mask)
        if self.auto_objects:
            for i, m in enumerate(self.segment_everything(frame)[: self.auto_objects]):
                self.tracker.add_object(i + 1, mask=m)

    def segment_everything(self, frame: Frame) -> list[np.ndarray]:
        """Masks of the objects in ``frame``, largest first (classic or SAM automatic masks)."""
        if self.predictor.has_everything:
            masks, _ = self.predictor.everything(frame.image)
        else:
            from .engine.everything import MaskGenerator

            masks = [r.segmentation for r in MaskGenerator(self.predictor).generate(frame.image)]
        h, w = frame.height, frame.width
        # ignore background-like regions that touch most of the border or fill most of the frame
        keep = [m for m in masks if 0.002 * h * w <= np.count_nonzero(m) <= 0.5 * h * w]
        keep.sort(key=lambda m: -int(np.count_nonzero(m)))
        return keep

    # -- metrics -------------------------------------------------------------------------------
    def metrics(self) -> PipelineMetrics:
        """Live numbers, a typed snapshot: rates, latency, keyframe age and failures, and the
        source's, tracker's and encoder's own stats (see :class:`samstream.metrics.PipelineMetrics`)."""
        src_stats = getattr(self.source, "stats", None)
        src = src_stats() if callable(src_stats) else SourceStats(name=str(getattr(self.source, "name", "")))
        enc = self.tracker.encoder
        last = self._last
        age = (last.frame_index - last.keyframe_index) if last is not None and last.keyframe_index >= 0 else None
        return PipelineMetrics(
            frames_out=self._frames_out,
            input_fps=round(self._in_rate.value(), 2),
            output_fps=round(self._out_rate.value(), 2),
            latency_ms=round(self._latency_ms, 1),
            sink_ms=round(self._sink_ms, 2),
            keyframe_age_frames=age,
            model=self.predictor.describe(),
            source_label=src.name,
            source=src,
            tracker=self.tracker.stats,
            encoder=enc.stats() if enc is not None else None,
            errors=tuple(self.errors),
        )

    @property
    def lift_ms(self) -> float:
        """Time of the last frame's 3-D step (depth lookup + :func:`~samstream.spatial.lift_objects`), ms."""
        return round(self._lift_ms, 3)

    def metrics_json(self) -> str:
        """:meth:`metrics` as one line of JSON."""
        return json.dumps(self.metrics().to_dict(), default=str)

    # -- lifetime ------------------------------------------------------------------------------
    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for obj in (self.source, self.tracker, *self.sinks):
            close = getattr(obj, "close", None)
            if callable(close):
                try:
                    close()
                except Exception as exc:
                    self.errors.append(f"close {type(obj).__name__}: {exc}")

    def __enter__(self) -> "Pipeline":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
