"""Benchmark of the live view as a person sees it: frames displayed per second and capture-to-display
latency, measured *in the browser*.

It starts ``samstream demo`` in a subprocess, opens the page in headless Chromium (the system one,
driven by Playwright), optionally clicks objects so segmentation and tracking run, and reads the
page's own meter: every displayed frame carries its frame number and capture time in its pixels
(:mod:`samstream.ui.stamp`); the page decodes the stamp on each animation frame, counts distinct
frames and takes ``Date.now() - capture time`` (same machine, same clock). Latency therefore
includes capture, tracking, overlay, JPEG, the HTTP stream, decoding and compositing in the
browser, plus up to one animation frame of polling granularity.

::

    python -m samstream.ui.bench --seconds 15 --json ui_bench.json
    # or, from code:
    from samstream.ui.bench import run_ui_bench
    record = run_ui_bench(seconds=15)

Needs the ``[ui]`` extra (Gradio), Playwright (``[test]`` extra) and a Chromium
(``apt-get install chromium``; ``--chromium PATH`` / ``SAMSTREAM_CHROMIUM`` elsewhere).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Optional, Sequence

__all__ = ["run_ui_bench", "main", "TARGET_FPS", "TARGET_LATENCY_MS"]

TARGET_FPS = 25.0
TARGET_LATENCY_MS = 100.0
TARGET_VIDEO_FPS, TARGET_OVERLAY_FPS, TARGET_LAG_MS = 25.0, 15.0, 150.0  # the WebRTC path
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
_IMG = "#samstream-live img.samstream-live"


def clip_times(frames: int) -> list[float]:
    """Scene times of the fake-camera clip: slow motion forth and back (Chromium loops the file
    with no jump)."""
    half = frames // 2
    return [0.5 * (i if i < half else frames - 1 - i) for i in range(frames)]


def write_stamped_y4m(path, frames: int = 90, size: tuple[int, int] = (640, 480), seed: int = 5,
                      fps: int = 30) -> list:
    """A fake-camera clip for Chromium (``--use-file-for-fake-video-capture``): YUV 4:2:0 frames of a
    synthetic scene at :func:`clip_times`, frame ``i`` stamped with index ``i`` (:mod:`~samstream.ui.stamp`)
    so the page and the server can tell which camera frame they hold. Returns the BGR frames (stamped)."""
    import cv2

    from ..sources import SyntheticScene
    from .stamp import encode_stamp

    w, h = size
    scene = SyntheticScene(w, h, 3, seed)
    out = []
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F{int(fps)}:1 Ip A1:1 C420jpeg\n".encode())
        for i, t in enumerate(clip_times(frames)):
            img, _ = scene.render(t)
            img = encode_stamp(img.copy(), i, 0.0)
            out.append(img)
            f.write(b"FRAME\n")
            f.write(cv2.cvtColor(img, cv2.COLOR_BGR2YUV_I420).tobytes())
    return out


def find_chromium(path: Optional[str] = None) -> str:
    for cand in (path, os.environ.get("SAMSTREAM_CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium",
                 shutil.which("chromium-browser"), shutil.which("google-chrome")):
        if cand and Path(cand).exists():
            return str(cand)
    raise FileNotFoundError("no Chromium found: install it (Debian/Ubuntu: apt-get install chromium; "
                            "bash scripts/setup.sh does it) or pass --chromium /path/to/chromium.")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


def _percentile(values: list[float], q: float) -> Optional[float]:
    if not values:
        return None
    v = sorted(values)
    k = min(len(v) - 1, max(0, int(round(q / 100.0 * (len(v) - 1)))))
    return round(float(v[k]), 1)


def _click_objects(page, source: str, n: int) -> list[int]:
    """Click the ``n`` roomiest objects of a synthetic source (ground truth from the frame stamp)."""
    import cv2
    import numpy as np

    from ..sources import parse_synthetic_spec
    from ..sources.synthetic import SyntheticScene
    from .stamp import decode_stamp

    kw = parse_synthetic_spec(source)
    scene = SyntheticScene(kw.get("width", 640), kw.get("height", 480), kw.get("num_objects", 3),
                           kw.get("seed", 0), kw.get("speed", 1.0))
    png = page.locator(_IMG).screenshot()
    shot = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    w, h = page.evaluate("(s) => { const i = document.querySelector(s); return [i.naturalWidth, i.naturalHeight]; }", _IMG)
    if shot.shape[1] != w:
        shot = cv2.resize(shot, (w, h), interpolation=cv2.INTER_AREA)
    stamp = decode_stamp(shot[:h])
    if stamp is None:
        raise RuntimeError("could not read the frame stamp of the live view (is the picture scaled?).")
    _, labels = scene.render(stamp[0] + 3)
    rooms = []
    for oid in scene.object_ids():
        d = cv2.distanceTransform((labels == oid).astype(np.uint8), cv2.DIST_L2, 5)
        y, x = np.unravel_index(np.argmax(d), d.shape)
        rooms.append((float(d[y, x]), int(x), int(y), oid))
    rooms.sort(reverse=True)
    box = page.locator(_IMG).bounding_box()
    clicked = []
    for _, x, y, oid in rooms[:n]:
        page.click("#samstream-new")
        time.sleep(0.3)
        page.mouse.click(box["x"] + x * box["width"] / w, box["y"] + y * box["height"] / h)
        time.sleep(0.5)
        clicked.append(oid)
    return clicked


def _mjpeg_record(page, url: str, source: str, objects: int, warmup: float, seconds: float) -> dict:
    """The server-camera (MJPEG) page: frames displayed/s and capture-to-display latency."""
    page.goto(url)
    page.wait_for_selector(_IMG, timeout=60000)
    _wait_text(page, "#samstream-stats", "input fps", 60, "the live view did not start")
    clicked = _click_objects(page, source, objects) if objects and source.startswith("synthetic") else []
    time.sleep(warmup)
    meter, elapsed = _measure_img_meter(page, seconds)
    readout = page.inner_text("#samstream-stats")
    rec = _img_record(meter, elapsed)
    rec.update(objects_clicked=len(clicked), page_readout=readout)
    return rec


def _wait_text(page, sel: str, text: str, timeout: float, why: str) -> None:
    deadline = time.monotonic() + timeout
    while text not in page.inner_text(sel):
        if time.monotonic() > deadline:
            errs = page.inner_text("#samstream-errors") if page.locator("#samstream-errors").count() else ""
            raise RuntimeError(f"{why}: {errs}")
        time.sleep(0.3)


def _measure_img_meter(page, seconds: float) -> tuple[dict, float]:
    page.evaluate("() => { const m = window.samstreamMeter; m.frames = 0; m.latencies = []; m.shown = []; }")
    start = time.monotonic()
    time.sleep(seconds)
    meter = page.evaluate("() => ({frames: window.samstreamMeter.frames, "
                          "latencies: window.samstreamMeter.latencies.slice(), "
                          "shown: window.samstreamMeter.shown.slice()})")
    return meter, time.monotonic() - start


def _img_record(meter: dict, elapsed: float) -> dict:
    lats = [float(v) for v in meter["latencies"]]
    shown = meter["shown"]
    gaps = [b - a for a, b in zip(shown, shown[1:])]
    fps = meter["frames"] / elapsed if elapsed > 0 else 0.0
    return {
        "seconds": round(elapsed, 2),
        "frames_displayed": int(meter["frames"]),
        "displayed_fps": round(fps, 2),
        "capture_to_display_ms": {"median": _percentile(lats, 50), "p90": _percentile(lats, 90),
                                  "p99": _percentile(lats, 99),
                                  "mean": round(sum(lats) / len(lats), 1) if lats else None,
                                  "min": _percentile(lats, 0), "max": _percentile(lats, 100)},
        "display_gap_ms": {"median": _percentile(gaps, 50), "p99": _percentile(gaps, 99),
                           "max": _percentile(gaps, 100)},
    }


def _gradio_webcam_record(page, url: str, warmup: float, seconds: float, size: tuple[int, int]) -> dict:
    """The Gradio-webcam path: the page's webcam component streams frames, the picture shows the results."""
    page.goto(url)
    page.wait_for_selector(_IMG, timeout=60000)
    _wait_text(page, "#samstream-stats", "input fps", 60, "the live view did not start")
    page.get_by_label("browser webcam").check()
    _wait_text(page, "#samstream-message", "Record", 20, "the webcam input did not open")
    page.get_by_text("Click to Access Webcam").first.click()
    rec_btn = page.locator("#samstream-webcam button", has_text="Record")
    deadline = time.monotonic() + 20
    while rec_btn.count() == 0:
        if time.monotonic() > deadline:
            raise RuntimeError("the webcam panel shows no Record button.")
        time.sleep(0.2)
    rec_btn.first.click()
    deadline = time.monotonic() + 40
    while tuple(page.evaluate("(s) => { const i = document.querySelector(s); "
                              "return [i.naturalWidth, i.naturalHeight]; }", _IMG)) != tuple(size):
        if time.monotonic() > deadline:
            raise RuntimeError("no webcam frame reached the picture within 40 s.")
        time.sleep(0.3)
    time.sleep(warmup)
    meter, elapsed = _measure_img_meter(page, seconds)
    rec = _img_record(meter, elapsed)
    rec["note"] = ("latency counts from the frame's arrival at the server (its stamp is written there), not "
                   "from the camera: the upload is not included.")
    rec["page_readout"] = page.inner_text("#samstream-stats")
    return rec


