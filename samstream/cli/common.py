"""Helpers shared by the ``samstream`` commands: argument types, model options, error lines,
reading an image, and the sinks of ``samstream run``. Heavy imports stay inside the functions."""

from __future__ import annotations

import argparse
from pathlib import Path

FMT = argparse.RawDescriptionHelpFormatter

#: The exceptions a command turns into one ``samstream CMD: error: ...`` line and exit code 2.
USER_ERRORS = (ValueError, FileNotFoundError, ImportError, ConnectionError, RuntimeError)


def format_error(command: str, exc: BaseException) -> str:
    """The one stderr line for a failed command, e.g. ``samstream run: error: ...``."""
    return f"samstream {command}: error: {exc}"


def _xy(text: str, n: int, what: str) -> list[float]:
    try:
        vals = [float(v) for v in text.replace(" ", "").split(",")]
    except ValueError:
        vals = []
    if len(vals) != n:
        form = "X,Y" if n == 2 else "X1,Y1,X2,Y2"
        raise argparse.ArgumentTypeError(f"{what} {text!r} must be {form} in pixels, e.g. --{what} {'320,240' if n == 2 else '100,80,300,260'}")
    return vals


def point(text: str) -> list[float]:
    """argparse type: ``X,Y`` in pixels -> ``[x, y]``."""
    return _xy(text, 2, "point")


def box(text: str) -> list[float]:
    """argparse type: ``X1,Y1,X2,Y2`` in pixels -> ``[x1, y1, x2, y2]``."""
    return _xy(text, 4, "box")


def add_model_args(p: argparse.ArgumentParser) -> None:
    """``--model`` and ``--precision``, the same for every command that loads a predictor."""
    p.add_argument("--model", "-m", default="classic",
                   help="classic (no weights, default), mobilesam, sam_vit_b, ...; append @random for a "
                        "random-init export (speed tests only). See `samstream models`.")
    p.add_argument("--precision", default="fp16", choices=("fp32", "fp16", "bf16", "int8"),
                   help="encoder precision for SAM models (default fp16; int8 needs `export --int8`).")


def add_encoder_arg(p: argparse.ArgumentParser) -> None:
    """``--encoder URL``: keyframes encoded on a KServe v2 model server (``samstream serve``, OVMS, Triton)."""
    p.add_argument("--encoder", metavar="URL", default=None,
                   help="encode keyframes on a model server instead of here: grpc://HOST:9000/NAME or "
                        "http://HOST:8000/NAME (samstream serve, OpenVINO Model Server, Triton; KServe v2). "
                        "--model must be the same export (its decoder runs here). Default: $SAMSTREAM_ENCODER. "
                        "If the server goes away, tracking continues by optical flow. See docs/scaling.md.")


def read_image(path: Path):
    """``uint8`` ``(H, W, 3)`` BGR image from ``path``; ``FileNotFoundError``/``ValueError`` naming the fix."""
    import cv2

    if not path.is_file():
        raise FileNotFoundError(f"image {path} does not exist: check the path.")
    try:
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    except cv2.error as exc:  # e.g. a header claiming more pixels than OpenCV's limit
        raise ValueError(f"{path} is not a readable image ({str(exc).strip().splitlines()[-1][-100:]}): "
                         "use a .jpg/.png/.bmp/.webp file of at most 1 gigapixel.") from None
    if img is None:
        raise ValueError(f"{path} is not a readable image: use a .jpg/.png/.bmp/.webp file.")
    return img


def has_gui() -> bool:
    """Whether this OpenCV build can open windows (``--show``)."""
    import cv2

    try:
        return "GUI" in cv2.getBuildInformation() and "NONE" not in cv2.getBuildInformation().split("GUI:")[1].split("\n")[0]
    except (IndexError, cv2.error):
        return False


def build_run_sinks(args):
    """The sinks of ``samstream run``: the video file (``--out``), the ROS 2 node and the MCAP recorder.

    Returns ``(sinks, bridge or None, source)``; ``source`` is ``args.source`` or, for
    ``--source ros2:/topic``, the bridge's image source. On error, whatever was opened is closed.
    """
    from ..sinks import VideoSink

    sinks: list = []
    if args.out:
        sinks.append(VideoSink(args.out))
    try:
        bridge, source = _ros2_sinks(args, sinks)
    except BaseException:
        close_all(sinks)
        raise
    return sinks, bridge, source


def close_all(objs) -> None:
    """``close()`` every object that has one."""
    for obj in objs:
        if hasattr(obj, "close"):
            obj.close()


def _ros2_sinks(args, sinks: list):
    """The ROS 2 node / MCAP recorder of `run`: appends them to ``sinks``; returns (bridge or None, source)."""
    source = args.source
    ros_source = isinstance(source, str) and source.strip().lower().startswith("ros2:")
    ros_opts = [o for o, v in (("--ros2-node", args.ros2_node), ("--ros2-namespace", args.ros2_namespace),
                               ("--ros2-qos", args.ros2_qos)) if v is not None]
    if ros_opts and not (args.ros2 or ros_source):
        raise ValueError(f"{', '.join(ros_opts)} only matter with --ros2 (or --source ros2:/topic): add --ros2.")
    if args.ros2_overlay and not (args.ros2 or args.record):
        raise ValueError("--ros2-overlay publishes/records the overlay topic: add --ros2 and/or --record FILE.mcap.")
    namespace = args.ros2_namespace if args.ros2_namespace is not None else "/samstream"
    bridge = None
    if args.ros2 or ros_source:
        from ..ros2.sink import Ros2Sink

        bridge = Ros2Sink(args.ros2_node or "samstream", namespace, qos=args.ros2_qos or "default",
                          overlay=args.ros2_overlay, publish=args.ros2)
        if ros_source:
            try:
                source = bridge.image_source(source.strip()[len("ros2:"):])
            except BaseException:
                bridge.close()
                raise
        sinks.append(bridge)  # publishes (with --ros2) and tells prompts the latest frame size
    if args.record:
        from ..sinks.mcap import McapSink

        try:
            sinks.append(McapSink(args.record, namespace=namespace, overlay=args.ros2_overlay,
                                  header_fn=bridge.header_for if bridge is not None else None))
        except BaseException:
            if bridge is not None:
                bridge.close()
            raise
    return bridge, source

