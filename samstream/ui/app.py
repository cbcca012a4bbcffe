"""The Gradio page of the live view (the only module that imports Gradio).

Layout: the live picture (an ``<img>`` fed by the MJPEG route of :mod:`samstream.ui.hub`, with
a click handler that sends image-pixel coordinates), the prompting controls, the input chooser
(server-side source or the browser's webcam, streamed with ``stream_every=0.033``), the model
selector, opacity, show/hide, and a live readout refreshed twice a second by a ``gr.Timer``.
In the page, a small script decodes the frame stamp of every displayed frame and shows the
frames displayed per second and the capture-to-display latency measured *in the browser*
(``window.samstreamMeter`` holds the raw numbers for benchmarks and tests).

Disk: Gradio writes uploaded/streamed files to its cache dir; we give it a private
``GRADIO_TEMP_DIR`` (removed at exit) unless one is set, and ``delete_cache`` removes files
older than five minutes every minute. The live picture itself writes nothing.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from typing import Optional, Union


def _prepare_env() -> None:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    if not os.environ.get("GRADIO_TEMP_DIR"):
        d = tempfile.mkdtemp(prefix="samstream-gradio-")
        os.environ["GRADIO_TEMP_DIR"] = d
        atexit.register(shutil.rmtree, d, True)


_prepare_env()

import gradio as gr  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, StreamingResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402

from ..utils import rss_mb  # noqa: E402
from .hub import BOUNDARY, MJPEG_PATH, Hub  # noqa: E402
from .prompts import View  # noqa: E402
from .readout import readout, stats_markdown  # noqa: E402
from .security import TokenGate, lan_address, self_signed_cert, terminal_qr  # noqa: E402
from .stream import model_choices  # noqa: E402
from .stamp import STAMP_JS  # noqa: E402

__all__ = ["build_app", "serve", "make_routes", "DELETE_CACHE"]

#: Gradio cache clean-up: every 60 s, delete files older than 300 s.
DELETE_CACHE = (60, 300)
INPUTS = ("server source", "browser webcam")

_CSS = """
#samstream-live img.samstream-live {max-width: 100%; height: auto; display: block; cursor: crosshair;
  image-rendering: auto; background: #222;}
#samstream-live .samstream-meter {font: 12px monospace; color: #888; margin-top: 4px;}
#samstream-message p {margin: 0;}
#samstream-errors p {color: #c62828; font-weight: 600; margin: 0;}
"""

# Runs once per page: the click handler (event delegation, so a re-rendered <img> keeps working)
# and the in-browser meter (frames displayed per second, capture-to-display latency).
_JS_ON_LOAD = STAMP_JS + """
window.samstreamDecodeStamp = samstreamDecodeStamp;
element.addEventListener('click', (e) => {
  const img = e.target.closest ? e.target.closest('img.samstream-live') : null;
  if (!img) return;
  const r = img.getBoundingClientRect();
  const w = img.naturalWidth, h = img.naturalHeight;
  if (!w || !h || !r.width || !r.height) return;
  const x = (e.clientX - r.left) * w / r.width, y = (e.clientY - r.top) * h / r.height;
  trigger('click', {x: x, y: y, width: w, height: h, shift: e.shiftKey});
});
if (!window.samstreamMeter) {
  const meter = {frames: 0, index: -1, latencies: [], shown: [], started: performance.now()};
  window.samstreamMeter = meter;
  const canvas = document.createElement('canvas');
  let lastReport = performance.now();
  const loop = () => {
    const img = document.querySelector('#samstream-live img.samstream-live');
    if (img && img.complete && img.naturalWidth) {
      let s = null;
      try { s = samstreamDecodeStamp(img, canvas); } catch (err) { s = null; }
      if (s && s.index !== meter.index) {
        const now = Date.now();
        let lat = (now % 4294967296) - s.ms;
        if (lat < -2147483648) lat += 4294967296;
        if (lat > 2147483648) lat -= 4294967296;
        meter.index = s.index; meter.frames += 1;
        meter.latencies.push(lat); meter.shown.push(performance.now());
        if (meter.latencies.length > 3600) { meter.latencies.shift(); meter.shown.shift(); }
      }
    }
    const t = performance.now();
    if (t - lastReport > 1000) {
      lastReport = t;
      const recent = meter.shown.filter((v) => t - v < 2000);
      const lats = meter.latencies.slice(-recent.length).slice().sort((a, b) => a - b);
      const fps = recent.length / 2;
      const med = lats.length ? lats[Math.floor(lats.length / 2)] : null;
      const el = document.querySelector('#samstream-live .samstream-meter');
      if (el) el.textContent = 'in this browser: ' + fps.toFixed(1) + ' frames displayed/s, capture-to-display '
        + (med === null ? '-' : Math.round(med) + ' ms') + ' (median, last 2 s), frame ' + meter.index;
    }
    requestAnimationFrame(loop);
  };
  requestAnimationFrame(loop);
}
"""

_INTRO = """### samstream · live segmentation
Click the picture to segment what you click (**include**); switch the click mode to **exclude** to
carve a region out of the object, or **box** and click two opposite corners. *New object* starts
the next one; every object keeps its id and colour (the ids published on ROS 2).
**This device's camera, live** (a phone too): open [/webrtc](/webrtc) — the camera streams over WebRTC
and the masks are drawn over it at the camera's own frame rate."""


