"""Lift 2-D masks to 3-D: robust centroid, extent and (optionally) a bounded point cloud per object.

For each object of a :class:`~samstream.types.Segmentation`, with a colour-aligned
:class:`~samstream.spatial.depth.DepthFrame`:

1. the mask is **eroded** by ``erode_px`` (mask edges are where a segmentation spills onto the
   background and where depth sensors mix foreground and background), falling back to the
   un-eroded mask when erosion leaves fewer than ``min_points`` pixels;
2. invalid depth (``NaN``: zeros, holes) and readings outside ``[min_depth_m, max_depth_m]`` are
   dropped;
3. depth **outliers** are rejected with the median and the MAD: a pixel is kept when
   ``|z - median| <= mad_k * max(1.4826 * MAD, min_sigma_m)`` (background leaking through the
   mask lies metres away and is rejected; the object's own relief is kept);
4. the kept pixels are back-projected (:mod:`samstream.spatial.camera`); the **centroid** is their
   mean and the **extent** the ``extent_percentile`` .. ``100 - extent_percentile`` range on each
   axis (a box in the optical frame, axis-aligned);
5. with ``points > 0`` a point cloud of at most ``points`` points is kept (a regular subsample).

Everything is in the camera optical frame (``x`` right, ``y`` down, ``z`` forward), metres.
An object with too few valid points gets no 3-D result (it is absent, not guessed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from ..types import Segmentation
from .camera import CameraInfo
from .depth import DepthFrame

__all__ = ["LiftConfig", "Object3D", "Objects3D", "lift_objects"]


@dataclass(frozen=True)
class LiftConfig:
    """Settings of :func:`lift_objects` (see the module docstring for the steps).

    Attributes:
        erode_px: mask erosion radius in pixels (0 = none).
        mad_k: outlier threshold in robust standard deviations.
        min_sigma_m: floor of the robust standard deviation (metres), so a flat object's zero MAD
            does not reject its own sensor noise.
        min_depth_m, max_depth_m: valid depth range (metres).
        min_points: fewest valid points for a 3-D result.
        extent_percentile: the extent spans this percentile to ``100 -`` it (robust to stray points).
        points: point-cloud size per object (0 = no point cloud); a regular subsample of the inliers.
    """

    erode_px: int = 3
    mad_k: float = 3.0
    min_sigma_m: float = 0.01
    min_depth_m: float = 0.05
    max_depth_m: float = 20.0
    min_points: int = 20
    extent_percentile: float = 2.0
    points: int = 2000

    def __post_init__(self) -> None:
        if self.erode_px < 0 or self.points < 0 or self.min_points < 1:
            raise ValueError("LiftConfig: erode_px and points must be >= 0, min_points >= 1.")
        if not 0 < self.min_depth_m < self.max_depth_m:
            raise ValueError(f"LiftConfig: need 0 < min_depth_m < max_depth_m, got {self.min_depth_m}, {self.max_depth_m}.")
        if self.mad_k <= 0 or self.min_sigma_m < 0:
            raise ValueError("LiftConfig: mad_k must be > 0 and min_sigma_m >= 0.")
        if not 0 <= self.extent_percentile < 50:
            raise ValueError("LiftConfig: extent_percentile must be in [0, 50).")


@dataclass(frozen=True)
class Object3D:
    """One object in 3-D (camera optical frame, metres).

    Attributes:
        obj_id: the object id (same as the 2-D detection's).
        score: the 2-D score.
        centroid: ``(3,)`` float64 ``x, y, z``.
        extent: ``(3,)`` float64 size along ``x, y, z`` (an axis-aligned box around ``centroid``).
        inliers: valid depth points used; mask_pixels: pixels of the (eroded) mask.
        points: ``(M, 3)`` float32 point cloud (``M <= LiftConfig.points``), or ``None``.
    """

    obj_id: int
    score: float
    centroid: np.ndarray
    extent: np.ndarray
    inliers: int
    mask_pixels: int
    points: Optional[np.ndarray] = None

    @property
    def valid_fraction(self) -> float:
        """Inliers / mask pixels (how much of the mask had usable depth)."""
        return self.inliers / self.mask_pixels if self.mask_pixels else 0.0


@dataclass(frozen=True)
class Objects3D:
    """The 3-D result of one frame.

    Attributes:
        frame_index, timestamp: the colour frame these belong to (its capture time, seconds).
        depth_timestamp: the matched depth image's stamp.
        frame_id: the optical frame (from the :class:`~samstream.spatial.camera.CameraInfo`).
        objects: one :class:`Object3D` per object that had enough valid depth.
        camera: the depth camera's :class:`~samstream.spatial.camera.CameraInfo`.
    """

    frame_index: int
    timestamp: float
    depth_timestamp: float
    frame_id: str
    objects: tuple[Object3D, ...] = field(default_factory=tuple)
    camera: Optional[CameraInfo] = None

    def __len__(self) -> int:
        return len(self.objects)

    @property
    def ids(self) -> list[int]:
        return [o.obj_id for o in self.objects]

    def get(self, obj_id: int) -> Optional[Object3D]:
        return next((o for o in self.objects if o.obj_id == obj_id), None)

    def all_points(self) -> tuple[np.ndarray, np.ndarray]:
        """Every object's point cloud stacked: ``(M, 3)`` float32 points, ``(M,)`` int32 object ids."""
        pts = [o.points for o in self.objects if o.points is not None and len(o.points)]
        ids = [np.full(len(o.points), o.obj_id, np.int32) for o in self.objects if o.points is not None and len(o.points)]
        if not pts:
            return np.zeros((0, 3), np.float32), np.zeros(0, np.int32)
        return np.concatenate(pts).astype(np.float32), np.concatenate(ids)


_KERNELS: dict[int, np.ndarray] = {}


def _erode(mask: np.ndarray, r: int) -> np.ndarray:
    import cv2

    k = _KERNELS.get(r)
    if k is None:
        k = _KERNELS[r] = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    return cv2.erode(mask.view(np.uint8), k).view(bool)


def _lift_one(mask: np.ndarray, depth: np.ndarray, cam, cfg: LiftConfig):
    import cv2

    bx, by, bw, bh = cv2.boundingRect(np.ascontiguousarray(mask).view(np.uint8))
    if bw == 0 or bh == 0:
        return None
    y0, y1, x0, x1 = by, by + bh, bx, bx + bw
    pad = cfg.erode_px + 1
    y0, x0 = max(0, y0 - pad), max(0, x0 - pad)
    y1, x1 = min(mask.shape[0], y1 + pad), min(mask.shape[1], x1 + pad)
    sub = np.ascontiguousarray(mask[y0:y1, x0:x1])
    if cfg.erode_px:
        er = _erode(sub, cfg.erode_px)
        if np.count_nonzero(er) >= cfg.min_points:
            sub = er
    vs, us = np.nonzero(sub)
    z = depth[y0:y1, x0:x1][vs, us]
    ok = np.isfinite(z) & (z >= cfg.min_depth_m) & (z <= cfg.max_depth_m)
    if np.count_nonzero(ok) < cfg.min_points:
        return None
    z, us, vs = z[ok], us[ok], vs[ok]
    med = float(np.median(z))
    sigma = max(1.4826 * float(np.median(np.abs(z - med))), cfg.min_sigma_m)
    keep = np.abs(z - med) <= cfg.mad_k * sigma
    if np.count_nonzero(keep) < cfg.min_points:
        return None
    z = z[keep].astype(np.float64)
    u = us[keep].astype(np.float64) + x0
    v = vs[keep].astype(np.float64) + y0
    xyz = np.stack([(u - cam.cx) * z / cam.fx, (v - cam.cy) * z / cam.fy, z], 1)
    return xyz, int(np.count_nonzero(sub))


def lift_objects(seg: Segmentation, depth: DepthFrame, config: Optional[LiftConfig] = None) -> Objects3D:
    """3-D centroid, extent and point cloud of every (non-lost) object of ``seg``.

    Args:
        seg: the 2-D result; its masks must have the depth image's size.
        depth: the colour-aligned depth image matched to ``seg``'s frame.
        config: :class:`LiftConfig` (defaults when ``None``).

    Returns :class:`Objects3D` (objects without enough valid depth are left out).
    """
    cfg = config or LiftConfig()
    cam = depth.camera
    h, w = seg.image_size
    if (h, w) != depth.depth.shape:
        raise ValueError(f"masks are {w}x{h} but the depth image is {depth.depth.shape[1]}x{depth.depth.shape[0]}: "
                         "use a depth image aligned to the colour image (e.g. RealSense align_depth:=true).")
    out = []
    for mask, oid, score, lost in zip(seg.masks, seg.object_ids, seg.scores, seg.lost):
        if lost:
            continue
        r = _lift_one(mask, depth.depth, cam, cfg)
        if r is None:
            continue
        xyz, npix = r
        lo, hi = np.percentile(xyz, [cfg.extent_percentile, 100 - cfg.extent_percentile], axis=0)
        pts = None
        if cfg.points:
            step = max(1, int(np.ceil(len(xyz) / cfg.points)))
            pts = xyz[::step][: cfg.points].astype(np.float32)
        out.append(Object3D(int(oid), float(score), xyz.mean(0), np.maximum(hi - lo, 0.0), int(len(xyz)), npix, pts))
    return Objects3D(seg.frame_index, seg.timestamp, depth.timestamp, cam.frame_id, tuple(out), cam)
