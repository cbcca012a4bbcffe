"""Faults survived: sources that stop, stall or return garbage mid-stream, a file truncated while
playing, an encoder and a sink that raise, ROS subscribers that stall or die, ``close()`` from
another thread on every source. Each time the pipeline keeps every other object and frame going,
the metrics say what happened (typed, with the last error) and recovery is automatic.

Devices are simulated through :class:`CaptureSource`'s ``capture_factory`` (the OpenCV capture
interface: ``isOpened/read/release/get/set``); the rest is real: OpenCV files, the classic
predictor, real threads, real ROS 2 processes.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time

import cv2
import numpy as np
import pytest
from relhelpers import ROOT, tally, wait_until
from ros2_testutil import PY

from samstream.metrics import EncoderStats, ErrorInfo, SourceStats
from samstream.pipeline import Pipeline
from samstream.sources import (
    CaptureSource,
    ImageFolderSource,
    PushSource,
    SyntheticScene,
    SyntheticSource,
    VideoFileSource,
)
from samstream.types import Prompt

W, H = 160, 120
SCENE = SyntheticScene(W, H, 3, 2, 1.0)
FAULTS: list[str] = []  # every fault injected in this module, for the tally


def _prompts() -> list[Prompt]:
    labels = SCENE.render(0)[1]
    return [Prompt(int(k), mask=labels == k) for k in np.unique(labels[labels > 0])]


class ScriptedCamera:
    """A camera whose ``read()`` follows a script: per call, ``"ok"`` (the next synthetic frame),
    ``"fail"`` (no frame), ``("stall", s)`` (block s seconds, then a frame), ``("garbage", array)``.
    After the script: good frames forever. ``opens`` counts (re)openings."""

    def __init__(self, script: list) -> None:
        self.script, self.i, self.t, self.opens = list(script), 0, 0, 0
        self.lock = threading.Lock()

    def factory(self):
        self.opens += 1
        return _Cap(self)

    def next(self):
        with self.lock:
            step = self.script[self.i] if self.i < len(self.script) else "ok"
            self.i += 1
        if step == "fail":
            return False, None
        if isinstance(step, tuple) and step[0] == "stall":
            time.sleep(step[1])
            step = "ok"
        if isinstance(step, tuple) and step[0] == "garbage":
            return True, step[1]
        self.t += 1
        time.sleep(0.005)
        return True, SCENE.render(self.t)[0]


class _Cap:
    def __init__(self, cam: ScriptedCamera) -> None:
        self.cam, self.open = cam, True

    def isOpened(self) -> bool:
        return self.open

    def read(self):
        return self.cam.next()

    def release(self) -> None:
        self.open = False

    def get(self, prop):
        return {cv2.CAP_PROP_FRAME_WIDTH: W, cv2.CAP_PROP_FRAME_HEIGHT: H, cv2.CAP_PROP_FPS: 30}.get(prop, 0)

    def set(self, prop, value) -> bool:
        return True


def _run(pipe: Pipeline, frames: int) -> list:
    out = []
    for seg in pipe:
        out.append(seg)
        if len(out) >= frames:
            break
    return out


def test_a_camera_that_stops_stalls_and_sends_garbage_mid_stream_recovers_by_itself():
    garbage = [np.zeros((H, W, 3), np.float64), np.zeros((H // 2, W, 3), np.uint8), np.zeros((0, 0), np.uint8),
               np.zeros((H, W, 7), np.uint8), "not an image"]
    script = ["ok"] * 20 + ["fail"] * 5 + ["ok"] * 10 + [("stall", 1.5)] + [("garbage", g) for g in garbage] + ["ok"] * 10
    FAULTS.extend(["camera stops (5 failed reads)", "camera stalls 1.5 s"] + [f"garbage frame {i}" for i in range(len(garbage))])
    cam = ScriptedCamera(script)
    src = CaptureSource(0, capture_factory=cam.factory, backoff_initial=0.05, backoff_max=0.1, max_read_failures=3)
    with Pipeline(src, prompts=_prompts()) as pipe:
        segs = _run(pipe, 45)
        m = pipe.metrics()
    assert len(segs) == 45  # the stream went on after each fault
    assert [s.frame_index for s in segs] == sorted({s.frame_index for s in segs})
    st = m.source
    assert isinstance(st, SourceStats)
    assert st.reconnects >= 1 and st.read_failures >= 3 and cam.opens >= 2
    assert st.bad_frames == len(garbage) and st.last_error is not None
    assert set(segs[-1].object_ids) == {1, 2, 3}  # every object still tracked


def test_garbage_pushed_by_code_is_skipped_and_counted_never_raised():
    src = PushSource("fuzz", width=W, height=H)
    rng = np.random.default_rng(0)
    bad = [None, 3, "x", b"\x00" * 10, np.zeros((H, W), np.float32) * np.nan, np.zeros((H, W, 3), np.int64),
           np.zeros((H + 1, W, 3), np.uint8), np.zeros((H, W, 2), np.uint8), np.zeros((1,), np.uint8),
           np.zeros((H, W, 3, 1), np.uint8), [[1, 2], [3, 4]], object()]
    bad += [rng.integers(0, 255, size=tuple(rng.integers(1, 300, size=rng.integers(1, 4))), dtype=np.uint8)
            for _ in range(40)]
    bad = [b for b in bad if not (isinstance(b, np.ndarray) and b.dtype == np.uint8 and b.shape in ((H, W), (H, W, 3), (H, W, 4)))]
    for b in bad:
        assert src.push(b) is None
    assert src.push(np.zeros((H, W, 3), np.uint8), timestamp=float("nan")) is None
    assert src.push(np.zeros((H, W, 3), np.uint8)) is not None
    st = src.stats()
    assert st.bad_frames == len(bad) + 1 and st.frames_read == 1 and st.last_error
    src.close()
    FAULTS.append(f"{len(bad) + 1} garbage pushes")
    tally("PushSource.push (frames by code: ROS/web)", [repr(b)[:200] + str(getattr(b, "shape", "")) for b in bad] + ["nan ts"],
          "None, wrong dtype/shape/size, random arrays, NaN timestamp")


def _write_avi(path, n: int) -> None:
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (W, H))
    for i in range(n):
        vw.write(SCENE.render(i)[0])
    vw.release()


def test_a_file_truncated_while_playing_ends_early_with_the_reason(tmp_path):
    path = tmp_path / "truncate_me.avi"
    _write_avi(path, 120)
    size = path.stat().st_size
    src = VideoFileSource(path)
    assert src.frame_count == 120
    got = 0
    with Pipeline(src, prompts=_prompts(), asynchronous=False) as pipe:
        for seg in pipe:
            got += 1
            if got == 10:
                os.truncate(path, size // 3)  # cut while playing
        m = pipe.metrics()
    FAULTS.append("video file truncated to 1/3 while playing")
    assert 10 <= got < 120
    assert m.source.state in ("ended", "closed") and m.source.error is None  # ended, not failed
    assert "truncated" in (m.source.last_error or ""), m.source


class FlakyEncode:
    """Wraps a predictor's ``encode``: raises RuntimeError on calls 3..5 and ValueError on 8..9,
    then works again."""

    def __init__(self, encode) -> None:
        self.encode, self.calls = encode, 0

    def __call__(self, image, frame_index=-1, timestamp=0.0):
        self.calls += 1
        if 3 <= self.calls <= 5:
            raise RuntimeError(f"device lost on call {self.calls}")
        if 8 <= self.calls <= 9:
            raise ValueError(f"bad tensor on call {self.calls}")
        return self.encode(image, frame_index, timestamp)


def test_an_encoder_that_raises_is_reported_typed_logged_once_per_kind_and_recovers(caplog):
    from samstream.engine import load_predictor

    pred = load_predictor("classic")
    flaky = FlakyEncode(pred.encode)
    pred.encode = flaky
    src = SyntheticSource(W, H, 30, seed=2, num_objects=3, frames=None, realtime=False)
    with caplog.at_level(logging.WARNING, logger="samstream.engine.encoder"):
        with Pipeline(src, predictor=pred, prompts=_prompts()) as pipe:
            segs = []
            for seg in pipe:
                segs.append(seg)
                if flaky.calls >= 14 and len(segs) >= 60:
                    break
                if len(segs) > 3000:
                    pytest.fail(f"only {flaky.calls} encodes in 3000 frames")
                time.sleep(0.002)
            pipe.tracker.encoder.wait_idle(10)
            enc, tr = pipe.tracker.encoder.stats(), pipe.metrics().tracker
    FAULTS.extend(["encoder RuntimeError x3", "encoder ValueError x2"])
    assert isinstance(enc, EncoderStats) and enc.failed == 5
    kinds = {f.kind: f for f in enc.failures}
    assert set(kinds) == {"RuntimeError", "ValueError"} and all(isinstance(f, ErrorInfo) for f in enc.failures)
    assert kinds["RuntimeError"].count == 3 and kinds["ValueError"].count == 2
    assert enc.last_failure.kind == "ValueError" and "bad tensor" in enc.last_failure.message
    assert enc.last_error.startswith("ValueError: bad tensor")
    assert tr.keyframes_failed == 5 and tr.last_error.startswith("ValueError")
    assert enc.completed >= 8 and tr.keyframes_applied >= 7  # it recovered: keyframes after the failures
    assert all(set(s.object_ids) == {1, 2, 3} for s in segs)  # every object on every frame
    logged = [r for r in caplog.records if "keyframe encode" in r.getMessage()]
    assert len(logged) == 2, [r.getMessage() for r in logged]  # once per kind
    d = json.loads(json.dumps(pipe.metrics().to_dict()))
    assert d["encoder"]["last_failure"]["kind"] == "ValueError"


def test_a_sink_that_raises_does_not_stop_the_others():
    class Bad:
        def write(self, frame, seg):
            if frame.index % 3 == 0:
                raise OSError("disk full")

    class Count:
        n = 0

        def write(self, frame, seg):
            self.n += 1

    good = Count()
    src = SyntheticSource(W, H, 30, seed=2, frames=30, realtime=False)
    with Pipeline(src, sinks=[Bad(), good], prompts=_prompts(), asynchronous=False) as pipe:
        n = sum(1 for _ in pipe)
        m = pipe.metrics()
    FAULTS.append("sink OSError every 3rd frame")
    assert n == 30 and good.n == 30
    assert m.errors and "disk full" in m.errors[-1]


def _sources(tmp_path):
    """One of every source kind (a fresh one per call)."""
    folder = tmp_path / "frames"
    if not folder.is_dir():
        folder.mkdir()
        for i in range(40):
            cv2.imwrite(str(folder / f"{i:03d}.png"), SCENE.render(i)[0])
        _write_avi(tmp_path / "clip.avi", 200)
    return {
        "synthetic_live": lambda: SyntheticSource(W, H, 60, realtime=True),
        "synthetic_on_demand": lambda: SyntheticSource(W, H, 30, realtime=False),
        "video_file": lambda: VideoFileSource(tmp_path / "clip.avi", loop=True),
        "video_file_realtime": lambda: VideoFileSource(tmp_path / "clip.avi", realtime=True, loop=True),
        "image_folder": lambda: ImageFolderSource(folder, loop=True),
        "push": lambda: PushSource("p"),
        "camera": lambda: CaptureSource(0, capture_factory=ScriptedCamera([]).factory),
    }


@pytest.mark.parametrize("kind", ["synthetic_live", "synthetic_on_demand", "video_file", "video_file_realtime",
                                  "image_folder", "push", "camera"])
def test_close_is_safe_from_any_thread_for_every_source(tmp_path, kind):
    make = _sources(tmp_path)[kind]
    for trial in range(8):
        src = make()
        errors, frames = [], []
        stop_pushing = threading.Event()
        if kind == "push":
            def pusher(s=src):
                while not stop_pushing.is_set():
                    s.push(SCENE.render(0)[0])
                    time.sleep(0.002)
            threading.Thread(target=pusher, daemon=True).start()

        def consume(s=src):
            try:
                for f in s:
                    frames.append(f.index)
            except Exception as exc:  # pragma: no cover - the failure we test for
                errors.append(exc)

        t = threading.Thread(target=consume, daemon=True)
        t.start()
        wait_until(lambda: len(frames) >= 1, 30, f"a first frame from {kind}")
        time.sleep(0.003 * trial)  # close at a different point of the decode each time
        closers = [threading.Thread(target=src.close) for _ in range(2)]  # twice, concurrently
        for c in closers:
            c.start()
        for c in closers:
            c.join(10)
        stop_pushing.set()
        t.join(10)
        assert not t.is_alive(), f"{kind}: the consumer did not stop after close()"
        assert not errors, errors
        assert src.stats().state == "closed" and src.ended
        assert src.read(0.01) is None
    FAULTS.append(f"close() from 2 threads while consuming: {kind} x8")


def test_closing_a_decoding_video_file_from_another_thread_never_aborts(procs, tmp_path):
    """The libavcodec case, in a child process (an abort there would kill pytest): 60 video
    sources closed from another thread at random points of their decode."""
    clip = tmp_path / "clip.mp4"
    vw = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 30, (640, 480))
    scene = SyntheticScene(640, 480, 3, 1, 1.0)
    for i in range(60):
        vw.write(scene.render(i)[0])
    vw.release()
    code = (
        "import random, sys, threading, time\n"
        "from samstream.sources import VideoFileSource\n"
        "random.seed(0)\n"
        "for trial in range(60):\n"
        "    src = VideoFileSource(sys.argv[1], loop=True)\n"
        "    t = threading.Thread(target=lambda: [None for _ in src]); t.start()\n"
        "    time.sleep(random.uniform(0, 0.05)); src.close(); t.join(10)\n"
        "    assert not t.is_alive()\n"
        "print('OK 60', flush=True)\n")
    p = procs.start([PY, "-c", code, clip], "close_decode")
    rc = p.wait(timeout=300)
    assert rc == 0 and "OK 60" in procs.log(p), (rc, procs.log(p)[-3000:])
    FAULTS.append("video file closed mid-decode from another thread x60 (child process)")


def test_ros_subscribers_that_stall_or_die_do_not_stop_publishing(ros_procs, tmp_path):
    listen = ROOT / "tests" / "ros2" / "helpers" / "ros_listen.py"
    run = ros_procs.samstream("run", "--source", "synthetic:320x240@15,seed=2,objects=3", "--ros2", "-q",
                              "--stats-json", tmp_path / "s.json", name="run_ros")
    stalled = ros_procs.python(listen, "--count", "100000", "--timeout", "300", "--out", tmp_path / "stalled",
                               name="stalled")
    dying = ros_procs.python(listen, "--qos", "best_effort", "--count", "100000", "--timeout", "300",
                             "--out", tmp_path / "dying", name="dying")
    ros_procs.wait_for_line(stalled, "READY", 120)
    ros_procs.wait_for_line(dying, "READY", 120)
    time.sleep(2.0)
    os.kill(stalled.pid, signal.SIGSTOP)  # stalls: never reads again (its DDS buffers fill)
    os.kill(dying.pid, signal.SIGKILL)  # dies without a goodbye
    FAULTS.extend(["ROS subscriber stalled (SIGSTOP)", "ROS subscriber killed (SIGKILL)"])
    time.sleep(3.0)
    fresh = ros_procs.python(listen, "--count", "20", "--timeout", "90", "--out", tmp_path / "fresh", name="fresh")
    ros_procs.wait(fresh, 150)
    got = json.loads((tmp_path / "fresh" / "summary.json").read_text())
    assert len(got["mask"]) >= 20, got.keys()
    assert run.poll() is None, ros_procs.log(run)[-3000:]
    os.kill(stalled.pid, signal.SIGCONT)
    ros_procs.kill(run)  # SIGINT
    assert run.wait(timeout=30) == 130, ros_procs.log(run)[-3000:]
    stats = json.loads((tmp_path / "s.json").read_text())
    assert stats["frames_out"] >= 60 and stats["ros2"]["frames_published"] >= 60, stats.get("ros2")


def test_zz_tally_of_faults():
    """Record how many distinct faults this module injected (runs last: zz)."""
    assert len(FAULTS) >= 10, FAULTS
    tally("faults injected (tests/reliability/test_faults.py)", FAULTS, "; ".join(FAULTS))
