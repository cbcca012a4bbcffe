"""Helpers of the real-browser tests: `samstream demo` in a subprocess, Debian's Chromium, a fake webcam.

Chromium comes from the system (``apt-get install chromium``, done by ``scripts/setup.sh``), not
from ``playwright install``; ``SAMSTREAM_CHROMIUM`` points elsewhere if needed. The fake webcam
is a ``.y4m`` written here from synthetic frames. Screenshots go to ``artifacts/ui/``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "ui"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WEBCAM_SEED, WEBCAM_SIZE, WEBCAM_FRAMES = 5, (320, 240), 60
RTC_SEED, RTC_FRAMES = 5, 90  # the WebRTC tests' fake camera (samstream.ui.bench.write_stamped_y4m, 640x480)


def chromium_path() -> str:
    for cand in (os.environ.get("SAMSTREAM_CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium",
                 shutil.which("chromium-browser")):
        if cand and Path(cand).exists():
            return cand
    pytest.skip("no Chromium: install it with `bash scripts/setup.sh` (apt-get install chromium) "
                "or set SAMSTREAM_CHROMIUM=/path/to/chromium")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def webcam_times(frames: int = WEBCAM_FRAMES) -> list[float]:
    """Scene times of the fake-webcam clip: slow motion forth and back, so Chromium's loop of the
    file has no jump."""
    half = frames // 2
    return [0.5 * (i if i < half else frames - 1 - i) for i in range(frames)]


def write_y4m(path: Path, frames: int = WEBCAM_FRAMES, size=WEBCAM_SIZE, seed: int = WEBCAM_SEED) -> list[np.ndarray]:
    """A fake-webcam clip (YUV 4:2:0) of a synthetic scene; returns its BGR frames."""
    from samstream.sources import SyntheticScene

    w, h = size
    scene = SyntheticScene(w, h, 3, seed)
    out = []
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F30:1 Ip A1:1 C420jpeg\n".encode())
        for t in webcam_times(frames):
            img, _ = scene.render(t)
            out.append(img)
            f.write(b"FRAME\n")
            f.write(cv2.cvtColor(img, cv2.COLOR_BGR2YUV_I420).tobytes())
    return out


class DemoServer:
    """``samstream demo ARGS`` on a free port, with its own Gradio temp dir and a log file."""

    def __init__(self, args: list[str], tmp: Path, name: str, token: str | None = None):
        self.port = free_port()
        self.https = "--https" in args
        self.token = token
        self.url = f"{'https' if self.https else 'http'}://127.0.0.1:{self.port}"
        self.temp_dir = tmp / f"gradio-{name}"
        self.temp_dir.mkdir(parents=True, exist_ok=True)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.log_path = ARTIFACTS / f"server-{name}.log"
        exe = Path(sys.executable).parent / "samstream"
        cmd = [str(exe)] if exe.exists() else [sys.executable, "-c", "import sys; from samstream.cli import main; sys.exit(main())"]
        cmd += ["demo", "--port", str(self.port), *args]
        env = dict(os.environ, GRADIO_TEMP_DIR=str(self.temp_dir), GRADIO_ANALYTICS_ENABLED="False",
                   PYTHONUNBUFFERED="1", SAMSTREAM_CACHE=os.environ.get("SAMSTREAM_CACHE", str(tmp / "cache")))
        if token:
            cmd += ["--token", token]
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=str(ROOT))
        t0 = time.monotonic()
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"samstream demo exited with {self.proc.returncode}:\n{self.log()}")
            try:
                self.status()
                break
            except OSError:
                if time.monotonic() - t0 > 90:
                    self.stop()
                    raise AssertionError(f"samstream demo did not answer within 90 s:\n{self.log()}")
                time.sleep(0.3)

    def request(self, path: str, method: str = "GET", data: bytes | None = None, token: str | None = "",
                timeout: float = 5.0) -> tuple[int, bytes]:
        """``(status, body)`` of ``path``; ``token=""`` sends this server's token, ``None`` none."""
        import ssl
        import urllib.error

        req = urllib.request.Request(self.url + path, data=data, method=method)
        tok = self.token if token == "" else token
        if tok:
            req.add_header("X-Samstream-Token", tok)
        ctx = ssl._create_unverified_context() if self.https else None
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=ctx) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def status(self) -> dict:
        code, body = self.request("/samstream/status")
        if code != 200:
            raise OSError(f"status route answered {code}")
        return json.loads(body)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text()[-4000:]

    def temp_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.temp_dir.rglob("*") if p.is_file())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()




def wait_for(fn, timeout=20.0, what="condition", every=0.2):
    """Poll ``fn()`` every ``every`` s until it returns something truthy and return that;
    ``AssertionError`` naming ``what`` and the last value after ``timeout`` s."""
    t0 = time.monotonic()
    last = None
    while time.monotonic() - t0 < timeout:
        last = fn()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


# -- helpers of the non-browser tests ------------------------------------------------------------
def wait_until(cond, timeout=15.0, what="condition"):
    """Poll ``cond()`` every 50 ms until it is true; ``AssertionError`` naming ``what`` after ``timeout`` s."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def object_point(label_map: np.ndarray, oid: int) -> tuple[int, int]:
    """``(x, y)`` pixels of the point of object ``oid`` farthest from its edge in a label map."""
    from samstream.geometry import interior_point

    x, y = interior_point(label_map == oid)
    return int(x), int(y)