_RTC_SNAPSHOT = """() => { const M = window.samstreamRtc, q = document.getElementById('cam').getVideoPlaybackQuality();
  return {video: M.video.frames, updates: M.overlay.updates, lags: M.overlay.lags.slice(), unmatched: M.overlay.unmatched,
          shown: M.video.shown.slice(), total: q.totalVideoFrames, dropped: q.droppedVideoFrames,
          reconnects: M.reconnects, server_ms: M.last ? M.last.server_ms : null}; }"""


def _webrtc_record(page, url: str, objects: int, warmup: float, seconds: float, frames: int, seed: int) -> dict:
    """The WebRTC page: video frames displayed/s, overlay updates/s, camera-to-overlay lag."""
    import cv2
    import numpy as np

    from ..sources import SyntheticScene

    page.goto(url + "/webrtc")
    deadline = time.monotonic() + 60
    while not page.evaluate("() => !!window.samstreamRtc && window.samstreamRtc.connected && "
                            "window.samstreamRtc.overlay.updates > 3"):
        if time.monotonic() > deadline:
            raise RuntimeError("the WebRTC view did not connect: " + page.inner_text("#status"))
        time.sleep(0.3)
    scene, times = SyntheticScene(640, 480, 3, seed), clip_times(frames)
    box = page.locator("#overlay").bounding_box()
    clicked = 0
    for n in range(max(0, objects)):
        cam = page.evaluate("() => { let b = null, t = -1; for (const [k, v] of window.samstreamRtc.stamps) "
                            "if (v > t) { t = v; b = k; } return b; }")
        if cam is None:
            break
        _, labels = scene.render(times[min(int(cam) + 2, frames - 1)])
        ids = sorted(scene.object_ids(), key=lambda o: -(labels == o).sum())
        if n >= len(ids):
            break
        d = cv2.distanceTransform((labels == ids[n]).astype(np.uint8), cv2.DIST_L2, 5)
        y, x = np.unravel_index(np.argmax(d), d.shape)
        page.click("#new")
        time.sleep(0.3)
        page.mouse.click(box["x"] + x * box["width"] / 640, box["y"] + y * box["height"] / 480)
        time.sleep(0.5)
        clicked += 1
    time.sleep(warmup)
    a = page.evaluate(_RTC_SNAPSHOT)
    start = time.monotonic()
    time.sleep(seconds)
    b = page.evaluate(_RTC_SNAPSHOT)
    elapsed = time.monotonic() - start
    lags = [float(v) for v in b["lags"][len(a["lags"]):]] if len(b["lags"]) >= len(a["lags"]) else b["lags"]
    video_fps = (b["video"] - a["video"]) / elapsed
    overlay_fps = (b["updates"] - a["updates"]) / elapsed
    shown = [t for t in b["shown"] if t > (a["shown"][-1] if a["shown"] else 0)]
    gaps = [y - x for x, y in zip(shown, shown[1:])]
    med = _percentile(lags, 50)
    return {
        "seconds": round(elapsed, 2),
        "objects_clicked": clicked,
        "video_displayed_fps": round(video_fps, 2),
        "video_frames_decoded_fps": round((b["total"] - a["total"]) / elapsed, 2),
        "video_frames_dropped": int(b["dropped"] - a["dropped"]),
        "overlay_updates_per_s": round(overlay_fps, 2),
        "camera_to_overlay_lag_ms": {"median": med, "p90": _percentile(lags, 90), "p99": _percentile(lags, 99),
                                     "n": len(lags), "unmatched_updates": int(b["unmatched"] - a["unmatched"])},
        "video_gap_ms": {"median": _percentile(gaps, 50), "p99": _percentile(gaps, 99)},
        "server_receive_to_send_ms_last": b["server_ms"],
        "reconnects": int(b["reconnects"]),
        "page_meter": page.inner_text("#meter"),
        "page_server": page.inner_text("#server"),
        "meets_targets": bool(video_fps >= TARGET_VIDEO_FPS and overlay_fps >= TARGET_OVERLAY_FPS and med is not None
                              and med <= TARGET_LAG_MS),
        "method": "fake camera 640x480@30 whose frame i carries the stamp i; the page notes when it displays each "
                  "camera frame (requestVideoFrameCallback + stamp) and, for each overlay it draws, the time since "
                  "it displayed the camera frame the overlay was computed from (the lag the eye sees between video "
                  "and overlay).",
    }


