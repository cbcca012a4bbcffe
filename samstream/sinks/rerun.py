"""``samstream run --rerun`` / ``--rerun-save FILE.rrd``: results logged to Rerun (``rerun-sdk``).

Entities (timelines ``frame`` = frame index and ``capture`` = capture time):

* ``camera/image``: the frame (JPEG ``EncodedImage``);
* ``camera/segmentation``: ``SegmentationImage`` of the label map, with an ``AnnotationContext``
  on ``camera`` (object id -> label ``object <id>`` and the colour of :func:`~samstream.sinks.overlay.colour_for`);
* ``camera/boxes``: ``Boxes2D`` (``x1, y1, x2, y2`` pixels), class id = object id, label ``"<id> <score>"``;
* ``scores/<id>``: each object's score; ``timings/*``: ``latency_ms`` (capture to logging),
  ``keyframe_age_frames`` and, with a watched pipeline (:meth:`RerunSink.watch_pipeline`),
  ``track_ms``, ``encoder_ms``, ``lift_ms``;
* with depth: ``world/camera`` (``Pinhole`` of the depth camera, optical frame ``RDF``),
  ``world/objects/boxes`` (``Boxes3D``: centroid, extent) and ``world/objects/points`` (``Points3D``),
  class id = object id; a frame without depth clears them (no stale 3-D).

Never blocks: a :class:`~samstream.sinks.latest.LatestWorker` (a slot of one) does the encoding and
logging, so a slow viewer or disk drops results on the viewer side (``dropped``), never in the pipeline.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from ..types import Frame, Segmentation
from .latest import LatestWorker, ViewerStats
from .overlay import colour_for

__all__ = ["RerunSink"]


def require_rerun():
    try:
        import rerun
    except ImportError as exc:
        raise ImportError("Rerun output needs the Rerun SDK: pip install 'samstream[viz]' (or pip install rerun-sdk).") from exc
    return rerun


class RerunSink:
    """Log results to a Rerun viewer or an ``.rrd`` file (see the module docstring).

    Args:
        save: write to this ``.rrd`` file (its folder must exist); else stream to a viewer.
        spawn: with no ``save``, start a local viewer (``rerun``) and connect to it (default ``True``);
            ``False`` connects to an already running one (``rerun --serve`` / desktop viewer) on ``grpc_url``.
        application_id: the Rerun application id.
        jpeg_quality: of ``camera/image``.
        threaded: log from a worker thread (default); ``False`` logs inside ``write`` (every frame).
    """

    def __init__(self, save: Optional[Union[str, Path]] = None, spawn: bool = True, application_id: str = "samstream",
                 jpeg_quality: int = 80, threaded: bool = True, grpc_url: Optional[str] = None) -> None:
        rr = require_rerun()
        self.rr = rr
        self.quality = int(jpeg_quality)
        self.path = Path(save) if save is not None else None
        if self.path is not None:
            if self.path.suffix.lower() != ".rrd":
                raise ValueError(f"--rerun-save {self.path}: the file name must end in .rrd (e.g. run.rrd).")
            if not self.path.parent.exists():
                raise FileNotFoundError(f"folder {self.path.parent} does not exist: create it or pick another --rerun-save path.")
        self.rec = rr.RecordingStream(application_id)
        if self.path is not None:
            self.rec.save(str(self.path), default_blueprint=self.blueprint())
            self.target = str(self.path)
        elif spawn:
            self.rec.spawn(default_blueprint=self.blueprint())
            self.target = "viewer"
        else:
            self.rec.connect_grpc(grpc_url) if grpc_url else self.rec.connect_grpc()
            self.target = grpc_url or "viewer"
        self.rec.log("world/camera", rr.ViewCoordinates.RDF, static=True)
        self._known: set[int] = set()
        self._pipe: Any = None
        self._had_3d = False
        self._worker = LatestWorker(self._log, name="samstream-rerun", threaded=threaded)
        self._closed = False

    def blueprint(self):
        """The default layout: the camera with segmentation and boxes, the 3-D objects, scores and timings."""
        import rerun.blueprint as rrb

        return rrb.Blueprint(
            rrb.Horizontal(
                rrb.Spatial2DView(origin="camera", name="camera + masks"),
                rrb.Spatial3DView(origin="world", name="objects in 3-D (camera optical frame, m)",
                                  eye_controls=rrb.EyeControls3D(position=[1.1, -0.9, 0.2], look_target=[-0.1, 0.0, 1.5],
                                                                 eye_up=[0, -1, 0])),
                rrb.Vertical(rrb.TimeSeriesView(origin="scores", name="scores"),
                             rrb.TimeSeriesView(origin="timings", name="timings (ms)")),
                column_shares=[2, 2, 1]),
            rrb.TimePanel(state="collapsed"), rrb.SelectionPanel(state="collapsed"), rrb.BlueprintPanel(state="collapsed"))

    @property
    def records_to_rrd(self) -> Optional[Path]:
        """The ``.rrd`` file (``None`` when streaming to a viewer)."""
        return self.path

    def watch_pipeline(self, pipeline: Any) -> None:
        """Also log the pipeline's timings (``track_ms``, ``encoder_ms``, ``lift_ms``) per frame."""
        self._pipe = pipeline

    def write(self, frame: Frame, seg: Segmentation) -> None:
        self._worker.put(frame, seg, None, self._timings())

    def write_3d(self, frame: Frame, seg: Segmentation, objs: Any) -> None:
        """A result with its 3-D objects (the pipeline calls this instead of ``write`` when depth matched)."""
        self._worker.put(frame, seg, objs, self._timings())

    def _timings(self) -> dict[str, float]:
        p = self._pipe
        if p is None:
            return {}
        out = {"lift_ms": float(getattr(p, "lift_ms", 0.0))}
        try:
            m = p.metrics()
            out["track_ms"] = float(m.tracker.track_ms)
            if m.encoder_latency_ms is not None:
                out["encoder_ms"] = float(m.encoder_latency_ms)
        except Exception:  # timings are extras: never fail a frame for them
            pass
        return out

    def _log(self, frame: Frame, seg: Segmentation, objs: Any, timings: dict[str, float]) -> None:
        import cv2

        rr, rec = self.rr, self.rec
        rec.set_time("frame", sequence=int(frame.index))
        rec.set_time("capture", timestamp=float(frame.timestamp))
        new = set(int(i) for i in seg.object_ids) - self._known
        if new:
            self._known |= new
            infos = [rr.AnnotationInfo(id=i, label=f"object {i}", color=tuple(reversed(colour_for(i))))
                     for i in sorted(self._known)]
            rec.log("camera", rr.AnnotationContext([rr.AnnotationInfo(id=0, label="background", color=(0, 0, 0, 0))]
                                                   + infos), static=True)
        ok, buf = cv2.imencode(".jpg", frame.image, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if ok:
            rec.log("camera/image", rr.EncodedImage(contents=buf.tobytes(), media_type="image/jpeg"))
        rec.log("camera/segmentation", rr.SegmentationImage(seg.label_map()))
        live = ~seg.lost
        boxes = seg.boxes()
        keep = live & np.all(np.isfinite(boxes), axis=1)
        ids = seg.object_ids[keep]
        rec.log("camera/boxes", rr.Boxes2D(array=boxes[keep], array_format=rr.Box2DFormat.XYXY, class_ids=ids,
                                           labels=[f"{i} {s:.2f}" for i, s in zip(ids, seg.scores[keep])]))
        for i, s in zip(seg.object_ids, seg.scores):
            rec.log(f"scores/{int(i)}", rr.Scalars(float(s)))
        rec.log("timings/latency_ms", rr.Scalars((time.time() - frame.timestamp) * 1e3))
        if seg.keyframe_index >= 0:
            rec.log("timings/keyframe_age_frames", rr.Scalars(float(seg.frame_index - seg.keyframe_index)))
        for k, v in timings.items():
            rec.log(f"timings/{k}", rr.Scalars(v))
        if objs is not None:
            cam = objs.camera
            if cam is not None:
                rec.log("world/camera/image", rr.Pinhole(image_from_camera=cam.k, resolution=[cam.width, cam.height]))
            oids = np.array([o.obj_id for o in objs.objects], np.int32)
            rec.log("world/objects/boxes", rr.Boxes3D(
                centers=np.array([o.centroid for o in objs.objects]).reshape(-1, 3),
                sizes=np.array([np.maximum(o.extent, 0.005) for o in objs.objects]).reshape(-1, 3),
                class_ids=oids, labels=[f"{o.obj_id}: {o.centroid[2]:.2f} m" for o in objs.objects]))
            pts, pids = objs.all_points()
            rec.log("world/objects/points", rr.Points3D(pts, class_ids=pids, radii=0.004))
            self._had_3d = True
        elif self._had_3d:
            rec.log("world/objects", rr.Clear(recursive=True))
            self._had_3d = False

    def viewer_stats(self) -> ViewerStats:
        """Results logged / dropped (a slow viewer) / failed, and the target."""
        w = self._worker
        return ViewerStats("rerun", w.done, w.dropped, w.errors, w.last_error, self.target)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._worker.close()
        self.rec.flush()
        if self.path is not None:
            self.rec.disconnect()
