"""``samstream demo``: the live view in the browser (Gradio)."""

from __future__ import annotations

import os

from .common import FMT, add_encoder_arg, add_model_args


def add_parser(sub) -> None:
    p = sub.add_parser(
        "demo", help="live view in the browser (Gradio)", formatter_class=FMT,
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
    add_model_args(p)
    add_encoder_arg(p)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 exposes it)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument("--share", action="store_true", help="also create a public gradio.live link (needs internet)")


def run(args) -> int:
    from ..ui import require_gradio

    require_gradio()  # ImportError naming `pip install 'samstream[ui]'`
    if not 0 < args.port < 65536:
        raise ValueError(f"--port {args.port} is not a TCP port: use 1..65535, e.g. --port 7860.")
    from ..ui import serve

    if args.encoder:
        from ..engine.remote import parse_encoder_url

        parse_encoder_url(args.encoder)  # a malformed URL fails here, in one line
        os.environ["SAMSTREAM_ENCODER"] = args.encoder  # every SAM predictor the page loads uses it

    serve(source=args.source, model=args.model, precision=args.precision, host=args.host, port=args.port,
          share=args.share)
    return 0
