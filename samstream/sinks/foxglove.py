"""``samstream run --foxglove [PORT]``: a live Foxglove WebSocket server (the ``foxglove-sdk``).

Open https://app.foxglove.dev (or Foxglove desktop), *Open connection* -> ``ws://HOST:PORT``, and
import ``docs/foxglove_layout.json`` for the panels. Channels (Foxglove protobuf schemas), all under
``/samstream/foxglove/`` (the same names as in a ``--record`` MCAP, next to the ROS 2 topics):

==============  =========================  ===================================================
``image``       ``foxglove.CompressedImage``  the camera frame (JPEG)
``mask``        ``foxglove.CompressedImage``  the masks as a colour image (PNG; colour = object id)
``annotations`` ``foxglove.ImageAnnotations`` per object: outline (polygon) and label ``id score``
``calibration`` ``foxglove.CameraCalibration`` the depth camera's intrinsics (depth on only)
``scene``       ``foxglove.SceneUpdate``      per object: a box (centroid, extent) and a label (depth on)
``points``      ``foxglove.PointCloud``       the object points, coloured by object (depth on)
==============  =========================  ===================================================

Images are in the ``frame_id`` of the camera (``camera`` by default); 3-D in the optical frame of the
:class:`~samstream.spatial.CameraInfo`. The scene update deletes all earlier entities first, so an
object that disappears (or a frame without depth) leaves no stale box.

Never blocks: results go to a :class:`~samstream.sinks.latest.LatestWorker` (a slot of one); while a
result is being encoded and sent, a newer one replaces the waiting one (``dropped``), and nothing is
encoded for a channel no client subscribes to. The SDK itself bounds each client's backlog
(``message_backlog_size``), dropping the oldest.

The message builders (``*_msg`` functions) are shared with :class:`samstream.sinks.mcap.McapSink`.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..types import Frame, Segmentation
from .latest import LatestWorker, ViewerStats
from .overlay import colour_for

__all__ = ["FoxgloveSink", "FOXGLOVE_TOPICS", "foxglove_messages", "require_foxglove"]

#: channel key -> (topic under the prefix, Foxglove schema name)
FOXGLOVE_TOPICS = {
    "image": "foxglove.CompressedImage",
    "mask": "foxglove.CompressedImage",
    "annotations": "foxglove.ImageAnnotations",
    "calibration": "foxglove.CameraCalibration",
    "scene": "foxglove.SceneUpdate",
    "points": "foxglove.PointCloud",
}
DEFAULT_PREFIX = "/samstream/foxglove"


def require_foxglove():
    """The ``foxglove`` module, or an ``ImportError`` naming the install command."""
    try:
        import foxglove
        import foxglove.messages  # noqa: F401
    except ImportError as exc:
        raise ImportError("Foxglove output needs the Foxglove SDK: pip install 'samstream[viz]' "
                          "(or pip install foxglove-sdk).") from exc
    return foxglove


def _rgba(obj_id: int, a: float = 1.0):
    from foxglove.messages import Color

    b, g, r = colour_for(obj_id)
    return Color(r=r / 255, g=g / 255, b=b / 255, a=a)


def _stamp(t: float):
    from foxglove.messages import Timestamp

    return Timestamp.from_epoch_secs(float(t))


def image_msg(frame: Frame, frame_id: str, quality: int = 80):
    import cv2
    from foxglove.messages import CompressedImage

    ok, buf = cv2.imencode(".jpg", frame.image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoding of the camera frame failed.")
    return CompressedImage(timestamp=_stamp(frame.timestamp), frame_id=frame_id, data=buf.tobytes(), format="jpeg")


def mask_msg(seg: Segmentation, frame_id: str):
    """The label map as a colour PNG (object ``k`` in :func:`colour_for` ``(k)``, background black)."""
    import cv2
    from foxglove.messages import CompressedImage

    labels = seg.label_map()
    lut = np.zeros((256, 3), np.uint8)
    for oid in seg.object_ids:
        lut[int(oid)] = colour_for(int(oid))
    ok, buf = cv2.imencode(".png", lut[labels], [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise RuntimeError("PNG encoding of the mask failed.")
    return CompressedImage(timestamp=_stamp(seg.timestamp), frame_id=frame_id, data=buf.tobytes(), format="png")


def annotations_msg(seg: Segmentation, max_vertices: int = 200):
    """Per object: its outer outline(s) as ``LINE_LOOP`` polygons (simplified to at most
    ``max_vertices`` vertices each) and a text label ``"<id> <score>"`` at its box's top-left."""
    import cv2
    from foxglove.messages import (Color, ImageAnnotations, Point2, PointsAnnotation, PointsAnnotationType,
                                   TextAnnotation)

    ts = _stamp(seg.timestamp)
    polys, texts = [], []
    for mask, oid, score, lost in zip(seg.masks, seg.object_ids, seg.scores, seg.lost):
        if lost or not mask.any():
            continue
        contours, _ = cv2.findContours(mask.view(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        for c in contours:
            if len(c) < 3:
                continue
            eps = 0.5
            while len(c) > max_vertices:
                c = cv2.approxPolyDP(c, eps, True)
                eps *= 2
            # Foxglove's image origin is the top-left corner of the top-left pixel: pixel centres at +0.5
            pts = [Point2(x=float(x) + 0.5, y=float(y) + 0.5) for x, y in c.reshape(-1, 2)]
            polys.append(PointsAnnotation(timestamp=ts, type=PointsAnnotationType.LineLoop, points=pts,
                                          outline_color=_rgba(int(oid)), fill_color=_rgba(int(oid), 0.25),
                                          thickness=2.0))
        ys, xs = np.nonzero(mask.any(1))[0], np.nonzero(mask.any(0))[0]
        texts.append(TextAnnotation(timestamp=ts, position=Point2(x=float(xs[0]), y=float(max(ys[0] - 4, 12))),
                                    text=f"{int(oid)} {float(score):.2f}", font_size=14.0,
                                    text_color=Color(r=1, g=1, b=1, a=1), background_color=_rgba(int(oid), 0.7)))
    return ImageAnnotations(timestamp=ts, points=polys, texts=texts)


def calibration_msg(camera: Any, timestamp: float):
    from foxglove.messages import CameraCalibration

    k = camera.k.reshape(-1).tolist()
    p = [camera.fx, 0.0, camera.cx, 0.0, 0.0, camera.fy, camera.cy, 0.0, 0.0, 0.0, 1.0, 0.0]
    return CameraCalibration(timestamp=_stamp(timestamp), frame_id=camera.frame_id, width=camera.width,
                             height=camera.height, distortion_model="plumb_bob", D=[0.0] * 5, K=k,
                             R=[1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0], P=p)


def scene_msg(objs: Any):
    """:class:`~samstream.spatial.Objects3D` -> ``SceneUpdate``: delete all, then one entity
    ``object-<id>`` per object (a translucent box of the extent at the centroid and a label)."""
    from foxglove.messages import (CubePrimitive, Pose, Quaternion, SceneEntity, SceneEntityDeletion,
                                   SceneEntityDeletionType, SceneUpdate, TextPrimitive, Vector3)

    ts = _stamp(objs.timestamp)
    ident = Quaternion(x=0.0, y=0.0, z=0.0, w=1.0)
    entities = []
    for o in objs.objects:
        c, e = o.centroid, np.maximum(o.extent, 0.005)
        pose = Pose(position=Vector3(x=float(c[0]), y=float(c[1]), z=float(c[2])), orientation=ident)
        top = Pose(position=Vector3(x=float(c[0]), y=float(c[1] - e[1] / 2 - 0.03), z=float(c[2])), orientation=ident)
        entities.append(SceneEntity(
            timestamp=ts, frame_id=objs.frame_id, id=f"object-{o.obj_id}", frame_locked=True,
            cubes=[CubePrimitive(pose=pose, size=Vector3(x=float(e[0]), y=float(e[1]), z=float(e[2])),
                                 color=_rgba(o.obj_id, 0.35))],
            texts=[TextPrimitive(pose=top, billboard=True, font_size=14.0, scale_invariant=True,
                                 color=_rgba(o.obj_id), text=f"{o.obj_id}: {c[2]:.2f} m")]))
    return SceneUpdate(deletions=[SceneEntityDeletion(timestamp=ts, type=SceneEntityDeletionType.All)],
                       entities=entities)


def points_msg(objs: Any):
    """Every object's points as one ``PointCloud`` (``x, y, z`` float32 + ``red, green, blue, alpha``
    uint8, 16 bytes a point), coloured by object."""
    from foxglove.messages import PackedElementField, PackedElementFieldNumericType, PointCloud, Pose, Quaternion, Vector3

    pts, ids = objs.all_points()
    rec = np.zeros(len(pts), dtype=[("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("r", "u1"), ("g", "u1"),
                                    ("b", "u1"), ("a", "u1")])
    rec["x"], rec["y"], rec["z"] = pts[:, 0], pts[:, 1], pts[:, 2]
    lut = np.array([colour_for(i) if i else (0, 0, 0) for i in range(256)], np.uint8)  # BGR
    rec["b"], rec["g"], rec["r"], rec["a"] = lut[ids, 0], lut[ids, 1], lut[ids, 2], 255
    F32, U8 = PackedElementFieldNumericType.Float32, PackedElementFieldNumericType.Uint8
    fields = [PackedElementField(name=n, offset=o, type=t) for n, o, t in
              (("x", 0, F32), ("y", 4, F32), ("z", 8, F32), ("red", 12, U8), ("green", 13, U8), ("blue", 14, U8),
               ("alpha", 15, U8))]
    return PointCloud(timestamp=_stamp(objs.timestamp), frame_id=objs.frame_id,
                      pose=Pose(position=Vector3(), orientation=Quaternion(x=0.0, y=0.0, z=0.0, w=1.0)),
                      point_stride=16, fields=fields, data=rec.tobytes())


def foxglove_messages(frame: Frame, seg: Segmentation, objs: Any = None, camera: Any = None, *,
                      frame_id: str = "camera", keys: Optional[set] = None, quality: int = 80) -> dict[str, Any]:
    """The Foxglove messages of one result, by channel key (see the module table); ``keys`` limits
    which are built (``None``: all that apply; the 3-D ones only with ``objs``)."""
    want = set(FOXGLOVE_TOPICS) if keys is None else set(keys)
    out: dict[str, Any] = {}
    builders = {"image": lambda: image_msg(frame, frame_id, quality), "mask": lambda: mask_msg(seg, frame_id),
                "annotations": lambda: annotations_msg(seg)}
    if objs is not None:
        builders.update(scene=lambda: scene_msg(objs), points=lambda: points_msg(objs))
        if camera is not None:
            builders["calibration"] = lambda: calibration_msg(camera, objs.timestamp)
    for k, build in builders.items():
        if k in want:
            out[k] = build()
    return out


class FoxgloveSink:
    """A Foxglove WebSocket server fed by the pipeline (see the module docstring).

    Args:
        port: TCP port (default 8765; 0 = any free port, see ``.port``).
        host: bind address (default ``127.0.0.1``; ``0.0.0.0`` to reach it from other machines).
        frame_id: the images' frame of reference.
        prefix: topic prefix (default ``/samstream/foxglove``).
        jpeg_quality: of the ``image`` channel.
        threaded: encode/send in a worker thread (default); ``False`` inside ``write``.
    """

    def __init__(self, port: int = 8765, host: str = "127.0.0.1", frame_id: str = "camera",
                 prefix: str = DEFAULT_PREFIX, jpeg_quality: int = 80, threaded: bool = True) -> None:
        fg = require_foxglove()
        import foxglove.channels as ch

        if not 0 <= int(port) <= 65535:
            raise ValueError(f"--foxglove port must be 0..65535, got {port}.")
        self.frame_id, self.quality = str(frame_id), int(jpeg_quality)
        self.prefix = "/" + str(prefix).strip("/")
        self._ctx = fg.Context()
        kinds = {"foxglove.CompressedImage": ch.CompressedImageChannel, "foxglove.ImageAnnotations": ch.ImageAnnotationsChannel,
                 "foxglove.CameraCalibration": ch.CameraCalibrationChannel, "foxglove.SceneUpdate": ch.SceneUpdateChannel,
                 "foxglove.PointCloud": ch.PointCloudChannel}
        self.topics = {k: f"{self.prefix}/{k}" for k in FOXGLOVE_TOPICS}
        self._channels = {k: kinds[s](self.topics[k], context=self._ctx) for k, s in FOXGLOVE_TOPICS.items()}
        try:
            self.server = fg.start_server(name="samstream", host=str(host), port=int(port), context=self._ctx,
                                          message_backlog_size=64)
        except Exception as exc:
            raise RuntimeError(f"could not start the Foxglove server on {host}:{port} ({exc}): pick another "
                               "port (--foxglove 8766) or stop what uses it.") from exc
        self.port = int(self.server.port)
        self._worker = LatestWorker(self._send, name="samstream-foxglove", threaded=threaded)
        self._closed = False

    @property
    def url(self) -> str:
        """The Foxglove app link that opens this server."""
        return self.server.app_url() or f"ws://127.0.0.1:{self.port}"

    def write(self, frame: Frame, seg: Segmentation) -> None:
        self._worker.put(frame, seg, None)

    def write_3d(self, frame: Frame, seg: Segmentation, objs: Any) -> None:
        """A result with its 3-D objects (the pipeline calls this instead of ``write`` when depth matched)."""
        self._worker.put(frame, seg, objs)

    def _send(self, frame: Frame, seg: Segmentation, objs: Any) -> None:
        keys = {k for k, c in self._channels.items() if c.has_sinks()}
        if objs is None:
            keys -= {"scene", "points", "calibration"}
        for k, msg in foxglove_messages(frame, seg, objs, getattr(objs, "camera", None), frame_id=self.frame_id, keys=keys,
                                        quality=self.quality).items():
            self._channels[k].log(msg)

    def viewer_stats(self) -> ViewerStats:
        """Results sent / dropped (a slow client) / failed, and the server address."""
        w = self._worker
        return ViewerStats("foxglove", w.done, w.dropped, w.errors, w.last_error, f"ws://127.0.0.1:{self.port}")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._worker.close()
        self.server.stop()
