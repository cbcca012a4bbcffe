"""ROS 2 message definitions of the topics samstream publishes, as text (for MCAP schemas).

MCAP's ``ros2msg`` schema encoding is the top-level ``.msg`` text followed by each type it uses,
separated by a line of 80 ``=`` and a ``MSG: pkg/Type`` line (what ``ros2 bag record`` writes).
Field lists are those of ROS 2 (sensor_msgs / std_msgs / geometry_msgs 5.x, vision_msgs 4.x);
``tests/ros2`` checks them against the installed packages' ``.msg`` files and this repo's
``ros2_interfaces/vision_msgs``. No rclpy is needed.
"""

from __future__ import annotations

__all__ = ["DEFINITIONS", "concatenated", "TOPIC_TYPES"]

DEFINITIONS: dict[str, str] = {
    "builtin_interfaces/Time": "int32 sec\nuint32 nanosec\n",
    "std_msgs/Header": "builtin_interfaces/Time stamp\nstring frame_id\n",
    "sensor_msgs/Image": (
        "std_msgs/Header header\nuint32 height\nuint32 width\nstring encoding\nuint8 is_bigendian\n"
        "uint32 step\nuint8[] data\n"),
    "sensor_msgs/CompressedImage": "std_msgs/Header header\nstring format\nuint8[] data\n",
    "geometry_msgs/Point": "float64 x\nfloat64 y\nfloat64 z\n",
    "geometry_msgs/Quaternion": "float64 x 0\nfloat64 y 0\nfloat64 z 0\nfloat64 w 1\n",
    "geometry_msgs/Pose": "geometry_msgs/Point position\ngeometry_msgs/Quaternion orientation\n",
    "geometry_msgs/PoseWithCovariance": "geometry_msgs/Pose pose\nfloat64[36] covariance\n",
    "vision_msgs/Point2D": "float64 x\nfloat64 y\n",
    "vision_msgs/Pose2D": "vision_msgs/Point2D position\nfloat64 theta\n",
    "vision_msgs/BoundingBox2D": "vision_msgs/Pose2D center\nfloat64 size_x\nfloat64 size_y\n",
    "vision_msgs/ObjectHypothesis": "string class_id\nfloat64 score\n",
    "vision_msgs/ObjectHypothesisWithPose": (
        "vision_msgs/ObjectHypothesis hypothesis\ngeometry_msgs/PoseWithCovariance pose\n"),
    "vision_msgs/Detection2D": (
        "std_msgs/Header header\nvision_msgs/ObjectHypothesisWithPose[] results\n"
        "vision_msgs/BoundingBox2D bbox\nstring id\n"),
    "vision_msgs/Detection2DArray": "std_msgs/Header header\nvision_msgs/Detection2D[] detections\n",
    "geometry_msgs/Vector3": "float64 x\nfloat64 y\nfloat64 z\n",
    "vision_msgs/BoundingBox3D": "geometry_msgs/Pose center\ngeometry_msgs/Vector3 size\n",
    "vision_msgs/Detection3D": (
        "std_msgs/Header header\nvision_msgs/ObjectHypothesisWithPose[] results\n"
        "vision_msgs/BoundingBox3D bbox\nstring id\n"),
    "vision_msgs/Detection3DArray": "std_msgs/Header header\nvision_msgs/Detection3D[] detections\n",
}

#: the ROS type of each topic samstream publishes (relative to its namespace)
TOPIC_TYPES = {
    "mask": "sensor_msgs/msg/Image",
    "mask/compressed": "sensor_msgs/msg/CompressedImage",
    "detections": "vision_msgs/msg/Detection2DArray",
    "overlay": "sensor_msgs/msg/Image",
    "objects": "vision_msgs/msg/Detection3DArray",  # recorded only for results with depth (3-D)
}

_PRIMITIVES = {"bool", "byte", "char", "float32", "float64", "int8", "uint8", "int16", "uint16", "int32",
               "uint32", "int64", "uint64", "string", "wstring"}


def _deps(name: str, seen: list[str]) -> None:
    for line in DEFINITIONS[name].splitlines():
        t = line.split()[0].split("[")[0] if line.strip() else ""
        if t and t not in _PRIMITIVES and t not in seen:
            seen.append(t)
            _deps(t, seen)


def concatenated(datatype: str) -> str:
    """The ``ros2msg`` schema text of ``datatype`` (``"sensor_msgs/msg/Image"`` or ``"sensor_msgs/Image"``)."""
    name = datatype.replace("/msg/", "/")
    if name not in DEFINITIONS:
        raise KeyError(f"no definition for {datatype!r}; known: {sorted(DEFINITIONS)}")
    deps: list[str] = []
    _deps(name, deps)
    parts = [DEFINITIONS[name]]
    for d in deps:
        parts.append("=" * 80 + f"\nMSG: {d}\n" + DEFINITIONS[d])
    return "".join(parts)
