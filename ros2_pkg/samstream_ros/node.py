"""The ``samstream_node`` executable: samstream's Pipeline as a ROS 2 node.

All the ROS work is samstream's own (:class:`samstream.ros2.sink.Ros2Sink` publishes and, with
:class:`samstream.ros2.control.Ros2Control`, takes prompts; :class:`samstream.ros2.source.Ros2ImageSource`
reads the camera topic); this file only
declares the node's parameters (with descriptions), builds the pipeline from them and runs it
until shutdown (SIGINT/SIGTERM, as ``ros2 launch`` sends them, end it cleanly).

    ros2 run samstream_ros samstream_node --ros-args -p image_topic:=/camera/image_raw
    ros2 launch samstream_ros samstream.launch.py image_topic:=/camera/image_raw
"""

from __future__ import annotations

import signal
import sys
from typing import Any, Optional, Sequence

#: name -> (default, description). The type of each parameter is its default's.
PARAMETERS: dict[str, tuple[Any, str]] = {
    "image_topic": ("", "ROS image topic to segment (sensor_msgs/Image; a topic ending in /compressed: "
                        "CompressedImage). Empty: use `source`."),
    "source": ("synthetic", "samstream source spec when image_topic is empty: synthetic, a camera index, "
                            "a video file, an image folder or a stream URL."),
    "image_qos": ("sensor", "QoS of the image subscription: sensor (best effort; receives from any "
                            "publisher), default, reliable; optionally :DEPTH."),
    "model": ("classic", "classic (no weights) or an exported SAM model (mobilesam, sam_vit_b, ...; "
                         "`samstream export NAME` first)."),
    "precision": ("fp16", "SAM encoder precision: fp32, fp16, bf16 or int8."),
    "encoder": ("", "model-server URL that encodes the keyframes (grpc://HOST:9000/NAME or http://HOST:8000/NAME; "
                    "samstream serve, OpenVINO Model Server, Triton). `model` is the same export (its decoder "
                    "runs here). Empty: encode on this machine."),
    "prompts": ("", "first-frame prompts separated by ';': box:X1,Y1,X2,Y2@ID, point:X,Y@ID, neg:X,Y@ID (pixels)."),
    "auto_objects": (3, "with no prompts: track this many of the largest objects found on the first frame "
                        "(0: none, wait for prompts on the prompts topic)."),
    "mask_topic": ("mask", "label map topic (sensor_msgs/Image mono8: 0 background, k = object id)."),
    "mask_compressed_topic": ("mask/compressed", "PNG label map topic (sensor_msgs/CompressedImage)."),
    "detections_topic": ("detections", "vision_msgs/Detection2DArray topic (bbox, id, score per object)."),
    "overlay_topic": ("overlay", "bgr8 overlay topic (published when publish_overlay is true)."),
    "publish_overlay": (False, "publish the overlay topic (frames with coloured masks)."),
    "qos": ("default", "publisher QoS: default (reliable, depth 5; reaches reliable and best-effort "
                       "subscribers), reliable, sensor (best effort), transient_local; optionally :DEPTH."),
    "frame_id": ("camera", "header.frame_id of results when frames do not come from a ROS topic."),
    "prompts_topic": ("prompts", "vision_msgs/Detection2DArray boxes in: id = object id (empty: new object)."),
    "clear_topic": ("clear", "std_msgs/Empty in: forget every object."),
    "remove_topic": ("remove", "std_msgs/Int32 in: stop tracking that object id."),
    "depth_topic": ("", "colour-aligned depth image (sensor_msgs/Image 16UC1 mm or 32FC1 m), e.g. "
                        "/camera/aligned_depth_to_color/image_raw; publishes objects and objects/points. Empty: 2-D only."),
    "camera_info_topic": ("", "sensor_msgs/CameraInfo of the depth image (empty: camera_info next to depth_topic)."),
    "depth_tolerance": (0.02, "largest colour/depth stamp difference matched, seconds; frames without a match get no 3-D."),
    "synthetic_depth": (False, "with source synthetic: lift the masks to 3-D with its known depth (a demo without a camera)."),
    "objects_topic": ("objects", "vision_msgs/Detection3DArray topic (centroid, extent per object; camera optical frame)."),
    "objects_points_topic": ("objects/points", "sensor_msgs/PointCloud2 topic of the object points (x, y, z, id)."),
    "max_points": (20000, "points in objects/points at most (0: no point cloud)."),
    "record": ("", "also record the published topics into this .mcap file (empty: no recording)."),
    "max_frames": (0, "stop after this many frames (0: run until shut down)."),
}


