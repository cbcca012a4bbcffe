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


def run_ui_bench(seconds: float = 10.0, source: str = "synthetic:640x480@30", model: str = "classic",
                 objects: int = 1, warmup: float = 4.0, chromium: Optional[str] = None,
                 port: Optional[int] = None, log=None) -> dict:
    """Serve the live view, watch it in headless Chromium for ``seconds``, return one JSON record.

    Args:
        seconds: measured time (after ``warmup``).
        source: the server-side source (default: 640x480 synthetic scene at 30 fps).
        model: ``classic`` (default) or an exported SAM model.
        objects: synthetic objects to click (so masks are tracked and drawn); 0 = bare frames.
        chromium: path of the browser (default: the system Chromium).
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
    logf = open(Path(tmp) / "server.log", "w")
    proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, env=env)
    load0 = os.getloadavg() if hasattr(os, "getloadavg") else None
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
            browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS, headless=True)
            version = browser.version
            page = browser.new_page(viewport={"width": 1440, "height": 1100})
            page.goto(url)
            page.wait_for_selector(_IMG, timeout=60000)
            deadline = time.monotonic() + 60
            while "input fps" not in page.inner_text("#samstream-stats"):
                if time.monotonic() > deadline:
                    raise RuntimeError("the live view did not start: " + page.inner_text("#samstream-errors"))
                time.sleep(0.3)
            clicked = _click_objects(page, source, objects) if objects and source.startswith("synthetic") else []
            time.sleep(warmup)
            page.evaluate("() => { const m = window.samstreamMeter; m.frames = 0; m.latencies = []; m.shown = []; }")
            start = time.monotonic()
            time.sleep(seconds)
            meter = page.evaluate("() => ({frames: window.samstreamMeter.frames, "
                                  "latencies: window.samstreamMeter.latencies.slice(), "
                                  "shown: window.samstreamMeter.shown.slice()})")
            elapsed = time.monotonic() - start
            status = _get_json(url + "/samstream/status")
            readout = page.inner_text("#samstream-stats")
            browser.close()
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        logf.close()
        shutil.rmtree(tmp, ignore_errors=True)
    lats = [float(v) for v in meter["latencies"]]
    shown = meter["shown"]
    gaps = [b - a for a, b in zip(shown, shown[1:])]
    fps = meter["frames"] / elapsed if elapsed > 0 else 0.0
    med = _percentile(lats, 50)
    record = {
        "benchmark": "ui_live_view",
        "source": source,
        "size": status.get("size"),
        "model": model,
        "objects_clicked": len(clicked),
        "objects_tracked": len(status.get("objects") or []),
        "seconds": round(elapsed, 2),
        "frames_displayed": int(meter["frames"]),
        "displayed_fps": round(fps, 2),
        "capture_to_display_ms": {"median": med, "p90": _percentile(lats, 90), "p99": _percentile(lats, 99),
                                  "mean": round(sum(lats) / len(lats), 1) if lats else None,
                                  "min": _percentile(lats, 0), "max": _percentile(lats, 100)},
        "display_gap_ms": {"median": _percentile(gaps, 50), "p99": _percentile(gaps, 99),
                           "max": _percentile(gaps, 100)},
        "server": {k: status.get(k) for k in ("input_fps", "output_fps", "encoder_latency_ms",
                                              "keyframe_age_frames", "pipeline_latency_ms", "dropped_frames",
                                              "sent_fps", "rss_mb")},
        "page_readout": readout,
        "browser": f"Chromium {version} (headless)",
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(),
                    "load_avg_before": [round(v, 2) for v in load0] if load0 else None,
                    "load_avg_after": [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None},
        "targets": {"displayed_fps": TARGET_FPS, "capture_to_display_ms": TARGET_LATENCY_MS},
        "meets_targets": bool(fps >= TARGET_FPS and med is not None and med <= TARGET_LATENCY_MS),
        "method": "frame number + capture time stamped into each frame's pixels, decoded in the page on every "
                  "animation frame; latency = Date.now() - capture time (same clock), includes <= 1 animation "
                  "frame of polling.",
    }
    return record


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m samstream.ui.bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0, help="measured seconds (default 10)")
    ap.add_argument("--source", default="synthetic:640x480@30", help="server-side source (default synthetic:640x480@30)")
    ap.add_argument("--model", default="classic", help="model (default classic)")
    ap.add_argument("--objects", type=int, default=1, help="synthetic objects to click and track (default 1; 0 = bare)")
    ap.add_argument("--warmup", type=float, default=4.0, help="seconds before measuring (default 4)")
    ap.add_argument("--chromium", help="browser executable (default: the system chromium)")
    ap.add_argument("--json", type=Path, help="write the record here")
    args = ap.parse_args(argv)
    try:
        rec = run_ui_bench(seconds=args.seconds, source=args.source, model=args.model, objects=args.objects,
                           warmup=args.warmup, chromium=args.chromium)
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
