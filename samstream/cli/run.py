"""``samstream run``: segment and track a stream, write the results to sinks (the main job)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..lifecycle import current as current_stop
from .common import FMT, add_encoder_arg, add_model_args, build_run_sinks, close_all, has_gui


def add_parser(sub) -> None:
    p = sub.add_parser(
        "run", help="segment + track a stream (the main job)", formatter_class=FMT,
        description="Read frames from a source, track every prompted object on every frame (the SAM encoder "
                    "runs asynchronously on keyframes; optical flow carries masks in between) and write the "
                    "results to sinks. Prompts refer to the first frame. With no prompt, the largest objects "
                    "found by segment-everything on the first frame are tracked (--auto-objects).",
        epilog="sources: synthetic | synthetic:640x480@30 | 0 (webcam) | /dev/video0 | video.mp4 | frames/ | rtsp://... | ros2:/camera/image_raw\n"
               "examples:\n"
               "  samstream run --source synthetic --max-frames 300 --out out.mp4\n"
               "  samstream run --source clip.mp4 --prompt box:120,80,300,260@1 --prompt point:400,200@2 --stats-json s.json\n"
               "  samstream run --source 0 --model mobilesam --prompt point:320,240\n"
               "  samstream run --source 0 --model mobilesam --encoder grpc://server:9000/mobilesam   # see samstream serve\n"
               "  samstream run --source synthetic --ros2 --record run.mcap      # topics /samstream/mask, ...\n"
               "  samstream run --source ros2:/camera/image_raw --ros2 --auto-objects 0   # prompts via ROS topics\n"
               "  samstream run --source synthetic --depth --foxglove                  # ws://127.0.0.1:8765\n"
               "  samstream run --source synthetic --depth --rerun-save run.rrd        # then: rerun run.rrd\n"
               "  samstream run --source ros2:/camera/color/image_raw --ros2 --depth-topic /camera/aligned_depth_to_color/image_raw\n")
    p.add_argument("--source", "-s", default="synthetic", help="where frames come from (default: synthetic)")
    add_model_args(p)
    add_encoder_arg(p)
    p.add_argument("--prompt", action="append", default=[], metavar="KIND:VALUES[@ID]",
                   help="box:X1,Y1,X2,Y2[@ID], point:X,Y[@ID] or neg:X,Y[@ID] in first-frame pixels (repeatable; ID defaults to 1)")
    p.add_argument("--init-mask", type=Path, metavar="PNG",
                   help="first-frame mask: 0 background, k = object k (a 0/255 mask = object 1)")
    p.add_argument("--auto-objects", type=int, default=3,
                   help="with no prompt: track this many of the largest objects segment-everything finds (default 3; 0 = none)")
    p.add_argument("--out", type=Path, help="write the overlay video here (.mp4/.avi)")
    p.add_argument("--show", action="store_true", help="show a window (needs a GUI OpenCV; the browser view is `samstream demo`)")
    p.add_argument("--max-frames", type=int, help="stop after N frames")
    p.add_argument("--realtime", action="store_true", help="play files at their native frame rate (default: as fast as possible)")
    p.add_argument("--sync", action="store_true", help="refresh keyframes inline (deterministic; for files and tests)")
    p.add_argument("--stats-json", type=Path, help="write the final metrics as JSON here")
    p.add_argument("--quiet", "-q", action="store_true", help="no live status line")
    v = p.add_argument_group(
        "3-D and viewers (pip install 'samstream[viz]'; see docs/spatial.md)",
        "--depth lifts every mask to 3-D (centroid, extent, point cloud in the camera optical frame, metres)\n"
        "from the source's colour-aligned depth: the synthetic source has one; a ROS source takes\n"
        "--depth-topic and --camera-info-topic. --foxglove serves a live Foxglove WebSocket (image, mask,\n"
        "outlines/labels, 3-D boxes and points under /samstream/foxglove/); --rerun logs to a Rerun viewer.")
    v.add_argument("--depth", action="store_true",
                   help="lift the masks to 3-D with the source's aligned depth (synthetic; ROS: --depth-topic)")
    v.add_argument("--depth-topic", metavar="TOPIC",
                   help="ROS 2: the colour-aligned depth image (sensor_msgs/Image 16UC1 mm or 32FC1 m), e.g. "
                        "/camera/aligned_depth_to_color/image_raw; implies --depth; needs --ros2 or --source ros2:...")
    v.add_argument("--camera-info-topic", metavar="TOPIC",
                   help="ROS 2: the depth's sensor_msgs/CameraInfo (default: camera_info next to --depth-topic)")
    v.add_argument("--depth-tolerance", type=float, default=0.02, metavar="SECONDS",
                   help="ROS 2: largest colour/depth stamp difference matched (default 0.02); unmatched frames get no 3-D")
    v.add_argument("--max-points", type=int, default=20000, metavar="N",
                   help="ROS 2 with depth: points in <ns>/objects/points (PointCloud2) at most (default 20000; 0 = no cloud)")
    v.add_argument("--foxglove", nargs="?", const=8765, type=int, default=None, metavar="PORT",
                   help="serve a live Foxglove WebSocket on PORT (default 8765; 0 = any free port); open "
                        "ws://127.0.0.1:PORT in Foxglove with docs/foxglove_layout.json")
    v.add_argument("--foxglove-host", default="127.0.0.1", metavar="HOST",
                   help="bind address of the Foxglove server (default 127.0.0.1; 0.0.0.0 for other machines)")
    v.add_argument("--record-foxglove", action="store_true",
                   help="with --record FILE.mcap: also record the Foxglove channels (/samstream/foxglove/...: image, "
                        "mask, outlines, 3-D) so the file opens in Foxglove with overlays; the ROS 2 topics are unchanged")
    v.add_argument("--rerun", action="store_true",
                   help="log image, segmentation, boxes, scores and timings to a Rerun viewer (spawns `rerun`)")
    v.add_argument("--rerun-save", type=Path, metavar="FILE.rrd",
                   help="write the Rerun log to FILE.rrd instead (open later with `rerun FILE.rrd`)")
    g = p.add_argument_group(
        "ROS 2 (needs a sourced ROS 2 distro or `pip install samstream[ros]`; see docs/ros2.md)",
        "--source ros2:/camera/image_raw reads a sensor_msgs/Image topic (bgr8, rgb8, mono8, yuv422, ...;\n"
        "a topic ending in /compressed: CompressedImage). --ros2 publishes, under the namespace:\n"
        "  mask             sensor_msgs/Image mono8 label map (0 background, k = object id)\n"
        "  mask/compressed  sensor_msgs/CompressedImage, PNG, format \"mono8; png compressed\"\n"
        "  detections       vision_msgs/Detection2DArray (bbox centre/size in pixels, id, score)\n"
        "  overlay          sensor_msgs/Image bgr8 with coloured masks (--ros2-overlay)\n"
        "  objects          vision_msgs/Detection3DArray (with --depth/--depth-topic; centroid, extent in m)\n"
        "  objects/points   sensor_msgs/PointCloud2 x, y, z, id (with depth; --max-points)\n"
        "and takes: <ns>/prompts (Detection2DArray boxes; id = object id, empty = new object),\n"
        "clicks on <image topic>_mouse_left and <ns>/overlay_mouse_left (geometry_msgs/Point, as\n"
        "rqt_image_view sends them), <ns>/clear (std_msgs/Empty), <ns>/remove (std_msgs/Int32 id).")
    g.add_argument("--ros2", action="store_true", help="publish results as ROS 2 topics (ROS_DOMAIN_ID is honoured)")
    g.add_argument("--ros2-node", metavar="NAME", default=None, help="ROS 2 node name (default: samstream)")
    g.add_argument("--ros2-namespace", metavar="NS", default=None,
                   help="namespace of the topics (default: /samstream, e.g. /samstream/mask)")
    g.add_argument("--ros2-qos", metavar="PROFILE[:DEPTH]", default=None,
                   help="publisher QoS: default (reliable, depth 5: reaches reliable and best-effort "
                        "subscribers), reliable (depth 10), sensor (best effort), transient_local (late "
                        "joiners get the last message); e.g. sensor:2")
    g.add_argument("--ros2-overlay", action="store_true",
                   help="also publish (and with --record, record) the overlay topic: bgr8 frames with coloured masks")
    g.add_argument("--record", type=Path, metavar="FILE.mcap",
                   help="record the same topics as ROS 2 CDR messages into an MCAP file (Foxglove, ros2 bag); "
                        "needs no ROS install, only `pip install samstream[ros]`")


def depth_provider(args, bridge):
    """``Pipeline(depth=...)`` for ``--depth`` / ``--depth-topic`` (``None``: 2-D only); with ``--ros2``
    also turns on the 3-D topics (``<ns>/objects``, ``<ns>/objects/points``)."""
    topic = getattr(args, "depth_topic", None)
    if not (getattr(args, "depth", False) or topic):
        return None
    if args.max_points < 0:
        raise ValueError(f"--max-points must be >= 0, got {args.max_points}.")
    if bridge is not None and args.ros2:
        bridge.enable_3d(points=args.max_points > 0, max_points=max(1, args.max_points))
    if topic:
        if bridge is None:
            raise ValueError("--depth-topic subscribes with the ROS 2 node: add --ros2 (or use --source ros2:/topic).")
        return bridge.depth_source(topic, args.camera_info_topic, tolerance_s=args.depth_tolerance)
    if args.camera_info_topic:
        raise ValueError("--camera-info-topic goes with --depth-topic: add --depth-topic TOPIC.")
    return "source"


def viewer_sinks(args) -> list:
    """The Foxglove server (``--foxglove``) and the Rerun logger (``--rerun``/``--rerun-save``)."""
    out: list = []
    if getattr(args, "foxglove", None) is not None:
        from ..sinks.foxglove import FoxgloveSink

        fox = FoxgloveSink(port=args.foxglove, host=args.foxglove_host)
        out.append(fox)
        print(f"foxglove: ws://{args.foxglove_host}:{fox.port} (open it in Foxglove; layout docs/foxglove_layout.json)",
              flush=True)
    if getattr(args, "rerun", False) or getattr(args, "rerun_save", None):
        from ..sinks.rerun import RerunSink

        try:
            out.append(RerunSink(save=args.rerun_save, spawn=bool(args.rerun) and not args.rerun_save))
        except BaseException:
            close_all(out)
            raise
    return out


def status_line(m, seg) -> str:
    """The live one-line readout (``m``: :class:`~samstream.metrics.PipelineMetrics`; ``seg``: the last result)."""
    return (f"\rframe {seg.frame_index:6d}  in {m.input_fps:5.1f} fps  out {m.output_fps:5.1f} fps  "
            f"objects {int((~seg.lost).sum())}/{len(seg)}  encoder {m.encoder_latency_ms:6.1f} ms  "
            f"keyframe age {m.keyframe_age_frames}  track {m.tracker.track_ms:5.1f} ms "
            + ("ENCODER UNREACHABLE (tracking by flow) " if m.encoder is not None and not m.encoder.reachable else ""))


def summary_line(m, interrupted: bool = False) -> str:
    """The final summary: frames, objects, fps, drops, and keyframe failures when there were any."""
    line = (f"{m.frames_out} frames, {m.tracker.objects} objects, output {m.output_fps} fps, "
            f"dropped {m.dropped_frames}, bad {m.bad_frames}")
    if m.encoder is not None and not m.encoder.reachable:
        line += f", encoder unreachable ({m.encoder.last_error})"
    if m.keyframes_failed:
        line += f", keyframes failed {m.keyframes_failed} (last error: {m.last_keyframe_error})"
    return line + (" (interrupted)" if interrupted else "")


def stats_dict(m) -> dict:
    """The ``--stats-json`` payload: ``m.to_dict()`` plus the tracked-object count at top level."""
    d = m.to_dict()
    d.setdefault("objects", m.tracker.objects)
    return d


def run(args) -> int:
    from ..pipeline import Pipeline, prompts_from_strings

    init = None
    if args.init_mask is not None:
        if not args.init_mask.is_file():
            raise FileNotFoundError(f"--init-mask {args.init_mask} does not exist.")
        from ..eval import read_mask

        init = read_mask(args.init_mask)
    prompts = prompts_from_strings(args.prompt, init)
    sinks, bridge, source = build_run_sinks(args)
    try:
        if getattr(args, "record_foxglove", False):
            rec = [s for s in sinks if callable(getattr(s, "enable_foxglove", None))]
            if not rec:
                raise ValueError("--record-foxglove adds the Foxglove channels to a recording: add --record FILE.mcap.")
            rec[0].enable_foxglove()
        sinks += viewer_sinks(args)
    except BaseException:
        close_all([source, *sinks])
        raise
    if args.show and not has_gui():
        close_all([source, *sinks])
        raise RuntimeError("--show needs an OpenCV with windows, and samstream installs the headless one (no "
                           "libGL on servers): use `samstream demo` for the live view in a browser, or "
                           "`pip install opencv-python` on a desktop.")
    try:
        depth = depth_provider(args, bridge)
    except BaseException:
        close_all([source, *sinks])
        raise
    try:
        pipe = Pipeline(source, model=args.model, prompts=prompts, sinks=sinks, precision=args.precision,
                        encoder=args.encoder,
                        asynchronous=not args.sync, auto_objects=args.auto_objects, max_frames=args.max_frames,
                        source_options={"realtime": True} if args.realtime and isinstance(source, str) else None,
                        depth=depth)
    except BaseException:
        close_all([source, *sinks])
        raise
    if bridge is not None:
        bridge.attach(pipe)
    for s in sinks:
        if callable(getattr(s, "watch_pipeline", None)):
            s.watch_pipeline(pipe)
    stop = current_stop()
    if stop is not None:
        # SIGINT/SIGTERM: close the source (from a helper thread: safe for every source); the loop
        # ends after the frame in hand and the pipeline closes the sinks (MCAP footer, video trailer)
        stop.add_callback(pipe.source.close)
    if init is not None and pipe.source.size and tuple(pipe.source.size) != (init.shape[1], init.shape[0]):
        w, h = pipe.source.size
        raise ValueError(f"--init-mask is {init.shape[1]}x{init.shape[0]} but the source is {w}x{h}: "
                         "give a mask of the first frame's size.")
    if pipe.predictor.describe().get("weights") == "random":
        print("note: RANDOM-weight model (random-init export): masks are meaningless, timings are real.", file=sys.stderr)
    interrupted = stream(pipe, show=args.show, quiet=args.quiet)
    return report(pipe, args, sinks, bridge, interrupted)


def stream(pipe, show: bool = False, quiet: bool = True) -> bool:
    """Iterate ``pipe`` to the end (closing it), with the live status line unless ``quiet``.

    Returns whether it was interrupted (Ctrl-C, or SIGINT/SIGTERM under a
    :class:`~samstream.lifecycle.GracefulStop`).
    """
    import time

    last = 0.0
    try:
        with pipe:
            for seg in pipe:
                if show:
                    import cv2

                    from ..sinks.overlay import draw_overlay

                    cv2.imshow("samstream", draw_overlay(pipe.last_frame.image, seg))
                    if cv2.waitKey(1) & 0xFF in (27, ord("q")):
                        break
                now = time.time()
                if not quiet and now - last > 1.0:
                    sys.stderr.write(status_line(pipe.metrics(), seg))
                    sys.stderr.flush()
                    last = now
    except KeyboardInterrupt:
        return True
    finally:
        if not quiet:
            sys.stderr.write("\n")
    stop = current_stop()
    return stop is not None and stop.signum is not None


def signal_name(signum: int) -> str:
    """``2`` -> ``"SIGINT"``."""
    import signal

    return signal.Signals(signum).name


def report(pipe, args, sinks, bridge, interrupted: bool) -> int:
    """Print the summary (and ROS 2 / recording lines), write ``--stats-json``; the exit code."""
    m = pipe.metrics()
    print(summary_line(m, interrupted))
    d = stats_dict(m)
    stop = current_stop()
    d["stopped_by"] = signal_name(stop.signum) if stop is not None and stop.signum is not None else (
        "interrupt" if interrupted else None)
    if args.out:
        print(f"video -> {args.out}")
    if bridge is not None:
        d["ros2"] = bridge.stats().to_dict()
        if bridge.depth_sources:
            from ..metrics import as_dict

            d["ros2"]["depth"] = [as_dict(s) for s in bridge.depth_stats()]
        if args.ros2:
            pub = d["ros2"]
            print(f"ros2: published {pub.get('frames_published', 0)} results on {', '.join(pub['topics'].values())} "
                  f"(dropped {pub.get('publish_dropped', 0)}; bad prompts {pub.get('bad_prompts', 0)}, "
                  f"clicks {pub.get('bad_clicks', 0)}, commands {pub.get('bad_commands', 0)})")
    for s in sinks:
        viewer = getattr(s, "viewer_stats", None)
        if callable(viewer):
            st = viewer()
            d.setdefault("viewers", {})[st.viewer] = {"sent": st.sent, "dropped": st.dropped, "errors": st.errors,
                                                      "target": st.target}
            print(f"{st.viewer}: sent {st.sent} results (dropped {st.dropped}, errors {st.errors}) -> {st.target}")
        path = getattr(s, "records_to", None)
        if path is not None:
            d["record"] = {"path": str(path), "frames": s.frames, "messages": s.messages, "dropped": s.dropped}
            if getattr(s, "foxglove_messages", 0):
                d["record"]["foxglove_messages"] = s.foxglove_messages
            print(f"recorded {s.frames} frames ({s.messages} messages, dropped {s.dropped}) -> {path}")
    if args.stats_json:
        args.stats_json.write_text(json.dumps(d, indent=2, default=str))
        print(f"stats -> {args.stats_json}")
    return 130 if interrupted else 0
