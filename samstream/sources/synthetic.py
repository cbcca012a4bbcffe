"""Deterministic synthetic scenes: textured objects moving over a textured background.

Each rendered frame comes with its ground-truth label map (0 background, k = object id), so
tests, demos and benchmarks have a camera and an answer key on a machine with neither.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["SyntheticScene"]


@dataclass
class _Obj:
    oid: int
    kind: str  # "ellipse" | "rect" | "poly"
    size: tuple[float, float]
    colour: np.ndarray
    texture: np.ndarray  # (th, tw, 3) uint8 tile
    path: np.ndarray  # (4,) amplitude x, amplitude y, freq x, freq y
    phase: np.ndarray  # (2,)
    centre: tuple[float, float]
    poly: np.ndarray  # (K, 2) unit polygon for "poly"


class SyntheticScene:
    """``render(t)`` -> ``(image uint8 (H, W, 3) BGR, labels uint8 (H, W))``, deterministic in ``seed``.

    Objects move smoothly (Lissajous paths, ~1-4 px per frame at 640x480), rotate slowly and
    overlap; object ``k`` has label ``k`` (1-based, later objects drawn on top).
    """

    def __init__(self, width: int = 640, height: int = 480, num_objects: int = 3, seed: int = 0,
                 speed: float = 1.0):
        if width < 32 or height < 32:
            raise ValueError(f"synthetic scene must be at least 32x32, got {width}x{height}.")
        if not 1 <= num_objects <= 16:
            raise ValueError(f"num_objects must be 1..16, got {num_objects}.")
        self.width, self.height, self.speed = int(width), int(height), float(speed)
        rng = np.random.default_rng(seed)
        self._background = self._backdrop(rng, height, width)
        self.objects: list[_Obj] = []
        kinds = ("ellipse", "rect", "poly")
        for k in range(num_objects):
            s = min(width, height)
            size = (rng.uniform(0.10, 0.18) * s, rng.uniform(0.10, 0.18) * s)
            colour = rng.integers(0, 256, 3)
            # keep object colours away from the background mean so the scene is segmentable
            colour = np.where(np.abs(colour - self._background.mean((0, 1))) < 60, (colour + 128) % 256, colour)
            ang = np.sort(rng.uniform(0, 2 * np.pi, 7))
            poly = np.stack([np.cos(ang), np.sin(ang)], 1) * rng.uniform(0.7, 1.0, (7, 1))
            self.objects.append(
                _Obj(
                    oid=k + 1,
                    kind=kinds[k % 3],
                    size=size,
                    colour=colour,
                    texture=self._pattern(rng, 256, colour),
                    path=np.array([rng.uniform(0.15, 0.3) * width, rng.uniform(0.15, 0.3) * height,
                                   rng.uniform(0.004, 0.012), rng.uniform(0.004, 0.012)]),
                    phase=rng.uniform(0, 2 * np.pi, 2),
                    centre=(rng.uniform(0.3, 0.7) * width, rng.uniform(0.3, 0.7) * height),
                    poly=poly,
                )
            )

    @staticmethod
    def _backdrop(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
        """A muted room-like background: large soft colour blobs plus mild grain."""
        base = rng.integers(90, 150, 3).astype(np.float32)
        blobs = rng.normal(0, 1, (max(2, h // 48), max(2, w // 48), 3)).astype(np.float32)
        blobs = cv2.resize(blobs, (w, h), interpolation=cv2.INTER_CUBIC)
        mid = cv2.resize(rng.normal(0, 1, (max(2, h // 10), max(2, w // 10), 1)).astype(np.float32), (w, h),
                         interpolation=cv2.INTER_CUBIC)[..., None]
        grain = rng.normal(0, 1, (h, w, 1)).astype(np.float32)
        img = base[None, None] + 28 * blobs + 14 * mid + 5 * grain
        return np.clip(img, 0, 255).astype(np.uint8)

    @staticmethod
    def _pattern(rng: np.random.Generator, side: int, colour) -> np.ndarray:
        """A textured tile in ``colour`` (larger than any object, so no repeat shows): two
        sinusoid gratings, blotches and grain — structure optical flow can lock on to."""
        y, x = np.mgrid[0:side, 0:side].astype(np.float32) * (2 * np.pi / side)
        k1, k2 = rng.integers(4, 9, 2), rng.integers(10, 18, 2)
        pat = np.sin(k1[0] * x + k1[1] * y) + 0.5 * np.sin(k2[0] * x - k2[1] * y + rng.uniform(0, 6))
        blot = cv2.resize(rng.normal(0, 1, (side // 12, side // 12)).astype(np.float32), (side, side),
                          interpolation=cv2.INTER_CUBIC)
        img = np.asarray(colour, np.float32)[None, None] * (0.75 + 0.12 * pat[..., None] + 0.1 * blot[..., None])
        img += rng.normal(0, 5, (side, side, 1)).astype(np.float32)
        return np.clip(img, 0, 255).astype(np.uint8)

    def object_ids(self) -> list[int]:
        return [o.oid for o in self.objects]

    def _pose(self, o: _Obj, t: float) -> tuple[float, float, float]:
        tt = t * self.speed
        cx = o.centre[0] + o.path[0] * np.sin(o.path[2] * 2 * np.pi * tt + o.phase[0])
        cy = o.centre[1] + o.path[1] * np.sin(o.path[3] * 2 * np.pi * tt + o.phase[1])
        return float(cx), float(cy), float(0.01 * tt + o.phase[0])

    def _shape_mask(self, o: _Obj, t: float) -> np.ndarray:
        cx, cy, rot = self._pose(o, t)
        mask = np.zeros((self.height, self.width), np.uint8)
        a, b = o.size
        if o.kind == "ellipse":
            cv2.ellipse(mask, (int(round(cx)), int(round(cy))), (int(a), int(b)), float(np.degrees(rot)), 0, 360, 1, -1)
        else:
            if o.kind == "rect":
                pts = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], np.float64) * [a, b]
            else:
                pts = o.poly * [a * 1.2, b * 1.2]
            c, s = np.cos(rot), np.sin(rot)
            pts = pts @ np.array([[c, s], [-s, c]]) + [cx, cy]
            cv2.fillPoly(mask, [np.round(pts).astype(np.int32)], 1)
        return mask.astype(bool)

    # ---------------------------------------------------------------- depth (RGB-D)
    #: horizontal field of view of the synthetic camera (degrees); see :meth:`camera`.
    HFOV_DEG = 60.0

    def object_distance(self, oid: int) -> float:
        """Distance (metres, along the optical axis) of object ``oid``'s centre: later objects,
        drawn on top, are nearer (1.85, 1.5, 1.15 m for three objects)."""
        n = len(self.objects)
        return 2.2 - 1.4 * oid / (n + 1)

    def camera(self, frame_id: str = "synthetic_optical_frame"):
        """The synthetic camera's intrinsics (:class:`~samstream.spatial.CameraInfo`): square pixels,
        principal point at the centre, ``HFOV_DEG`` horizontal field of view."""
        from ..spatial.camera import CameraInfo

        return CameraInfo.from_fov(self.width, self.height, self.HFOV_DEG, frame_id)

    def depth_from_labels(self, labels: np.ndarray, t: float) -> np.ndarray:
        """The aligned depth image (``float32`` ``(H, W)`` metres, no invalid pixels) of the frame at
        time ``t`` whose label map is ``labels``: the background is a plane receding upwards
        (3.5 m at the bottom row to 4.5 m at the top); object ``k`` is a plane at
        :meth:`object_distance` ``(k)`` tilted by 0.1 m from its top to its bottom."""
        h, w = self.height, self.width
        v = np.arange(h, dtype=np.float32)[:, None]
        depth = np.broadcast_to(3.5 + (h - 1 - v) / h, (h, w)).astype(np.float32)
        for o in self.objects:
            m = labels == o.oid
            if not m.any():
                continue
            _, cy, _ = self._pose(o, t)
            rows = np.broadcast_to(v, (h, w))[m]
            depth[m] = self.object_distance(o.oid) + 0.1 * (rows - cy) / (2 * max(o.size))
        return depth

    def render(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """The frame at time ``t`` (in frames) and its label map."""
        img = self._background.copy()
        labels = np.zeros((self.height, self.width), np.uint8)
        for o in self.objects:
            m = self._shape_mask(o, t)
            if not m.any():
                continue
            th, tw = o.texture.shape[:2]
            cx, cy, _ = self._pose(o, t)  # the texture moves with the object (optical flow sees it)
            reps = (self.height // th + 2, self.width // tw + 2, 1)
            ox, oy = int(round(cx)) % tw, int(round(cy)) % th
            tex = np.tile(o.texture, reps)[th - oy: th - oy + self.height, tw - ox: tw - ox + self.width]
            img[m] = tex[m]
            labels[m] = o.oid
        return img, labels
