"""ROS 2 for samstream: masks and detections as topics, camera topics and prompts in.

Nothing here imports rclpy at ``import samstream.ros2`` time: :mod:`.conversions`, :mod:`.msgdefs`
and :mod:`.qos` are numpy-only (the MCAP recorder uses them without any ROS install), and the
rclpy parts import it when they are used, through :func:`require_rclpy`
(:mod:`.runtime`), which fails with **one** clear error naming both ways to get ROS 2.

Modules (dependencies point one way, down this list; none imports back up):

* :mod:`.sink` -- :class:`Ros2Sink`, the publisher (a pipeline sink);
* :mod:`.control` -- :class:`Ros2Control`, prompts/clicks/clear/remove -> Pipeline methods;
* :mod:`.source` -- :class:`Ros2ImageSource`, the ``ros2:/topic`` source (registered with
  :func:`samstream.sources.open_source` through the ``samstream.sources`` entry point);
* :mod:`.runtime` -- the lazy rclpy import, :class:`Ros2Runtime` (node, context, spin thread);
* :mod:`.conversions`, :mod:`.qos`, :mod:`.msgdefs` -- no rclpy.

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

from typing import Any

from .runtime import (
    ROS2_HELP,
    VISION_MSGS_HELP,
    Ros2NotFoundError,
    require_rclpy,
    ros2_info,
    vision_msgs_available,
)

__all__ = [
    "Ros2NotFoundError",
    "require_rclpy",
    "ros2_info",
    "vision_msgs_available",
    "Ros2Runtime",
    "Ros2Sink",
    "Ros2SinkStats",
    "Ros2Control",
    "Ros2ControlStats",
    "Ros2ImageSource",
    "QosSpec",
    "parse_qos",
    "BadMessage",
    "ROS2_HELP",
    "VISION_MSGS_HELP",
]

_LAZY = {
    "Ros2Runtime": ".runtime",
    "Ros2Sink": ".sink",
    "Ros2SinkStats": ".sink",
    "Ros2Control": ".control",
    "Ros2ControlStats": ".control",
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
