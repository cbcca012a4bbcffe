"""Helpers of the reliability and fuzz tests: child processes with real signals, reading the outputs
back (MCAP raw messages per topic, video frames), and the tally of distinct bad inputs per entry point.

Child processes are started by :class:`ros2_testutil.Procs` (own session, SIGINT/SIGTERM at their
defaults, killed by process id at teardown); their ``PYTHONPATH`` starts with this checkout.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Callable, Iterable, Optional

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "reliability"
TALLY = ARTIFACTS / "bad_inputs.json"

#: the issue's bound on a clean stop (SIGINT/SIGTERM to exit)
STOP_BUDGET_S = 2.0


def stop_budget() -> float:
    """:data:`STOP_BUDGET_S`, or 2.5 times it while the machine is overloaded (1-minute load average
    above 2 per CPU: a shared CI box or a workstation running other jobs), said on stdout. The
    stop's own work is bounded; on a starved CPU the same work takes longer."""
    try:
        load = os.getloadavg()[0] / (os.cpu_count() or 1)
    except OSError:
        return STOP_BUDGET_S
    if load > 2.0:
        print(f"machine overloaded (load {load:.1f} per CPU): stop budget {2.5 * STOP_BUDGET_S:g} s")
        return 2.5 * STOP_BUDGET_S
    return STOP_BUDGET_S


def child_env(**extra: str) -> dict:
    """``os.environ`` with this checkout first on ``PYTHONPATH`` and unbuffered output."""
    env = os.environ.copy()
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def ros_domain_procs(tmp_path, domain: int):
    """``Procs`` for ROS 2 children in ``domain`` with discovery on this machine only; skips the
    test when this environment has no ROS 2."""
    import sys

    import pytest
    from ros2_testutil import Procs, ros2_missing

    why = ros2_missing()
    if why:
        pytest.skip(f"no ROS 2 in this environment (Python {sys.version_info.major}.{sys.version_info.minor}): {why}")
    env = child_env(ROS_DOMAIN_ID=str(domain), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST", RCUTILS_COLORIZED_OUTPUT="0")
    env.pop("ROS_LOCALHOST_ONLY", None)
    env.pop("ROS_STATIC_PEERS", None)
    return Procs(tmp_path, env)


def wait_until(cond: Callable[[], object], timeout: float, what: str, proc: Optional[subprocess.Popen] = None,
               log: Callable[[], str] = lambda: "") -> None:
    """Poll ``cond()`` every 50 ms; AssertionError naming ``what`` (with the child's log) on timeout
    or when ``proc`` exits first."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the process exited {proc.returncode} before {what}:\n{log()[-3000:]}")
        time.sleep(0.05)
    raise AssertionError(f"timed out ({timeout} s) waiting for {what}:\n{log()[-3000:]}")


def signal_and_wait(proc: subprocess.Popen, sig: int, timeout: float = 60.0) -> tuple[int, float]:
    """Send ``sig`` to ``proc`` (only it, by id); return (exit code, seconds from signal to exit)."""
    t0 = time.monotonic()
    os.kill(proc.pid, sig)
    rc = proc.wait(timeout=timeout)
    return rc, time.monotonic() - t0


def mcap_counts(path: Path) -> tuple[Counter, object]:
    """Messages per topic of an MCAP file, iterating RAW messages (no decoders: channels of any
    encoding count), and its summary (``None`` if the file has no summary/footer)."""
    from mcap.reader import make_reader

    counts: Counter = Counter()
    with open(path, "rb") as f:
        reader = make_reader(f)
        summary = reader.get_summary()
        for _schema, channel, _message in reader.iter_messages():
            counts[channel.topic] += 1
    return counts, summary


def video_frames(path: Path) -> int:
    """Frames decoded from a video file, read to its end with OpenCV."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    assert cap.isOpened(), f"OpenCV cannot open {path}"
    n = 0
    while True:
        ok, _ = cap.read()
        if not ok:
            break
        n += 1
    cap.release()
    return n


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kb(pid: int) -> int:
    """Resident memory of process ``pid`` (kB, Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def tally(entry_point: str, inputs: Iterable[object], how: str = "", rejected: Optional[Iterable[object]] = None) -> int:
    """Record how many DISTINCT inputs were tried on ``entry_point`` and how many of them were bad
    (``rejected``: refused with a clear error or skipped and counted; default: all of them), merged
    into ``artifacts/reliability/bad_inputs.json``; returns the number of distinct bad inputs."""
    distinct = {repr(i) for i in inputs}
    bad = distinct if rejected is None else {repr(i) for i in rejected}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    data = json.loads(TALLY.read_text()) if TALLY.is_file() else {}
    data[entry_point] = {"distinct_inputs": len(distinct), "distinct_bad": len(bad), "how": how,
                         "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    TALLY.write_text(json.dumps(data, indent=1, sort_keys=True))
    print(f"[fuzz] {entry_point}: {len(bad)} distinct bad inputs of {len(distinct)} tried ({how})")
    return len(bad)


SIGNALS = {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM}


def examples(n: int) -> int:
    """A Hypothesis example count ``n`` scaled by ``SAMSTREAM_FUZZ_EXAMPLES`` (default 1.0; e.g. 10 for
    a long local run)."""
    return max(1, int(n * float(os.environ.get("SAMSTREAM_FUZZ_EXAMPLES", "1.0"))))