def _img_html(sid: str) -> str:
    return (f'<img class="samstream-live" src="{MJPEG_PATH.lstrip("/")}?sid={sid}" alt="live view" '
            f'draggable="false"><div class="samstream-meter">in this browser: waiting for frames</div>')


def _sid(request: Optional[gr.Request]) -> str:
    sid = getattr(request, "session_hash", None) if request is not None else None
    if not sid:
        raise ValueError("this event has no browser session: reload the page.")
    return str(sid)


def build_app(hub: Optional[Hub] = None, *, source: Union[str, int] = "synthetic", model: str = "classic",
              precision: str = "fp16", readout_s: float = 0.5) -> gr.Blocks:
    """The Gradio Blocks of the live view. ``hub`` (made from ``source``/``model`` if omitted)
    is reachable as ``app.samstream_hub``; serve it with :func:`serve` (which adds the MJPEG route)."""
    if hub is None:
        hub = Hub(source, model=model, precision=precision)

    def act(request: Optional[gr.Request], fn, *args) -> str:
        """Run a view action; a ValueError becomes the page message, the stream keeps running."""
        try:
            view = hub.view(_sid(request))
            out = fn(view, *args)
            return gr.skip() if out is None else f"✔ {out}"
        except (ValueError, KeyError) as exc:
            return f"⚠ {exc}"
        except Exception as exc:  # never a dead page
            return f"⚠ unexpected error: {type(exc).__name__}: {exc}"

    with gr.Blocks(title="samstream live view", delete_cache=DELETE_CACHE) as demo:
        gr.Markdown(_INTRO)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=660):
                live = gr.HTML(value="", js_on_load=_JS_ON_LOAD, elem_id="samstream-live", min_height=240)
                message = gr.Markdown("", elem_id="samstream-message")
                errors = gr.Markdown("", elem_id="samstream-errors")
                with gr.Row():
                    mode = gr.Radio(list(View.MODES), value="include", label="a click adds", elem_id="samstream-mode",
                                    scale=2)
                    new_btn = gr.Button("New object", elem_id="samstream-new", scale=1)
                    clear_btn = gr.Button("Clear", elem_id="samstream-clear", variant="stop", scale=1)
                    every_btn = gr.Button("Segment everything", elem_id="samstream-everything", scale=1)
                with gr.Row():
                    remove_dd = gr.Dropdown(choices=[], value=None, label="object", elem_id="samstream-remove-id",
                                            allow_custom_value=True, scale=2)
                    remove_btn = gr.Button("Remove object", elem_id="samstream-remove", scale=1)
                    box_tb = gr.Textbox(label="box x1,y1,x2,y2 (pixels)", placeholder="100,80,300,260",
                                        elem_id="samstream-box", scale=2)
                    box_btn = gr.Button("Add box", elem_id="samstream-add-box", scale=1)
            with gr.Column(scale=1, min_width=300):
                inp = gr.Radio(list(INPUTS), value=INPUTS[0], label="input", elem_id="samstream-input",
                               info=f"server source: {hub.server.label}")
                cam = gr.Image(sources=["webcam"], streaming=True, type="numpy", label="webcam (press Record)",
                               webcam_options=gr.WebcamOptions(mirror=False), visible=False,
                               elem_id="samstream-webcam", height=240)
                model_dd = gr.Dropdown(choices=model_choices(), value=hub.server.model, label="model",
                                       info="classic needs no weights; others: `samstream export NAME`",
                                       elem_id="samstream-model", allow_custom_value=True)
                alpha = gr.Slider(0.0, 1.0, value=0.5, step=0.05, label="overlay opacity", elem_id="samstream-alpha")
                hide_dd = gr.Dropdown(choices=[], value=[], multiselect=True, label="hide objects",
                                      elem_id="samstream-hide")
                restart_btn = gr.Button("Restart source", elem_id="samstream-restart")
                stats = gr.Markdown("", elem_id="samstream-stats")
        timer = gr.Timer(readout_s)

        def on_load(request: gr.Request):
            sid = _sid(request)
            view = hub.view(sid)
            return _img_html(sid), gr.Dropdown(choices=model_choices(), value=view.stream.model)

        demo.load(on_load, None, [live, model_dd], show_progress="hidden")

        def on_click(evt: gr.EventData, request: gr.Request):
            data = getattr(evt, "_data", None) or {}
            return act(request, lambda v: v.click(data.get("x"), data.get("y"), data.get("width"), data.get("height")))

        def on_mode(m, request: gr.Request):
            return act(request, View.set_mode, m)

        def on_new(request: gr.Request):
            return act(request, View.new_object)

        def on_clear(request: gr.Request):
            return act(request, View.clear)

        def on_everything(request: gr.Request):
            return act(request, View.segment_everything)

        def on_remove(oid, request: gr.Request):
            return act(request, View.remove, oid)

        def on_box(text, request: gr.Request):
            return act(request, View.enter_box, text)

        def on_alpha(a, request: gr.Request):
            return act(request, View.set_alpha, a)

        def on_hide(ids, request: gr.Request):
            return act(request, View.set_hidden, ids)

        def on_restart(request: gr.Request):
            def run(v):
                v.stream.restart()
                return f"restarting {v.stream.label}"
            return act(request, run)

        def on_model(name, request: gr.Request):
            def run(v):
                if name == v.stream.model:
                    return None
                v.stream.set_model(name)
                return f"model {name} loaded; objects carried over as masks."
            return act(request, run)

        quiet = dict(show_progress="hidden")
        # clicks queue in order (a point refines the object the previous click made); each is quick
        live.click(on_click, None, message, trigger_mode="multiple", concurrency_limit=1, **quiet)
        mode.input(on_mode, mode, message, **quiet)
        new_btn.click(on_new, None, message, **quiet)
        clear_btn.click(on_clear, None, message, **quiet)
        every_btn.click(on_everything, None, message, **quiet)
        remove_btn.click(on_remove, remove_dd, message, **quiet)
        box_btn.click(on_box, box_tb, message, **quiet)
        alpha.input(on_alpha, alpha, message, trigger_mode="always_last", **quiet)
        hide_dd.input(on_hide, hide_dd, message, **quiet)
        restart_btn.click(on_restart, None, message, **quiet)
        model_dd.input(on_model, model_dd, message, **quiet)

        def on_input(choice, request: gr.Request):
            webcam = choice == INPUTS[1]
            def run(v):
                v.set_input(webcam)
                return ("webcam: press 'Record' on the webcam panel (allow the camera)" if webcam
                        else f"showing {v.hub.server.label}")
            msg = act(request, run)
            ok = not msg.startswith("⚠")
            return msg, gr.Image(visible=webcam and ok), (choice if ok else INPUTS[0])

        inp.input(on_input, inp, [message, cam, inp], **quiet)

        def on_frame(frame, request: gr.Request):
            try:
                view = hub.find(_sid(request))
                if view is not None:
                    view.push_webcam(frame)
            except ValueError:
                pass  # shown by the readout (webcam limit); the stream keeps running

        cam.stream(on_frame, cam, None, stream_every=0.033, concurrency_limit=8, show_progress="hidden",
                   time_limit=None)

        def on_tick(request: gr.Request):
            view = hub.find(_sid(request))
            if view is None:
                return "", "⚠ this tab's session expired: reload the page.", gr.skip(), gr.skip()
            view.touch()
            r = readout(view)
            ids = list(r["objects"])
            ids_out = hide_out = gr.skip()
            if ids != view.listed_ids:
                view.listed_ids = ids
                ids_out = gr.Dropdown(choices=[str(i) for i in ids])
                hide_out = gr.Dropdown(choices=[str(i) for i in ids], value=[str(i) for i in ids if i in view.hidden])
            err = " · ".join(f"⚠ {e}" for e in r["errors"])
            return stats_markdown(r), err, ids_out, hide_out

        timer.tick(on_tick, None, [stats, errors, remove_dd, hide_dd], show_progress="hidden",
                   concurrency_limit=None)

        def on_unload(request: gr.Request):
            try:
                hub.drop(_sid(request))
            except ValueError:
                pass

        demo.unload(on_unload)
    demo.samstream_hub = hub
    return demo


