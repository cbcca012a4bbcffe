"""The ``samstream`` command line. Every heavy import happens inside the command that needs it."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Optional, Sequence

from . import __version__

MAIN_HELP = """\
samstream: real-time, promptable Segment-Anything on a live camera, on an ordinary CPU.

With no weights at all, the embedded `classic` backend runs everything. With internet, export
a SAM model once (`samstream export mobilesam`) and use `--model mobilesam`.

Commands:
  models     list the models and what is exported in your cache
  export     download an official checkpoint and convert it to OpenVINO IR (FP16, INT8)
  segment    segment one image from clicks/boxes, or everything in it
  run        segment and track objects in a live stream or a file (the main job)
  eval       accuracy (J, F) and fps on DAVIS-layout video data, with a chart
  bench      encoder/decoder latency side by side (PyTorch, OpenVINO FP32/FP16/INT8), JSON
  demo       the live view in your browser: click to segment, webcam or server-side source

Run `samstream COMMAND --help` for the options and examples of each.
"""


_DEFAULT_BENCH_MODELS = "classic,mobilesam,efficientvit_sam_l0,sam_vit_b"


def _xy(text: str, n: int, what: str) -> list[float]:
    try:
        vals = [float(v) for v in text.replace(" ", "").split(",")]
    except ValueError:
        vals = []
    if len(vals) != n:
        form = "X,Y" if n == 2 else "X1,Y1,X2,Y2"
        raise argparse.ArgumentTypeError(f"{what} {text!r} must be {form} in pixels, e.g. --{what} {'320,240' if n == 2 else '100,80,300,260'}")
    return vals


def _point(text: str) -> list[float]:
    return _xy(text, 2, "point")


def _box(text: str) -> list[float]:
    return _xy(text, 4, "box")


def _add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", "-m", default="classic",
                   help="classic (no weights, default), mobilesam, sam_vit_b, ...; append @random for a "
                        "random-init export (speed tests only). See `samstream models`.")
    p.add_argument("--precision", default="fp16", choices=("fp32", "fp16", "bf16", "int8"),
                   help="encoder precision for SAM models (default fp16; int8 needs `export --int8`).")


def _parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    ap = argparse.ArgumentParser(prog="samstream", description=MAIN_HELP, formatter_class=fmt)
    ap.add_argument("--version", action="version", version=f"samstream {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("models", help="list models and cached exports", formatter_class=fmt,
                       description="List the models samstream knows, their licence, checkpoint, and which "
                                   "exports (official or random-init; fp32/fp16/int8) are in the cache.",
                       epilog="examples:\n"
                              "  samstream models\n"
                              "  samstream models --json     # with checkpoint URLs and SHA-256\n"
                              "the cache is ~/.cache/samstream ($XDG_CACHE_HOME, or $SAMSTREAM_CACHE).\n")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")

    p = sub.add_parser(
        "export", help="convert a SAM model to OpenVINO IR", formatter_class=fmt,
        description="Download (or take with --checkpoint) an official checkpoint, verify its SHA-256, and "
                    "convert the image encoder and the prompt decoder to OpenVINO IR in the cache "
                    "(FP32 + FP16; INT8 with --int8).",
        epilog="examples:\n"
               "  samstream export mobilesam\n"
               "  samstream export sam_vit_b --checkpoint ~/Downloads/sam_vit_b_01ec64.pth --int8 --calib my_frames/\n"
               "  samstream export mobilesam --random-init --int8     # no download; speed tests only\n"
               "  samstream export mobilesam-512      # 512x512 encoder input: ~4x fewer pixels, lower quality\n")
    p.add_argument("model", help="model name (see `samstream models`); NAME-SIZE (e.g. mobilesam-512) exports a "
                                  "smaller/larger encoder input")
    p.add_argument("--checkpoint", type=Path, help="use this local checkpoint file instead of downloading")
    p.add_argument("--random-init", action="store_true",
                   help="export the real architecture with RANDOM weights (for speed/shape tests; masks are meaningless)")
    p.add_argument("--int8", action="store_true", help="also make an INT8 encoder with NNCF post-training quantization")
    p.add_argument("--calib", metavar="DIR|VIDEO",
                   help="frames to calibrate INT8 on: a folder of images or a video (default: synthetic scenes)")
    p.add_argument("--calib-size", type=int, default=32, help="number of calibration frames (default 32)")
    p.add_argument("--smooth-quant-alpha", type=float, default=None,
                   help="SmoothQuant alpha for MatMuls (NNCF default when unset; -1 disables)")

    p = sub.add_parser(
        "segment", help="segment one image", formatter_class=fmt,
        description="Segment one image from include/exclude points and/or a box, or everything in it. "
                    "Writes a mask PNG (0 background, 255 object; with --everything a label map 0..N).",
        epilog="examples:\n"
               "  samstream segment photo.jpg --point 320,240 -o mask.png --overlay overlay.jpg\n"
               "  samstream segment photo.jpg --box 100,80,400,360 --neg-point 250,200 -o mask.png\n"
               "  samstream segment photo.jpg --everything -o labels.png --overlay all.jpg\n")
    p.add_argument("image", type=Path, help="input image (jpg/png/...)")
    _add_model_args(p)
    p.add_argument("--point", type=_point, action="append", default=[], metavar="X,Y", help="include point (repeatable)")
    p.add_argument("--neg-point", type=_point, action="append", default=[], metavar="X,Y", help="exclude point (repeatable)")
    p.add_argument("--box", type=_box, metavar="X1,Y1,X2,Y2", help="box around the object")
    p.add_argument("--everything", action="store_true", help="segment everything (automatic masks) instead")
    p.add_argument("--multimask", action="store_true", help="pick the best of 3 candidate masks (good for one click)")
    p.add_argument("-o", "--output", type=Path, required=True, help="mask PNG to write")
    p.add_argument("--overlay", type=Path, help="also write the image with the mask drawn on it")

    p = sub.add_parser(
        "run", help="segment + track a stream (the main job)", formatter_class=fmt,
        description="Read frames from a source, track every prompted object on every frame (the SAM encoder "
                    "runs asynchronously on keyframes; optical flow carries masks in between) and write the "
                    "results to sinks. Prompts refer to the first frame. With no prompt, the largest objects "
                    "found by segment-everything on the first frame are tracked (--auto-objects).",
        epilog="sources: synthetic | synthetic:640x480@30 | 0 (webcam) | /dev/video0 | video.mp4 | frames/ | rtsp://... | ros2:/camera/image_raw\n"
               "examples:\n"
               "  samstream run --source synthetic --max-frames 300 --out out.mp4\n"
               "  samstream run --source clip.mp4 --prompt box:120,80,300,260@1 --prompt point:400,200@2 --stats-json s.json\n"
               "  samstream run --source 0 --model mobilesam --prompt point:320,240\n"
               "  samstream run --source synthetic --ros2 --record run.mcap      # topics /samstream/mask, ...\n"
               "  samstream run --source ros2:/camera/image_raw --ros2 --auto-objects 0   # prompts via ROS topics\n")
    p.add_argument("--source", "-s", default="synthetic", help="where frames come from (default: synthetic)")
    _add_model_args(p)
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
    g = p.add_argument_group(
        "ROS 2 (needs a sourced ROS 2 distro or `pip install samstream[ros]`; see docs/ros2.md)",
        "--source ros2:/camera/image_raw reads a sensor_msgs/Image topic (bgr8, rgb8, mono8, yuv422, ...;\n"
        "a topic ending in /compressed: CompressedImage). --ros2 publishes, under the namespace:\n"
        "  mask             sensor_msgs/Image mono8 label map (0 background, k = object id)\n"
        "  mask/compressed  sensor_msgs/CompressedImage, PNG, format \"mono8; png compressed\"\n"
        "  detections       vision_msgs/Detection2DArray (bbox centre/size in pixels, id, score)\n"
        "  overlay          sensor_msgs/Image bgr8 with coloured masks (--ros2-overlay)\n"
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

    p = sub.add_parser(
        "eval", help="accuracy on DAVIS-layout data", formatter_class=fmt,
        description="Semi-supervised video object segmentation: the first frame's ground truth gives the "
                    "prompt (mask, box or interior point); every later frame is scored with region similarity "
                    "J (IoU) and boundary F (DAVIS definitions). Reports per sequence and the mean, plus fps, "
                    "beside the naive flow-warp baseline. DIR holds <seq>/frames/*.jpg and <seq>/masks/*.png.",
        epilog="examples:\n"
               "  samstream eval ../shared/data/vos --json eval.json --chart eval.png\n"
               "  samstream eval ../shared/data/vos --prompt-mode box\n")
    p.add_argument("dir", type=Path, help="dataset root (DAVIS layout)")
    _add_model_args(p)
    p.add_argument("--prompt-mode", choices=("mask", "box", "point"), default="mask",
                   help="what the first frame's ground truth is turned into (default mask)")
    p.add_argument("--keyframe-interval", type=int, default=1,
                   help="refresh with the predictor every N frames, flow in between (default 1)")
    p.add_argument("--no-baseline", action="store_true", help="skip the flow-warp baseline")
    p.add_argument("--sequences", help="comma-separated subset of sequence names")
    p.add_argument("--max-frames", type=int, help="evaluate at most N frames per sequence")
    p.add_argument("--json", type=Path, help="write the results as JSON")
    p.add_argument("--chart", type=Path, help="write a PNG bar chart of J and F per sequence")
    p.add_argument("--overlays", type=Path, help="write a strip of predicted-vs-truth overlays per sequence into this folder")

    p = sub.add_parser(
        "bench", help="latency benchmark (JSON)", formatter_class=fmt,
        description="Median encoder and decoder latency for each model architecture and backend, measured "
                    "side by side in one run: PyTorch eager FP32 (if torch is installed), OpenVINO FP32, "
                    "FP16 (default execution precision), bf16 (if the CPU has it) and INT8, plus the classic "
                    "backend. Models without an official export are built with RANDOM weights (labelled "
                    "\"weights\": \"random\"): the timings are real, no quality is measured.",
        epilog="examples:\n"
               "  samstream bench --json bench.json\n"
               "  samstream bench --models mobilesam --runs 20\n"
               "  samstream bench --pipeline --models classic,mobilesam@random --json pipeline.json\n"
               "  samstream bench --soak --seconds 600\n"
               "  samstream bench --ui --seconds 15 --json ui.json\n")
    p.add_argument("--models", default=_DEFAULT_BENCH_MODELS,
                   help="comma-separated models to measure (default: classic,mobilesam,efficientvit_sam_l0,sam_vit_b)")
    p.add_argument("--backends", default="torch,fp32,fp16,bf16,int8",
                   help="comma-separated: torch, fp32, fp16, bf16, int8 (default: all)")
    p.add_argument("--runs", type=int, default=10, help="timed runs per measurement (default 10; torch ViT-B uses fewer)")
    p.add_argument("--threads", type=int, default=0, help="OpenVINO inference threads (0 = all cores)")
    p.add_argument("--pipeline", action="store_true",
                   help="instead: masks/s and latency of the live pipeline vs the naive per-frame loop on a "
                        "640x480 30 fps synthetic stream (same model, same run)")
    p.add_argument("--seconds", type=float, default=15.0, help="--pipeline/--soak: seconds per measurement (default 15)")
    p.add_argument("--objects", type=int, default=1, help="--pipeline: tracked objects (default 1)")
    p.add_argument("--soak", action="store_true", help="instead: run the pipeline for --seconds and sample memory (RSS)")
    p.add_argument("--ui", action="store_true",
                   help="instead: frames displayed per second and capture-to-display latency of `samstream demo`, "
                        "measured in headless Chromium (needs the [ui,test] extras and chromium)")
    p.add_argument("--profile", metavar="MODEL",
                   help="instead: per-layer-type time of MODEL's encoder (OpenVINO PERF_COUNT), e.g. mobilesam@random")
    p.add_argument("--precision", default="fp32", choices=("fp32", "fp16", "bf16", "int8"), help="--profile: precision")
    p.add_argument("--json", type=Path, help="write the records to this JSON file")

    p = sub.add_parser(
        "demo", help="live view in the browser (Gradio)", formatter_class=fmt,
        description="Open the live view: the segmented stream in your browser, updated live. Click the picture to "
                    "segment an object (include/exclude points, boxes), with opacity, show/hide, a live readout "
                    "of fps, encoder latency and keyframe age, and a model selector. Input: the server-side "
                    "--source, or the browser's own webcam (pick 'browser webcam' in the page). With no camera "
                    "and no weights it runs on the synthetic scene and the classic backend. Needs the [ui] extra.",
        epilog="examples:\n"
               "  samstream demo                                  # http://localhost:7860, synthetic scene\n"
               "  samstream demo --source 0 --model mobilesam     # a local camera, a SAM export\n"
               "  samstream demo --source clip.mp4 --port 8080    # a file, played in a loop\n"
               "  samstream demo --host 0.0.0.0                   # reachable from other machines (no auth!)\n")
    p.add_argument("--source", "-s", default="synthetic",
                   help="server-side source: synthetic (default) | 0 | /dev/video0 | video.mp4 | frames/ | rtsp://...")
    _add_model_args(p)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 exposes it)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument("--share", action="store_true", help="also create a public gradio.live link (needs internet)")
    return ap


# -- commands ------------------------------------------------------------------------------
def cmd_models(args) -> int:
    from .models.cache import cache_root, find_exported
    from .models.registry import MODELS

    rows = [{"name": "classic", "title": "embedded classical backend (GrabCut, OpenCV)", "license": "Apache-2.0",
             "exports": "built in, no weights", "url": ""}]
    for spec in MODELS.values():
        ex = []
        for tag in ("official", "random-init"):
            found = find_exported(spec.name, tag)
            if found is not None:
                ex.append(f"{tag}: {'/'.join(found.precisions())}")
        rows.append({"name": spec.name, "title": spec.title, "license": spec.license,
                     "exports": "; ".join(ex) or "not exported", "url": spec.url, "sha256": spec.sha256})
    if args.json:
        print(json.dumps({"cache": str(cache_root()), "models": rows}, indent=2))
        return 0
    print(f"cache: {cache_root()}\n")
    w = max(len(r["name"]) for r in rows)
    for r in rows:
        print(f"  {r['name']:<{w}}  {r['title']}  [{r['license']}]")
        print(f"  {'':<{w}}  {r['exports']}")
    print("\nexport one with `samstream export NAME` (needs `pip install samstream[export]`).")
    return 0


def cmd_export(args) -> int:
    from .models.export import export_model
    from .models.registry import get_spec

    spec = get_spec(args.model)
    if args.random_init and args.checkpoint:
        raise ValueError("--random-init and --checkpoint exclude each other: pick one.")
    if args.calib and not args.int8:
        raise ValueError("--calib only matters with --int8: add --int8.")
    out = export_model(spec, checkpoint=args.checkpoint, random_init=args.random_init, int8=args.int8,
                       calib=args.calib, calib_size=args.calib_size,
                       smooth_quant_alpha=args.smooth_quant_alpha)
    label = "RANDOM-INIT (speed tests only) " if args.random_init else ""
    use = spec.name + ("@random" if args.random_init else "")
    print(f"exported {label}{spec.name} to {out}\nuse it with: --model {use}")
    return 0


def _read_image(path: Path):
    import cv2

    if not path.is_file():
        raise FileNotFoundError(f"image {path} does not exist: check the path.")
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f"{path} is not a readable image: use a .jpg/.png/.bmp/.webp file.")
    return img


def cmd_segment(args) -> int:
    import cv2
    import numpy as np

    from .engine import load_predictor
    from .sinks.overlay import draw_overlay
    from .types import Frame, Segmentation

    img = _read_image(args.image)
    predictor = load_predictor(args.model, precision=args.precision)
    frame = Frame(img, 0, 0.0, str(args.image))
    if args.everything:
        if args.point or args.neg_point or args.box:
            raise ValueError("--everything takes no --point/--neg-point/--box: drop one or the other.")
        if args.model == "classic":
            predictor.set_image(img)
            masks, scores = predictor.everything(img)
            seg = Segmentation(masks, scores, np.arange(1, len(masks) + 1), 0, 0.0)
        else:
            from .engine.everything import MaskGenerator

            seg = MaskGenerator(predictor).generate_segmentation(frame)
        cv2.imwrite(str(args.output), seg.label_map())
        print(f"{len(seg)} masks -> {args.output} (label map, 0 = background)")
    else:
        pts = args.point + args.neg_point
        if not pts and args.box is None:
            raise ValueError("nothing to segment: give --point X,Y (and/or --neg-point, --box), or --everything.")
        labels = [1] * len(args.point) + [0] * len(args.neg_point)
        predictor.set_image(img)
        masks, scores, _ = predictor.predict(point_coords=np.array(pts) if pts else None,
                                             point_labels=np.array(labels) if pts else None,
                                             box=args.box, multimask_output=args.multimask)
        best = int(np.argmax(scores))
        seg = Segmentation(masks[best:best + 1], scores[best:best + 1], [1], 0, 0.0)
        cv2.imwrite(str(args.output), masks[best].astype(np.uint8) * 255)
        print(f"mask ({int(masks[best].sum())} px, score {float(scores[best]):.2f}) -> {args.output}")
    weights = predictor.describe().get("weights")
    if weights == "random":
        print("note: this model has RANDOM weights (random-init export): the mask is meaningless.")
    if args.overlay:
        over = draw_overlay(img, seg, 0.5, points=np.array(args.point + args.neg_point) if not args.everything and (args.point or args.neg_point) else None,
                            point_labels=np.array([1] * len(args.point) + [0] * len(args.neg_point)),
                            box=None if args.everything else args.box)
        cv2.imwrite(str(args.overlay), over)
        print(f"overlay -> {args.overlay}")
    return 0


def cmd_bench(args) -> int:
    from .bench import bench_pipeline, run_model_bench, soak

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if args.profile:
        from .bench import profile_encoder

        out = profile_encoder(args.profile, args.precision)
        if args.json:
            args.json.write_text(json.dumps(out, indent=2))
        return 0
    if args.ui:
        from .ui.bench import run_ui_bench

        model = "classic" if args.models == _DEFAULT_BENCH_MODELS else models[0]
        out = run_ui_bench(seconds=args.seconds, model=model, objects=args.objects)
        print(json.dumps(out, indent=2))
        if args.json:
            args.json.write_text(json.dumps(out, indent=2))
            print(f"wrote {args.json}")
        return 0
    if args.pipeline or args.soak:
        if args.models == _DEFAULT_BENCH_MODELS:
            models = ["classic"]
        out = []
        for m in models:
            r = soak(m, seconds=args.seconds) if args.soak else bench_pipeline(m, seconds=args.seconds, objects=args.objects)
            print(json.dumps(r, indent=2))
            out.append(r)
        if args.json:
            args.json.write_text(json.dumps(out, indent=2))
            print(f"wrote {args.json}")
        return 0
    records = run_model_bench(
        models=[m.strip() for m in args.models.split(",") if m.strip()],
        backends=[b.strip() for b in args.backends.split(",") if b.strip()],
        runs=args.runs, threads=args.threads)
    if args.json:
        args.json.write_text(json.dumps(records, indent=2))
        print(f"wrote {args.json}")
    return 0


def cmd_run(args) -> int:
    import time

    import cv2

    from .pipeline import Pipeline, prompts_from_strings
    from .sinks import VideoSink

    init = None
    if args.init_mask is not None:
        if not args.init_mask.is_file():
            raise FileNotFoundError(f"--init-mask {args.init_mask} does not exist.")
        from .evaluation import read_mask

        init = read_mask(args.init_mask)
    prompts = prompts_from_strings(args.prompt, init)
    sinks = []
    if args.out:
        sinks.append(VideoSink(args.out))
    bridge, source = _ros2_sinks(args, sinks)
    if args.show and not _has_gui():
        raise RuntimeError("--show needs an OpenCV with windows, and samstream installs the headless one (no "
                           "libGL on servers): use `samstream demo` for the live view in a browser, or "
                           "`pip install opencv-python` on a desktop.")
    try:
        pipe = Pipeline(source, model=args.model, prompts=prompts, sinks=sinks, precision=args.precision,
                        asynchronous=not args.sync, auto_objects=args.auto_objects, max_frames=args.max_frames,
                        source_options={"realtime": True} if args.realtime and isinstance(source, str) else None)
    except BaseException:
        for obj in [source, *sinks]:
            if hasattr(obj, "close"):
                obj.close()
        raise
    if bridge is not None:
        bridge.attach(pipe)
    if init is not None and pipe.source.size and tuple(pipe.source.size) != (init.shape[1], init.shape[0]):
        w, h = pipe.source.size
        raise ValueError(f"--init-mask is {init.shape[1]}x{init.shape[0]} but the source is {w}x{h}: "
                         "give a mask of the first frame's size.")
    if pipe.predictor.describe().get("weights") == "random":
        print("note: RANDOM-weight model (random-init export): masks are meaningless, timings are real.", file=sys.stderr)
    last = 0.0
    interrupted = False
    try:
        with pipe:
            for seg in pipe:
                if args.show:
                    from .sinks.overlay import draw_overlay

                    cv2.imshow("samstream", draw_overlay(pipe.last_frame.image, seg))
                    if cv2.waitKey(1) & 0xFF in (27, ord("q")):
                        break
                now = time.time()
                if not args.quiet and now - last > 1.0:
                    m = pipe.metrics()
                    sys.stderr.write(f"\rframe {seg.frame_index:6d}  in {m['input_fps']:5.1f} fps  out {m['output_fps']:5.1f} fps  "
                                     f"objects {int((~seg.lost).sum())}/{len(seg)}  encoder {m['encoder_latency_ms']:6.1f} ms  "
                                     f"keyframe age {m['keyframe_age_frames']}  track {m['track_ms']:5.1f} ms ")
                    sys.stderr.flush()
                    last = now
    except KeyboardInterrupt:
        interrupted = True
    m = pipe.metrics()
    if not args.quiet:
        sys.stderr.write("\n")
    print(f"{m['frames_out']} frames, {m['objects']} objects, output {m['output_fps']} fps, "
          f"dropped {m['dropped_frames']}, bad {m['bad_frames']}" + (" (interrupted)" if interrupted else ""))
    if args.out:
        print(f"video -> {args.out}")
    if bridge is not None:
        m["ros2"] = bridge.stats()
        if args.ros2:
            pub = m["ros2"]
            print(f"ros2: published {pub.get('frames_published', 0)} results on {', '.join(pub['topics'].values())} "
                  f"(dropped {pub.get('publish_dropped', 0)}; bad prompts {pub.get('bad_prompts', 0)}, "
                  f"clicks {pub.get('bad_clicks', 0)}, commands {pub.get('bad_commands', 0)})")
    for s in sinks:
        if type(s).__name__ == "McapSink":
            m["record"] = {"path": str(s.path), "frames": s.frames, "messages": s.messages, "dropped": s.dropped}
            print(f"recorded {s.frames} frames ({s.messages} messages, dropped {s.dropped}) -> {s.path}")
    if args.stats_json:
        args.stats_json.write_text(json.dumps(m, indent=2, default=str))
        print(f"stats -> {args.stats_json}")
    return 130 if interrupted else 0


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
        from .ros2.node import Ros2Bridge

        bridge = Ros2Bridge(args.ros2_node or "samstream", namespace, qos=args.ros2_qos or "default",
                            overlay=args.ros2_overlay, publish=args.ros2)
        if ros_source:
            try:
                source = bridge.image_source(source.strip()[len("ros2:"):])
            except BaseException:
                bridge.close()
                raise
        sinks.append(bridge)  # publishes (with --ros2) and tells prompts the latest frame size
    if args.record:
        from .sinks.mcap import McapSink

        try:
            sinks.append(McapSink(args.record, namespace=namespace, overlay=args.ros2_overlay,
                                  header_fn=bridge.header_for if bridge is not None else None))
        except BaseException:
            if bridge is not None:
                bridge.close()
            raise
    return bridge, source


def _has_gui() -> bool:
    import cv2

    try:
        return "GUI" in cv2.getBuildInformation() and "NONE" not in cv2.getBuildInformation().split("GUI:")[1].split("\n")[0]
    except (IndexError, cv2.error):
        return False


def cmd_eval(args) -> int:
    from .evaluation import run_cli_eval

    return run_cli_eval(args)


def cmd_demo(args) -> int:
    from .ui import require_gradio

    require_gradio()  # ImportError naming `pip install 'samstream[ui]'`
    if not 0 < args.port < 65536:
        raise ValueError(f"--port {args.port} is not a TCP port: use 1..65535, e.g. --port 7860.")
    from .ui import serve

    serve(source=args.source, model=args.model, precision=args.precision, host=args.host, port=args.port,
          share=args.share)
    return 0


COMMANDS = {"models": cmd_models, "export": cmd_export, "segment": cmd_segment, "run": cmd_run, "eval": cmd_eval,
            "bench": cmd_bench, "demo": cmd_demo}


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = _parser()
    args = ap.parse_args(argv)
    if not args.command:
        ap.print_help()
        return 0
    try:
        return COMMANDS[args.command](args) or 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, ImportError, ConnectionError, RuntimeError) as exc:
        print(f"samstream {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