def declare_parameters(node: Any) -> dict[str, Any]:
    """Declare every parameter with its description on ``node``; return their values."""
    from rcl_interfaces.msg import ParameterDescriptor

    values = {}
    for name, (default, text) in PARAMETERS.items():
        node.declare_parameter(name, default, ParameterDescriptor(name=name, description=text))
        values[name] = node.get_parameter(name).value
    return values


def build(node: Any, p: dict[str, Any]) -> tuple[Any, Any]:
    """The (pipeline, sink) for parameter values ``p`` on ``node``."""
    from samstream.pipeline import Pipeline
    from samstream.ros2.sink import Ros2Sink

    topics = {"mask": p["mask_topic"], "mask_compressed": p["mask_compressed_topic"],
              "detections": p["detections_topic"], "overlay": p["overlay_topic"], "prompts": p["prompts_topic"],
              "clear": p["clear_topic"], "remove": p["remove_topic"], "objects": p["objects_topic"],
              "objects_points": p["objects_points_topic"]}
    sink = Ros2Sink(node=node, qos=p["qos"], overlay=bool(p["publish_overlay"]), frame_id=p["frame_id"],
                    topics=topics)
    sinks: list[Any] = [sink]
    try:
        source = sink.image_source(p["image_topic"], qos=p["image_qos"]) if p["image_topic"] else p["source"]
        if p["record"]:
            from samstream.sinks.mcap import McapSink

            sinks.append(McapSink(p["record"], namespace=node.get_namespace(), frame_id=p["frame_id"],
                                  overlay=bool(p["publish_overlay"]), header_fn=sink.header_for))
        depth = None
        if p["depth_topic"] or p["synthetic_depth"]:
            max_points = int(p["max_points"])
            sink.enable_3d(points=max_points > 0, max_points=max(1, max_points))
            depth = (sink.depth_source(p["depth_topic"], p["camera_info_topic"] or None,
                                       tolerance_s=float(p["depth_tolerance"])) if p["depth_topic"] else "source")
        prompts = [s.strip() for s in str(p["prompts"]).split(";") if s.strip()]
        max_frames = int(p["max_frames"]) or None
        pipe = Pipeline(source, model=p["model"], prompts=prompts, sinks=sinks, precision=p["precision"],
                        auto_objects=int(p["auto_objects"]), max_frames=max_frames,
                        encoder=str(p.get("encoder") or "") or None, depth=depth)
    except BaseException:
        for s in sinks:
            s.close()
        raise
    sink.attach(pipe)
    return pipe, sink


def main(argv: Optional[Sequence[str]] = None) -> int:
    import rclpy
    from rclpy.signals import SignalHandlerOptions

    from samstream.lifecycle import GracefulStop

    args = list(sys.argv if argv is None else argv)
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    node = rclpy.create_node("samstream", namespace="/samstream")
    log = node.get_logger()
    pipe = None
    rc = 0
    # SIGINT/SIGTERM (ros2 launch sends both): before the pipeline exists, KeyboardInterrupt; once it
    # runs, its source is closed and the loop ends after the frame in hand, then the pipeline closes the
    # sinks (the MCAP recording gets its summary and footer). A second signal forces exit.
    stop = GracefulStop(quiet=True)
    try:
        with stop:
            params = declare_parameters(node)
            pipe, sink = build(node, params)
            stop.add_callback(pipe.source.close)
            src = params["image_topic"] or params["source"]
            log.info(f"segmenting {src} with {params['model']}; publishing {', '.join(sink.topics().values())}")
            for seg in pipe:
                pass
            if stop.signum is not None:
                log.info(f"shutting down ({signal.Signals(stop.signum).name})")
            pipe.close()
            log.info(f"done: {pipe.metrics().frames_out} frames; ros2 {sink.stats().to_dict()}")
            for s in pipe.sinks:
                if getattr(s, "records_to", None) is not None:
                    log.info(f"recorded {s.frames} frames ({s.messages} messages, dropped {s.dropped}) -> {s.records_to}")
    except KeyboardInterrupt:
        log.info("shutting down")
    except (ValueError, FileNotFoundError, ImportError, RuntimeError, OSError) as exc:
        log.error(str(exc))
        rc = 2
    finally:
        if pipe is not None:
            pipe.close()
        node.destroy_node()
        rclpy.try_shutdown()
    return rc


if __name__ == "__main__":
    sys.exit(main())