def make_routes(hub: Hub, rtc=None) -> list[Route]:
    """The MJPEG stream route, a small JSON status route and, with ``rtc`` (a
    :class:`~samstream.ui.webrtc.RtcServer`), the WebRTC page and its signalling, for Gradio's FastAPI app."""

    async def mjpeg(request: Request):
        sid = request.query_params.get("sid", "")
        if not sid or hub.find(sid) is None:
            return PlainTextResponse("unknown or expired session: open (or reload) the live view page.", 404)
        return StreamingResponse(hub.mjpeg(sid), media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
                                 headers={"Cache-Control": "no-store, no-cache", "Pragma": "no-cache",
                                          "X-Accel-Buffering": "no"})

    async def status(request: Request):
        server = hub.server
        m = server.metrics()
        rss = rss_mb()
        body = {"state": server.state, "error": server.error, "model": server.model,
                "source": server.label, "size": server.size,
                "frames_out": m.frames_out if m is not None else 0,
                "input_fps": m.input_fps if m is not None else 0.0,
                "output_fps": m.output_fps if m is not None else 0.0,
                "encoder_latency_ms": m.encoder_latency_ms if m is not None else None,
                "keyframe_age_frames": m.keyframe_age_frames if m is not None else None,
                "keyframes_failed": m.keyframes_failed if m is not None else 0,
                "last_keyframe_error": m.last_keyframe_error if m is not None else None,
                "pipeline_latency_ms": m.latency_ms if m is not None else None,
                "dropped_frames": m.dropped_frames if m is not None else 0,
                "objects": server.object_ids(), "views": len(hub.views),
                "sent_fps": [round(v.sent.value(), 1) for v in hub.views],
                "webcams": sum(1 for v in hub.views if v.webcam is not None),
                "temp_dir": os.environ.get("GRADIO_TEMP_DIR"), "rss_mb": round(rss, 1) if rss is not None else None}
        body.update(rtc.status() if rtc is not None else {"webrtc_sessions": 0, "webrtc": None})
        return JSONResponse(json.loads(json.dumps(body, default=str)))

    routes = [Route(MJPEG_PATH, mjpeg), Route("/samstream/status", status)]
    routes += _webrtc_routes(rtc)
    return routes


