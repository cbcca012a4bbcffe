"""The scripts in demos/ run as written (on the synthetic source, with an env switch so they end)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

DEMOS = Path(__file__).resolve().parents[1] / "demos"


def _run(script: str, env: dict, args=(), timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(DEMOS / script), *args], cwd=str(DEMOS), capture_output=True,
                          text=True, timeout=timeout, env=dict(os.environ, **env))


def test_script_pipeline_tracks_the_square():
    from samstream.sources import SyntheticScene

    text = (DEMOS / "script_pipeline.py").read_text().strip().splitlines()
    assert len(text) <= 10, "the scripting example must stay a ten-line script"
    r = _run("script_pipeline.py", {"SAMSTREAM_MAX_FRAMES": "30"})
    assert r.returncode == 0, r.stderr
    lines = [ln.split(" ", 2) for ln in r.stdout.strip().splitlines()]
    assert [int(ln[0]) for ln in lines] == list(range(30))  # every frame, in order
    assert all(ln[1] == "[1]" for ln in lines)
    scene = SyntheticScene(640, 480, 3, 0)
    for idx in (0, 29):
        area = int(json.loads(lines[idx][2])[0])
        truth = int((scene.render(idx)[1] == 2).sum())  # the square is the scene's object 2
        assert 0.6 * truth < area < 1.4 * truth, f"frame {idx}: mask {area} px, the square is {truth} px"


def test_webcam_demo_serves_the_live_view_then_stops():
    pytest.importorskip("gradio", reason="needs the [ui] extra")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, str(DEMOS / "webcam_demo.py"), "--port", str(port)], cwd=str(DEMOS),
                            env=dict(os.environ, SAMSTREAM_DEMO_SECONDS="20", GRADIO_ANALYTICS_ENABLED="False"),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        t0 = time.monotonic()
        status = None
        while time.monotonic() - t0 < 60:
            try:
                with urllib.request.urlopen(url + "/samstream/status", timeout=3) as r:
                    status = json.loads(r.read())
                if status["frames_out"] > 10:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        assert status is not None and status["frames_out"] > 10, f"no frames: {status}"
        assert status["state"] == "running" and status["source"] == "synthetic" and status["model"] == "classic"
        with urllib.request.urlopen(url + "/", timeout=10) as r:
            assert r.status == 200 and b"gradio" in r.read().lower()
        out, _ = proc.communicate(timeout=60)  # it stops by itself (SAMSTREAM_DEMO_SECONDS)
        assert proc.returncode == 0, out
        assert f"http://localhost:{port}" in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
