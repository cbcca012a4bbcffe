"""Pinhole camera intrinsics: :class:`CameraInfo` (what ``sensor_msgs/CameraInfo`` carries).

Coordinate frame: the camera **optical** frame (REP 103 ``*_optical_frame``): ``x`` right, ``y`` down,
``z`` forward along the optical axis, metres. A pixel ``(u, v)`` (column, row, origin top-left,
pixel centres at integers) at depth ``z`` lifts to ``((u - cx) * z / fx, (v - cy) * z / fy, z)``.
The depth image must be aligned to (registered with) the colour image and rectified, so the
colour camera's intrinsics apply to it; lens distortion is not modelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

__all__ = ["CameraInfo"]


@dataclass(frozen=True)
class CameraInfo:
    """Intrinsics of the (colour-aligned) depth camera.

    Attributes:
        width, height: image size in pixels.
        fx, fy: focal lengths in pixels; cx, cy: principal point in pixels.
        frame_id: the optical frame the 3-D results are expressed in (``header.frame_id``).
    """

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    frame_id: str = "camera_optical_frame"

    def __post_init__(self) -> None:
        if int(self.width) < 1 or int(self.height) < 1:
            raise ValueError(f"CameraInfo size must be positive, got {self.width}x{self.height}.")
        vals = (self.fx, self.fy, self.cx, self.cy)
        if not all(np.isfinite(v) for v in vals):
            raise ValueError(f"CameraInfo fx, fy, cx, cy must be finite, got {vals}.")
        if self.fx <= 0 or self.fy <= 0:
            raise ValueError(f"CameraInfo focal lengths must be > 0 pixels, got fx={self.fx}, fy={self.fy}: "
                             "an uncalibrated camera publishes K = 0; calibrate it (camera_calibration) first.")
        for name in ("fx", "fy", "cx", "cy"):
            object.__setattr__(self, name, float(getattr(self, name)))
        object.__setattr__(self, "width", int(self.width))
        object.__setattr__(self, "height", int(self.height))

    @classmethod
    def from_k(cls, k: Sequence[float], width: int, height: int, frame_id: str = "camera_optical_frame") -> "CameraInfo":
        """From a row-major 3x3 camera matrix ``K`` (9 numbers: ``fx 0 cx 0 fy cy 0 0 1``)."""
        k = np.asarray(k, dtype=np.float64).reshape(-1)
        if k.size != 9:
            raise ValueError(f"K must have 9 values (row-major 3x3), got {k.size}.")
        return cls(width, height, float(k[0]), float(k[4]), float(k[2]), float(k[5]), frame_id)

    @classmethod
    def from_fov(cls, width: int, height: int, hfov_deg: float = 60.0,
                 frame_id: str = "camera_optical_frame") -> "CameraInfo":
        """Square pixels, principal point at the image centre, horizontal field of view ``hfov_deg``."""
        if not 1.0 < float(hfov_deg) < 179.0:
            raise ValueError(f"hfov_deg must be in (1, 179) degrees, got {hfov_deg}.")
        f = 0.5 * width / np.tan(np.radians(hfov_deg) / 2)
        return cls(width, height, f, f, (width - 1) / 2.0, (height - 1) / 2.0, frame_id)

    @classmethod
    def from_msg(cls, msg: Any) -> "CameraInfo":
        """From a ``sensor_msgs/CameraInfo`` message (or anything with ``k``, ``width``, ``height``,
        ``header.frame_id``)."""
        return cls.from_k(list(msg.k), int(msg.width), int(msg.height), str(msg.header.frame_id) or "camera_optical_frame")

    @property
    def k(self) -> np.ndarray:
        """The ``(3, 3)`` float64 camera matrix."""
        return np.array([[self.fx, 0, self.cx], [0, self.fy, self.cy], [0, 0, 1]], dtype=np.float64)

    def scaled(self, width: int, height: int) -> "CameraInfo":
        """The same camera for an image resized to ``width`` x ``height``."""
        sx, sy = width / self.width, height / self.height
        return CameraInfo(width, height, self.fx * sx, self.fy * sy, (self.cx + 0.5) * sx - 0.5,
                          (self.cy + 0.5) * sy - 0.5, self.frame_id)

    def project(self, xyz: np.ndarray) -> np.ndarray:
        """``(N, 3)`` optical-frame points (metres, ``z > 0``) -> ``(N, 2)`` pixel ``(u, v)``."""
        p = np.asarray(xyz, dtype=np.float64).reshape(-1, 3)
        return np.stack([p[:, 0] * self.fx / p[:, 2] + self.cx, p[:, 1] * self.fy / p[:, 2] + self.cy], 1)
