"""Shared helpers of the ROS 2 tests: paths, the ROS availability check, child-process management."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

import pytest

ROOT = Path(__file__).resolve().parents[2]
HELPERS = Path(__file__).resolve().parent / "helpers"
PY = sys.executable


def ros2_missing() -> Optional[str]:
    try:
        from samstream.ros2 import require_rclpy, vision_msgs_available

        require_rclpy()
    except ImportError as exc:
        return str(exc)
    if not vision_msgs_available():
        return "vision_msgs is not built: run bash scripts/build_ros_interfaces.sh"
    return None


def _default_signals() -> None:
    """In the child: SIGINT/SIGTERM back to their defaults (a pytest started in the background has
    SIGINT ignored, and children inherit that, so Python would not turn SIGINT into KeyboardInterrupt)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


class Procs:
    """Start child processes with logs in ``tmp_path``; all are killed at teardown."""

    def __init__(self, tmp_path: Path, env: dict):
        self.tmp, self.env = tmp_path, env
        self.procs: list[tuple[subprocess.Popen, Path]] = []

    def start(self, args: list, name: str, env: Optional[dict] = None, cwd: Optional[Path] = None) -> subprocess.Popen:
        log = self.tmp / f"{name}.log"
        f = open(log, "wb")
        p = subprocess.Popen([str(a) for a in args], stdout=f, stderr=subprocess.STDOUT, env=env or self.env,
                             cwd=str(cwd or ROOT), start_new_session=True, preexec_fn=_default_signals)
        f.close()
        p.log_path = log  # type: ignore[attr-defined]
        self.procs.append((p, log))
        return p

    def python(self, script: Path, *args, name: str, env: Optional[dict] = None) -> subprocess.Popen:
        return self.start([PY, script, *args], name, env)

    def samstream(self, *args, name: str = "samstream", env: Optional[dict] = None) -> subprocess.Popen:
        return self.start([PY, "-m", "samstream.cli", *args], name, env)

    @staticmethod
    def log(p: subprocess.Popen) -> str:
        return Path(p.log_path).read_text(errors="replace")  # type: ignore[attr-defined]

    def wait(self, p: subprocess.Popen, timeout: float, ok: bool = True) -> int:
        """Wait for ``p``; fail with its log on timeout (or, with ``ok``, on a non-zero exit)."""
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill(p)
            pytest.fail(f"{p.args} did not finish within {timeout} s; log:\n{self.log(p)[-3000:]}")
        if ok and rc != 0:
            pytest.fail(f"{p.args} exited {rc}; log:\n{self.log(p)[-3000:]}")
        return rc

    def wait_for_line(self, p: subprocess.Popen, text: str, timeout: float) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if text in self.log(p):
                return
            if p.poll() is not None:
                pytest.fail(f"{p.args} exited {p.returncode} before printing {text!r}; log:\n{self.log(p)[-3000:]}")
            time.sleep(0.1)
        pytest.fail(f"{p.args} did not print {text!r} within {timeout} s; log:\n{self.log(p)[-3000:]}")

    def kill(self, p: subprocess.Popen) -> None:
        if p.poll() is not None:
            return
        for sig, grace in ((signal.SIGCONT, 0), (signal.SIGINT, 5.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(p.pid, sig)  # the process group this test started (start_new_session)
            except ProcessLookupError:
                return
            if grace:
                try:
                    p.wait(timeout=grace)
                    return
                except subprocess.TimeoutExpired:
                    continue

    def close(self) -> None:
        for p, _ in self.procs:
            self.kill(p)
