"""3-D from depth: camera intrinsics, depth decoding and matching, masks lifted to 3-D objects.

::

    from samstream.spatial import CameraInfo, DepthFrame, decode_depth, lift_objects

    cam = CameraInfo.from_k(K, 640, 480, "camera_color_optical_frame")
    depth = DepthFrame(decode_depth(depth_u16, "16UC1"), stamp, cam)
    objs = lift_objects(seg, depth)           # Objects3D: centroid/extent (m) per object id

Only numpy (and OpenCV for the erosion) are needed; ROS messages are built in
:mod:`samstream.ros2`, viewers in :mod:`samstream.sinks`. A ``Pipeline(..., depth=...)`` runs
this step per frame and hands the result to sinks that have ``write_3d(frame, seg, objects3d)``.
"""

from .camera import CameraInfo
from .depth import DEPTH_ENCODINGS, DepthFrame, DepthMatcher, DepthMatchStats, decode_depth
from .lift import LiftConfig, Object3D, Objects3D, lift_objects

__all__ = ["CameraInfo", "DEPTH_ENCODINGS", "DepthFrame", "DepthMatcher", "DepthMatchStats", "decode_depth",
           "LiftConfig", "Object3D", "Objects3D", "lift_objects"]