def _webrtc_routes(rtc) -> list[Route]:
    """``/webrtc`` (the page), ``POST /webrtc/offer`` (SDP offer -> answer), ``POST /webrtc/close``."""
    from .webrtc_page import PAGE_PATH, page_html

    missing = ("the WebRTC view needs aiortc, which is not installed: pip install 'samstream[ui]' "
               "(or pip install aiortc), then restart `samstream demo`.")

    async def page(request: Request):
        if rtc is None:
            return PlainTextResponse(missing, 501)
        return HTMLResponse(page_html(rtc.browser_ice_servers()), headers={"Cache-Control": "no-store"})

    async def offer(request: Request):
        if rtc is None:
            return JSONResponse({"error": missing}, 501)
        from .webrtc import MAX_OFFER_BYTES, SessionLimit

        raw = await request.body()
        if len(raw) > MAX_OFFER_BYTES + 1024:
            return JSONResponse({"error": "the offer is too large (over 64 KB): reload the page."}, 413)
        try:
            body = json.loads(raw)
            if not isinstance(body, dict):
                raise ValueError
        except ValueError:
            return JSONResponse({"error": "POST a JSON object {\"sdp\": ..., \"type\": \"offer\"}."}, 400)
        try:
            return JSONResponse(await rtc.offer(body.get("sdp"), body.get("type")))
        except SessionLimit as exc:
            return JSONResponse({"error": str(exc)}, 503)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, 400)
        except TimeoutError:
            return JSONResponse({"error": "the server did not answer the offer in time: reload the page."}, 504)

    async def close(request: Request):
        if rtc is None:
            return JSONResponse({"closed": False})
        raw = await request.body()
        try:
            sid = json.loads(raw[:4096] or b"{}").get("session")
        except (ValueError, AttributeError):
            sid = None
        sid = sid or request.query_params.get("session")
        closed = bool(isinstance(sid, str) and rtc.close_session(sid, "page closed (beacon)"))
        return JSONResponse({"closed": closed})

    return [Route(PAGE_PATH, page), Route(PAGE_PATH + "/offer", offer, methods=["POST"]),
            Route(PAGE_PATH + "/close", close, methods=["POST"])]


def _start_rtc(hub: Hub, ice_servers, quiet: bool):
    """The WebRTC sessions server, or ``None`` (with a note) when aiortc is missing."""
    try:
        from .webrtc import RtcServer

        return RtcServer(hub, ice_servers=tuple(ice_servers or ()))
    except ImportError as exc:
        if not quiet:
            print(f"note: {exc}", flush=True)
        return None


