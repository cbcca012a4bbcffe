"""``samstream demo``: the live view in the browser (Gradio page + WebRTC view)."""

from __future__ import annotations

import os
import secrets

from .common import FMT, add_encoder_arg, add_model_args


def add_parser(sub) -> None:
    p = sub.add_parser(
        "demo", help="live view in the browser (Gradio; WebRTC for phones)", formatter_class=FMT,
        description="Open the live view: the segmented stream in your browser, updated live. Click the picture to "
                    "segment an object (include/exclude points, boxes), with opacity, show/hide, a live readout "
                    "of fps, encoder latency and keyframe age, and a model selector. Input: the server-side "
                    "--source, or the browser's own camera: /webrtc streams it over WebRTC (any browser, phones "
                    "included; masks drawn over the video at the camera's rate). With no camera and no weights "
                    "it runs on the synthetic scene and the classic backend. Needs the [ui] extra.",
        epilog="examples:\n"
               "  samstream demo                                  # http://localhost:7860, synthetic scene\n"
               "  samstream demo --source 0 --model mobilesam     # a local camera, a SAM export\n"
               "  samstream demo --source clip.mp4 --port 8080    # a file, played in a loop\n"
               "  samstream demo --host 0.0.0.0 --https --token auto\n"
               "                                                  # phones on the LAN: prints the URL + a QR code\n"
               "  samstream demo --https --cert cert.pem --key key.pem   # your own certificate\n")
    p.add_argument("--source", "-s", default="synthetic",
                   help="server-side source: synthetic (default) | 0 | /dev/video0 | video.mp4 | frames/ | rtsp://...")
    add_model_args(p)
    add_encoder_arg(p)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 exposes it)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument("--share", action="store_true", help="also create a public gradio.live link (needs internet)")
    p.add_argument("--https", action="store_true",
                   help="serve over TLS (phones open the camera only on https): a self-signed certificate is made "
                        "(kept in the samstream cache) unless --cert/--key are given")
    p.add_argument("--cert", help="PEM certificate for --https (with --key)")
    p.add_argument("--key", help="PEM private key for --https (with --cert)")
    p.add_argument("--token", help="access token required on every page and route (the printed URL carries it); "
                                   "'auto' makes a random one")
    p.add_argument("--ice-server", action="append", default=[], metavar="URL",
                   help="STUN/TURN server for WebRTC, e.g. stun:stun.example.org:3478 or "
                        "turn:USER:PASS@turn.example.org:3478 (repeatable; none needed on a LAN)")
    p.add_argument("--max-webrtc", type=int, default=2,
                   help="WebRTC sessions / browser cameras at once (each runs a pipeline; default 2)")
    p.add_argument("--no-webrtc", action="store_true", help="do not serve the WebRTC view (/webrtc)")


def run(args) -> int:
    from ..ui import require_gradio

    require_gradio()  # ImportError naming `pip install 'samstream[ui]'`
    if not 0 < args.port < 65536:
        raise ValueError(f"--port {args.port} is not a TCP port: use 1..65535, e.g. --port 7860.")
    if not 0 <= args.max_webrtc <= 16:
        raise ValueError(f"--max-webrtc {args.max_webrtc} is outside 0..16 (each session runs a pipeline).")
    from ..ui.webrtc import parse_ice_server

    ice = [parse_ice_server(u) for u in args.ice_server]
    token = args.token
    if token is not None:
        token = token.strip()
        if token == "auto":
            token = secrets.token_urlsafe(12)
        if len(token) < 4 or any(c in token for c in " \t\r\n&#?/"):
            raise ValueError("--token must be at least 4 characters, without spaces or &#?/ (or use --token auto).")
    from ..ui import serve

    if args.encoder:
        from ..engine.remote import parse_encoder_url

        parse_encoder_url(args.encoder)  # a malformed URL fails here, in one line
        os.environ["SAMSTREAM_ENCODER"] = args.encoder  # every SAM predictor the page loads uses it

    serve(source=args.source, model=args.model, precision=args.precision, host=args.host, port=args.port,
          share=args.share, https=args.https, cert=args.cert, key=args.key, token=token, ice_servers=ice,
          webrtc=not args.no_webrtc, max_webrtc=args.max_webrtc)
    return 0