def run_ui_bench(seconds: float = 10.0, source: str = "synthetic:640x480@30", model: str = "classic",
                 objects: int = 1, warmup: float = 4.0, chromium: Optional[str] = None,
                 port: Optional[int] = None, log=None, webrtc: bool = False) -> dict:
    """Serve the live view, watch it in headless Chromium for ``seconds``, return one JSON record.

    Args:
        seconds: measured time (after ``warmup``) of each path.
        source: the server-side source (default: 640x480 synthetic scene at 30 fps).
        model: ``classic`` (default) or an exported SAM model.
        objects: synthetic objects to click (so masks are tracked and drawn); 0 = bare frames.
        chromium: path of the browser (default: the system Chromium).
        webrtc: measure the three paths in the same run, one after the other, with one server and a
            fake camera (640x480@30, stamped): ``mjpeg`` (server camera), ``gradio_webcam`` (the
            browser's camera through Gradio's webcam component) and ``webrtc`` (``/webrtc``).
    """
    if seconds <= 0 or seconds > 120:
        raise ValueError("seconds must be in (0, 120].")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise ImportError("the UI benchmark drives a browser with Playwright: pip install 'samstream[test]' "
                          "(or pip install playwright; no `playwright install` needed, it uses your Chromium).") from None
    from . import require_gradio

    require_gradio()
    exe = find_chromium(chromium)
    say = log or (lambda m: print(m, file=sys.stderr))
    port = port or _free_port()
    url = f"http://127.0.0.1:{port}"
    tmp = tempfile.mkdtemp(prefix="samstream-uibench-")
    env = dict(os.environ, GRADIO_TEMP_DIR=tmp, GRADIO_ANALYTICS_ENABLED="False", PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-c", "import sys; from samstream.cli import main; sys.exit(main())",
           "demo", "--source", source, "--model", model, "--port", str(port)]
    args = list(CHROMIUM_ARGS)
    cam_frames, cam_seed = 90, 5
    if webrtc:
        clip = Path(tmp) / "fake_camera.y4m"
        write_stamped_y4m(clip, frames=cam_frames, size=(640, 480), seed=cam_seed)
        args += ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                 f"--use-file-for-fake-video-capture={clip}"]
    logf = open(Path(tmp) / "server.log", "w")
    proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, env=env)
    load0 = os.getloadavg() if hasattr(os, "getloadavg") else None
    out: dict = {}
    try:
        t0 = time.monotonic()
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"samstream demo exited ({proc.returncode}): "
                                   f"{(Path(tmp) / 'server.log').read_text()[-2000:]}")
            try:
                _get_json(url + "/samstream/status")
                break
            except OSError:
                if time.monotonic() - t0 > 90:
                    raise RuntimeError("samstream demo did not start within 90 s.") from None
                time.sleep(0.3)
        say(f"ui bench: serving {source} with {model} on {url}")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=exe, args=args, headless=True)
            version = browser.version

            def fresh_page():
                ctx = browser.new_context(viewport={"width": 1440, "height": 1100},
                                          permissions=["camera"] if webrtc else [])
                return ctx.new_page()

            page = fresh_page()
            out["mjpeg"] = _mjpeg_record(page, url, source, objects, warmup, seconds)
            out["mjpeg"]["server"] = _server_numbers(_get_json(url + "/samstream/status"))
            page.context.close()
            if webrtc:
                say("ui bench: the Gradio webcam path")
                page = fresh_page()
                try:
                    out["gradio_webcam"] = _gradio_webcam_record(page, url, warmup, seconds, (640, 480))
                    out["gradio_webcam"]["server"] = _server_numbers(_get_json(url + "/samstream/status"))
                except RuntimeError as exc:
                    out["gradio_webcam"] = {"error": str(exc)}
                page.context.close()
                time.sleep(1.0)
                say("ui bench: the WebRTC path")
                page = fresh_page()
                out["webrtc"] = _webrtc_record(page, url, objects, warmup, seconds, cam_frames, cam_seed)
                st = _get_json(url + "/samstream/status")
                out["webrtc"]["server"] = {k: st.get(k) for k in ("webrtc_sessions", "webrtc", "rss_mb")}
                page.context.close()
            browser.close()
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        logf.close()
        shutil.rmtree(tmp, ignore_errors=True)
    machine = {"cpu_count": os.cpu_count(), "platform": platform.platform(),
               "load_avg_before": [round(v, 2) for v in load0] if load0 else None,
               "load_avg_after": [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None}
    m = out["mjpeg"]
    med = m["capture_to_display_ms"]["median"]
    m["meets_targets"] = bool(m["displayed_fps"] >= TARGET_FPS and med is not None and med <= TARGET_LATENCY_MS)
    m["method"] = ("frame number + capture time stamped into each frame's pixels, decoded in the page on every "
                   "animation frame; latency = Date.now() - capture time (same clock), includes <= 1 animation "
                   "frame of polling.")
    if not webrtc:
        record = {"benchmark": "ui_live_view", "source": source, "size": m["server"].get("size"), "model": model}
        record.update({k: v for k, v in m.items() if k != "server"})
        record["objects_tracked"] = len(m["server"].get("objects") or [])
        record["server"] = {k: m["server"].get(k) for k in _SERVER_KEYS}
        record.update(browser=f"Chromium {version} (headless)", machine=machine,
                      targets={"displayed_fps": TARGET_FPS, "capture_to_display_ms": TARGET_LATENCY_MS})
        return record
    return {"benchmark": "ui_paths", "source": source, "model": model, "camera": "Chromium fake camera 640x480@30",
            "browser": f"Chromium {version} (headless)", "machine": machine,
            "targets": {"mjpeg": {"displayed_fps": TARGET_FPS, "capture_to_display_ms": TARGET_LATENCY_MS},
                        "webrtc": {"video_displayed_fps": TARGET_VIDEO_FPS, "overlay_updates_per_s": TARGET_OVERLAY_FPS,
                                   "camera_to_overlay_lag_ms_median": TARGET_LAG_MS}},
            **out}


_SERVER_KEYS = ("input_fps", "output_fps", "encoder_latency_ms", "keyframe_age_frames", "pipeline_latency_ms",
                "dropped_frames", "sent_fps", "rss_mb")


def _server_numbers(status: dict) -> dict:
    return {k: status.get(k) for k in _SERVER_KEYS + ("size", "objects", "webcams")}


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m samstream.ui.bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0, help="measured seconds (default 10)")
    ap.add_argument("--source", default="synthetic:640x480@30", help="server-side source (default synthetic:640x480@30)")
    ap.add_argument("--model", default="classic", help="model (default classic)")
    ap.add_argument("--objects", type=int, default=1, help="synthetic objects to click and track (default 1; 0 = bare)")
    ap.add_argument("--warmup", type=float, default=4.0, help="seconds before measuring (default 4)")
    ap.add_argument("--chromium", help="browser executable (default: the system chromium)")
    ap.add_argument("--webrtc", action="store_true",
                    help="also measure the browser-camera paths (Gradio webcam, WebRTC) in the same run")
    ap.add_argument("--json", type=Path, help="write the record here")
    args = ap.parse_args(argv)
    try:
        rec = run_ui_bench(seconds=args.seconds, source=args.source, model=args.model, objects=args.objects,
                           warmup=args.warmup, chromium=args.chromium, webrtc=args.webrtc)
    except (ImportError, FileNotFoundError, RuntimeError, ValueError) as exc:
        print(f"ui bench: error: {exc}", file=sys.stderr)
        return 2
    text = json.dumps(rec, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