def serve(source: Union[str, int] = "synthetic", model: str = "classic", precision: str = "fp16",
          host: str = "127.0.0.1", port: int = 7860, share: bool = False, block: bool = True,
          quiet: bool = False, hub: Optional[Hub] = None, https: bool = False, cert: Optional[str] = None,
          key: Optional[str] = None, token: Optional[str] = None, ice_servers=(), webrtc: bool = True,
          max_webrtc: int = 2) -> gr.Blocks:
    """Start the live view at ``http(s)://host:port`` (``share=True``: also a public Gradio link).

    Args:
        https: serve over TLS; with no ``cert``/``key`` a self-signed certificate is made
            (:func:`~samstream.ui.security.self_signed_cert`).
        cert, key: PEM files of your own certificate (implies ``https``).
        token: access token required on every route (:class:`~samstream.ui.security.TokenGate`).
        ice_servers: :class:`~samstream.ui.webrtc.IceServer` s for the WebRTC view (none on a LAN).
        webrtc: serve the WebRTC view (``/webrtc``; needs aiortc).
        max_webrtc: WebRTC sessions (and browser webcams) at once.

    With ``block=False`` the server runs in the background and the Blocks is returned (close it
    with ``demo.close()`` and ``demo.samstream_hub.close()``; ``demo.samstream_rtc`` is the WebRTC server).
    """
    if (cert is None) != (key is None):
        raise ValueError("give both --cert FILE and --key FILE (PEM), or neither (with --https a self-signed "
                         "certificate is made).")
    for path, what in ((cert, "--cert"), (key, "--key")):
        if path is not None and not os.path.isfile(path):
            raise FileNotFoundError(f"{what} {path} does not exist: give the PEM file's path.")
    https = bool(https or cert)
    if https and cert is None:
        cert, key = (str(p) for p in self_signed_cert(host))
    if hub is None:
        hub = Hub(source, model=model, precision=precision, max_webcams=max(0, int(max_webrtc)))
    rtc = _start_rtc(hub, ice_servers, quiet) if webrtc else None
    demo = build_app(hub)
    app_kwargs: dict = {"routes": make_routes(hub, rtc)}
    if token:
        app_kwargs["middleware"] = [Middleware(TokenGate, token=token, secure_cookie=https,
                                               allow_once=("/gradio_api/startup-events",))]
    ssl = dict(ssl_keyfile=key, ssl_certfile=cert, ssl_verify=False) if https else {}
    try:
        demo.launch(server_name=host, server_port=int(port), share=share, prevent_thread_lock=True,
                    app_kwargs=app_kwargs, quiet=quiet, show_error=True, ssr_mode=False, css=_CSS, **ssl)
    except OSError as exc:
        if rtc is not None:
            rtc.close()
        hub.close()
        raise RuntimeError(f"cannot serve on {host}:{port} ({exc}): pick a free port with --port N.") from None
    demo.samstream_rtc = rtc
    if not quiet:
        _announce(hub, host, port, https, token)
    if block:
        try:
            demo.block_thread()
        except KeyboardInterrupt:
            pass
        finally:
            if rtc is not None:
                rtc.close()
            hub.close()
            demo.close()
    return demo


def _announce(hub: Hub, host: str, port: int, https: bool, token: Optional[str]) -> None:
    """Print the URLs (and, when reachable from other machines, a QR code of the WebRTC view's)."""
    scheme = "https" if https else "http"
    exposed = host not in ("127.0.0.1", "localhost", "::1")
    name = (lan_address() or "localhost") if host in ("0.0.0.0", "::") else ("localhost" if not exposed else host)
    q = f"?token={token}" if token else ""
    base = f"{scheme}://{name}:{port}"
    print(f"samstream live view: {base}/{q}  (source {hub.server.label}, model {hub.server.model}; Ctrl+C to stop)",
          flush=True)
    print(f"this device's camera over WebRTC: {base}/webrtc{q}", flush=True)
    if exposed:
        if not https:
            print("note: phones and other machines can open the camera only over https: add --https.", flush=True)
        if not token:
            print("note: no --token: anyone who can reach this address can use the live view "
                  "(add --token auto).", flush=True)
        qr = terminal_qr(f"{base}/webrtc{q}")
        if qr:
            print("scan with a phone on the same network (self-signed certificate: tap 'Advanced' -> "
                  "'Proceed' once):", flush=True)
            print(qr, flush=True)
