"""Nothing lost on interrupt: real SIGINT / SIGTERM to real processes, outputs read back.

``samstream run --out v.mp4 --record f.mcap --stats-json s.json``, ``samstream demo`` and the ROS 2
node (``samstream_ros/node.py``) each get a signal a few seconds into a live stream. They must exit
within :data:`relhelpers.STOP_BUDGET_S` (2 s; 5 s on an overloaded machine, see ``stop_budget``) with 130 (SIGINT) / 143 (SIGTERM) (the ROS node: 0,
as ``ros2 launch`` expects), and leave: a video that OpenCV plays to its last written frame, an MCAP
that the ``mcap`` reader opens (summary and footer written) holding one message per ROS topic for
every frame published, and a complete stats JSON. MCAP messages are counted per topic from RAW
messages, for the ROS topics named here only (other channels may be recorded too).
"""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path

import pytest
from relhelpers import (
    ROOT,
    SIGNALS,
    stop_budget,
    free_port,
    mcap_counts,
    signal_and_wait,
    video_frames,
    wait_until,
)
from ros2_testutil import PY

NS = "/samstream"
ROS_TOPICS = (f"{NS}/mask", f"{NS}/mask/compressed", f"{NS}/detections")


def _assert_recording(mcap: Path, frames: int) -> None:
    counts, summary = mcap_counts(mcap)
    assert summary is not None, f"{mcap} has no summary section: it was not finished"
    for topic in ROS_TOPICS:
        assert counts[topic] == frames, (topic, dict(counts), frames)


def _stops_cleanly(procs, p, signame: str, what: str) -> str:
    """Send ``signame`` to ``p``; assert it exits with 128 + signal number within the stop budget
    and without a traceback; return its log."""
    rc, elapsed = signal_and_wait(p, SIGNALS[signame])
    log = procs.log(p)
    print(f"{what} {signame}: exit {rc} after {elapsed:.2f} s")
    assert rc == 128 + SIGNALS[signame], log[-3000:]
    assert elapsed < stop_budget(), f"stopping took {elapsed:.2f} s:\n{log[-3000:]}"
    assert "Traceback" not in log, log[-3000:]
    return log


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_run_stops_cleanly_and_keeps_every_frame(procs, tmp_path, signame):
    v, m, s = tmp_path / "v.mp4", tmp_path / "f.mcap", tmp_path / "s.json"
    p = procs.samstream("run", "--source", "synthetic", "--out", v, "--record", m, "--stats-json", s,
                        name=f"run_{signame}")
    # a few seconds of live stream after the first frame reached the sinks
    wait_until(lambda: v.is_file() and v.stat().st_size > 0, 120, "the first video frame", p, lambda: procs.log(p))
    time.sleep(3.0)
    log = _stops_cleanly(procs, p, signame, "run")
    assert f"{signame}: stopping cleanly" in log

    stats = json.loads(s.read_text())  # complete: parses, every section there
    assert stats["stopped_by"] == signame
    frames = stats["frames_out"]
    assert frames >= 10, stats
    assert stats["source"]["state"] == "closed" and stats["tracker"]["frames"] == frames
    rec = stats["record"]
    assert rec["path"] == str(m) and rec["frames"] + rec["dropped"] == frames and rec["messages"] == 3 * rec["frames"]
    _assert_recording(m, rec["frames"])
    assert video_frames(v) == frames  # plays to its last written frame
    assert f"{frames} frames" in log and "(interrupted)" in log


