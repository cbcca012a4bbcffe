#!/usr/bin/env python3
"""Make docs/rerun_3d.png: samstream's Rerun log of a synthetic RGB-D run, in the Rerun web viewer.

    PYTHONPATH=. python scripts/make_rerun_picture.py [--out docs/rerun_3d.png] [--frames 45]

1. runs the pipeline (classic model; the three objects prompted with frame 0's true masks, so the
   picture shows the 3-D step rather than the model; the synthetic source's known depth) with
   a RerunSink saving to a temporary .rrd (the same as ``samstream run --depth --rerun-save``);
2. serves that file with the Rerun SDK's own viewer (``rerun FILE.rrd --web-viewer``, WebGL);
3. opens it in headless Chromium (playwright; software rendering) and takes a screenshot.
Needs the [viz] and [test] extras and a chromium (``SAMSTREAM_CHROMIUM`` or ``/usr/bin/chromium``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def record(path: Path, frames: int) -> None:
    from samstream import Pipeline
    from samstream.sinks.rerun import RerunSink
    from samstream.sources import SyntheticSource

    from samstream.types import Prompt

    sink = RerunSink(save=path, threaded=False)
    src = SyntheticSource(640, 480, seed=0, num_objects=3, frames=frames, realtime=False)
    gt0 = src.scene.render(0)[1]  # prompted with the first frame's true masks: the picture shows the 3-D step
    prompts = [Prompt(k, mask=gt0 == k) for k in src.object_ids]
    with Pipeline(src, prompts=prompts, sinks=[sink],
                  asynchronous=False, keyframe_interval=5, auto_objects=0, depth="source") as pipe:
        sink.watch_pipeline(pipe)
        for _ in pipe:
            pass


def screenshot(rrd: Path, out: Path, wait_s: float) -> None:
    from playwright.sync_api import sync_playwright

    grpc, web = _free_port(), _free_port()
    rerun = shutil.which("rerun", path=os.path.dirname(sys.executable)) or "rerun"
    proc = subprocess.Popen([rerun, str(rrd), "--web-viewer", "--port", str(grpc), "--web-viewer-port", str(web),
                             "--renderer", "webgl"], env={**os.environ, "BROWSER": "true"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        time.sleep(4)
        exe = os.environ.get("SAMSTREAM_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=exe, headless=True,
                                  args=["--no-sandbox", "--use-gl=angle", "--use-angle=swiftshader",
                                        "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist"])
            page = b.new_page(viewport={"width": 1600, "height": 720})
            page.goto(f"http://127.0.0.1:{web}/?url=rerun%2Bhttp%3A%2F%2F127.0.0.1%3A{grpc}%2Fproxy&renderer=webgl")
            time.sleep(wait_s)  # the wasm viewer loads, receives the recording and renders (software GL)
            page.screenshot(path=str(out))
            b.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "rerun_3d.png")
    ap.add_argument("--frames", type=int, default=12)
    ap.add_argument("--wait", type=float, default=45.0, help="seconds the viewer gets before the screenshot")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rrd = Path(tmp) / "samstream.rrd"
        record(rrd, args.frames)
        screenshot(rrd, args.out, args.wait)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