def test_a_second_signal_forces_exit_and_a_hung_stop_is_forced_by_the_watchdog(procs, tmp_path):
    """A stop that hangs (a sink whose close never returns): the second signal ends it at once; with
    no second signal the watchdog (``force_after``) does."""
    code = (
        "import sys, time\n"
        "from samstream.lifecycle import GracefulStop\n"
        "from samstream.pipeline import Pipeline\n"
        "class Hang:\n"
        "    def write(self, frame, seg): pass\n"
        "    def close(self): print('closing', flush=True); time.sleep(600)\n"
        "with GracefulStop(force_after=float(sys.argv[1])) as stop:\n"
        "    pipe = Pipeline('synthetic:160x120@30', sinks=[Hang()], auto_objects=0)\n"
        "    stop.add_callback(pipe.source.close)\n"
        "    for i, seg in enumerate(pipe):\n"
        "        if i == 5: print('running', flush=True)\n"
        "sys.exit(0)\n")
    p = procs.start([PY, "-c", code, "600"], "hang_second")
    procs.wait_for_line(p, "running", 120)
    t0 = time.monotonic()
    p.send_signal(signal.SIGTERM)
    procs.wait_for_line(p, "closing", 30)
    assert p.poll() is None  # the stop hangs in close()
    p.send_signal(signal.SIGINT)
    rc = p.wait(timeout=30)
    assert rc == 143, procs.log(p)  # the code of the first signal
    assert "SIGINT again: forcing exit" in procs.log(p)
    assert time.monotonic() - t0 < 30

    w = procs.start([PY, "-c", code, "1.0"], "hang_watchdog")
    procs.wait_for_line(w, "running", 120)
    w.send_signal(signal.SIGINT)
    assert w.wait(timeout=30) == 130, procs.log(w)
    assert "forcing exit" in procs.log(w)


def test_a_camera_that_does_not_exist_is_one_line_not_a_traceback(procs):
    p = procs.samstream("run", "--source", "/dev/video57", "--max-frames", "1", name="video57")
    rc = p.wait(timeout=120)
    log = procs.log(p)
    assert rc == 2, log
    assert "Traceback" not in log
    lines = [ln for ln in log.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("samstream run: error: camera /dev/video57 does not exist"), log


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_demo_stops_cleanly(procs, tmp_path, signame):
    pytest.importorskip("gradio", reason="needs the [ui] extra")
    import urllib.request

    port = free_port()
    env = dict(procs.env, GRADIO_TEMP_DIR=str(tmp_path / "gradio"), GRADIO_ANALYTICS_ENABLED="False")
    p = procs.start([PY, "-m", "samstream.cli", "demo", "--port", port, "--source", "synthetic:320x240@30"],
                    f"demo_{signame}", env=env)

    def up() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/samstream/status", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    wait_until(up, 120, "the live view to answer", p, lambda: procs.log(p))
    time.sleep(2.0)
    log = _stops_cleanly(procs, p, signame, "demo")
    assert not up()


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_ros2_node_stops_cleanly_and_its_recording_is_complete(ros_procs, tmp_path, signame):
    m = tmp_path / "node.mcap"
    node = ros_procs.start([PY, ROOT / "ros2_pkg" / "samstream_ros" / "node.py", "--ros-args",
                            "-p", "source:=synthetic:320x240@30", "-p", "auto_objects:=2", "-p", f"record:={m}"],
                           f"node_{signame}")
    ros_procs.wait_for_line(node, "segmenting synthetic", 120)
    time.sleep(4.0)
    rc, elapsed = signal_and_wait(node, SIGNALS[signame])
    log = ros_procs.log(node)
    print(f"node {signame}: exit {rc} after {elapsed:.2f} s")
    assert rc == 0, log[-3000:]  # what ros2 launch counts as a clean exit
    assert elapsed < stop_budget(), f"stopping took {elapsed:.2f} s:\n{log[-3000:]}"
    assert "Traceback" not in log and f"shutting down ({signame})" in log, log[-3000:]
    done = [ln for ln in log.splitlines() if "done: " in ln]
    rec = [ln for ln in log.splitlines() if "recorded " in ln]
    assert done and rec, log[-3000:]
    frames = int(done[-1].split("done: ")[1].split()[0])
    recorded = int(rec[-1].split("recorded ")[1].split()[0])
    dropped = int(rec[-1].split("dropped ")[1].split(")")[0])
    assert frames >= 10 and recorded + dropped == frames, log[-3000:]
    _assert_recording(m, recorded)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
