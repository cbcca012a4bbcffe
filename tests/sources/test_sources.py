"""Tests for samstream.sources: every capture source, the newest-frame slot, reconnection, errors.

Everything is small (tiny frames, short clips, millisecond backoffs) so the file runs in a few
seconds on a shared 2-core machine; timing assertions are loose (ordering and rough spacing).
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from pathlib import Path

import cv2
import numpy as np
import pytest

from samstream.sources import (
    CameraNotFoundError,
    CaptureSource,
    ImageFolderSource,
    PushSource,
    SyntheticScene,
    SyntheticSource,
    UnreadableFileError,
    VideoFileSource,
    open_source,
    parse_synthetic_spec,
)
from samstream.types import Frame

pytestmark = pytest.mark.timeout(60)

CLIP = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "clips" / "palmtrees_loop_512.mp4"


def assert_increasing(frames: list[Frame]) -> None:
    idx = [f.index for f in frames]
    assert all(b > a for a, b in zip(idx, idx[1:])), idx


# --------------------------------------------------------------------------- synthetic


def test_synthetic_is_deterministic_by_seed():
    a = [f.image for f in open_source("synthetic:96x64,seed=3,frames=4,realtime=0")]
    b = [f.image for f in open_source("synthetic", width=96, height=64, seed=3, frames=4, realtime=False)]
    c = [f.image for f in open_source("synthetic:96x64,seed=4,frames=4,realtime=0")]
    assert len(a) == len(b) == len(c) == 4
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not any(np.array_equal(x, y) for x, y in zip(a, c))
    assert not np.array_equal(a[0], a[3])  # it moves


def test_synthetic_ground_truth_lines_up_with_rendered_objects():
    w, h, n = 128, 96, 3
    src = SyntheticSource(w, h, fps=30, seed=5, num_objects=n, frames=12, realtime=False)
    scene = SyntheticScene(w, h, n, 5)  # an independent copy of the same scene
    seen: set[int] = set()
    frames = list(src)
    assert [f.index for f in frames] == list(range(12))
    assert np.allclose(np.diff([f.timestamp for f in frames]), 1 / 30)
    for f in frames:
        gt = src.ground_truth(f.index)
        assert gt.shape == (h, w) and gt.dtype == np.uint8 and not gt.flags.writeable
        img, labels = scene.render(f.index)
        assert np.array_equal(gt, labels) and np.array_equal(f.image, img)
        # the labels line up with what is drawn: inside object k the image has k's (texture) colour, and
        # a thin background ring just outside it does not
        for obj in scene.objects:
            m = gt == obj.oid
            if m.sum() < 50:
                continue
            seen.add(obj.oid)
            inside = f.image[m].astype(float).mean(0)
            assert np.abs(inside - obj.texture.mean((0, 1))).max() < 40, (f.index, obj.oid, inside)
            ring = cv2.dilate(m.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool) & (gt == 0)
            if ring.sum() >= 20:
                outside = f.image[ring].astype(float).mean(0)
                tex = obj.texture.mean((0, 1))
                assert np.abs(outside - tex).mean() > np.abs(inside - tex).mean() + 15
        assert set(np.unique(gt)) <= set(range(n + 1))
    assert seen == {1, 2, 3} and src.object_ids == [1, 2, 3]
    with pytest.raises(KeyError):
        src.ground_truth(12)  # past the end of a 12-frame stream


def test_synthetic_ground_truth_ring_is_bounded_and_old_indices_rerender():
    src = SyntheticSource(64, 48, seed=1, frames=30, realtime=False, gt_history=5)
    frames = list(src)
    assert len(src._gt) == 5
    assert sorted(src._gt) == [25, 26, 27, 28, 29]
    old = src.ground_truth(2)  # evicted: re-rendered deterministically
    assert np.array_equal(old, SyntheticScene(64, 48, 3, 1).render(2)[1])
    assert frames[-1].index == 29


def test_synthetic_spec_parsing():
    kw = parse_synthetic_spec("synthetic:640x480@15,seed=3,objects=5,frames=inf,realtime=0")
    assert kw == dict(width=640, height=480, fps=15.0, seed=3, num_objects=5, frames=None, realtime=False)
    assert parse_synthetic_spec("synthetic:@12.5") == dict(fps=12.5)
    assert parse_synthetic_spec("synthetic") == {}
    src = open_source("synthetic:80x60@15,frames=2,realtime=0", seed=9)
    assert (src.width, src.height, src.fps, src.seed, src.is_live) == (80, 60, 15.0, 9, False)
    for bad in ("synthetic:80by60", "synthetic:80x60,colour=red", "synthetic:80x60,seed=abc"):
        with pytest.raises(ValueError):
            open_source(bad)


def test_synthetic_realtime_is_live_and_drops_for_a_slow_consumer():
    with SyntheticSource(64, 48, fps=200, seed=2, realtime=True) as src:
        assert src.is_live
        got = []
        for f in src:
            got.append(f)
            time.sleep(0.03)
            if len(got) == 8:
                break
        assert_increasing(got)
        assert got[-1].index - got[0].index > len(got)  # gaps: dropped frames
        assert src.stats().frames_dropped > 0
        for f in got:  # the GT of what was delivered is still there
            assert np.array_equal(src.ground_truth(f.index), SyntheticScene(64, 48, 3, 2).render(f.index)[1])
        assert src._slot.high_water <= 1


# --------------------------------------------------------------------------- image folders


def _png(path: Path, value: int, size=(40, 30)) -> None:
    w, h = size
    img = np.full((h, w, 3), value, np.uint8)
    img[0, 0] = (value, 255 - value, 7)
    assert cv2.imwrite(str(path), img)


def test_folder_source_skips_corrupt_and_wrong_size_images(tmp_path, caplog):
    _png(tmp_path / "img_1.png", 10)
    _png(tmp_path / "img_2.png", 20)
    (tmp_path / "img_3.png").write_bytes(b"\x89PNG\r\n\x1a\nthis is not really a png")  # corrupt
    _png(tmp_path / "img_4.png", 40, size=(32, 32))  # wrong size
    _png(tmp_path / "img_5.png", 50)
    _png(tmp_path / "img_10.png", 100)  # natural order: after img_5
    (tmp_path / "notes.txt").write_text("ignored: not an image")
    caplog.set_level(logging.WARNING, logger="samstream.sources")
    with open_source(tmp_path) as src:
        assert isinstance(src, ImageFolderSource) and not src.is_live
        frames = list(src)
        st = src.stats()
    assert [f.index for f in frames] == [0, 1, 2, 3]
    assert [int(f.image[5, 5, 0]) for f in frames] == [10, 20, 50, 100]
    assert all(f.image.shape == (30, 40, 3) for f in frames)
    assert (src.width, src.height) == (40, 30)
    assert st.bad_frames == 2 and st.frames_read == 4 and st.frames_delivered == 4
    assert st.state in ("ended", "closed") and st.error is None
    assert "32x32" in st.last_error
    assert any("skipped a bad frame" in r.getMessage() for r in caplog.records)


def test_folder_source_errors_and_glob(tmp_path):
    with pytest.raises(FileNotFoundError, match="no image files"):
        open_source(str(tmp_path))  # empty folder
    missing = tmp_path / "nope"
    with pytest.raises(FileNotFoundError, match="nope"):
        open_source(str(missing) + "/")
    for i in range(3):
        _png(tmp_path / f"a{i}.png", 30 * i)
    _png(tmp_path / "b0.png", 99)
    src = open_source(str(tmp_path / "a*.png"))
    assert [int(f.image[5, 5, 0]) for f in src] == [0, 30, 60]
    single = open_source(tmp_path / "b0.png")
    assert [int(f.image[5, 5, 0]) for f in single] == [99]


def test_folder_of_only_corrupt_images_ends_with_an_error(tmp_path):
    (tmp_path / "x.png").write_bytes(b"garbage")
    (tmp_path / "y.jpg").write_bytes(b"more garbage")
    src = open_source(tmp_path)
    assert list(src) == []
    st = src.stats()
    assert st.bad_frames == 2 and st.state == "failed" and "could be decoded" in st.error


# --------------------------------------------------------------------------- video files


def _write_video(path: Path, n: int, fps: float, size=(64, 48)) -> Path:
    w, h = size
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    assert vw.isOpened()
    for i in range(n):
        vw.write(np.full((h, w, 3), (10 * i) % 250, np.uint8))
    vw.release()
    return path


def test_video_file_source_reads_every_frame(tmp_path):
    path = _write_video(tmp_path / "clip.avi", 20, 10.0)  # values 0..190
    with open_source(str(path), start_time=0.0) as src:
        assert isinstance(src, VideoFileSource) and not src.is_live
        assert (src.fps, src.size, src.frame_count) == (10.0, (64, 48), 20)
        frames = list(src)
    assert [f.index for f in frames] == list(range(20))
    assert np.allclose([f.timestamp for f in frames], np.arange(20) / 10.0)
    means = [float(f.image.mean()) for f in frames]
    assert all(b > a for a, b in zip(means, means[1:]))  # the right frames, in order
    assert frames[0].source == str(path)
    st = src.stats()
    assert st.frames_read == 20 and st.bad_frames == 0 and st.frames_dropped == 0


def test_video_file_realtime_paces_to_fps(tmp_path):
    path = _write_video(tmp_path / "clip.avi", 8, 20.0)
    src = VideoFileSource(path, realtime=True, drop_late=False)
    assert src.is_live
    t0 = time.monotonic()
    arrivals, frames = [], []
    for f in src:
        arrivals.append(time.monotonic() - t0)
        frames.append(f)
    assert [f.index for f in frames] == list(range(8))
    assert np.allclose(np.diff([f.timestamp for f in frames]), 0.05)
    # 7 intervals of 50 ms: at least ~0.3 s in total, never earlier than the clock allows
    assert arrivals[-1] >= 0.3
    assert all(a >= 0.05 * i - 0.02 for i, a in enumerate(arrivals))


def test_video_file_realtime_drops_when_the_consumer_is_late(tmp_path):
    path = _write_video(tmp_path / "clip.avi", 30, 50.0)  # 0.6 s of video
    src = VideoFileSource(path, realtime=True)
    frames = []
    for f in src:
        frames.append(f)
        time.sleep(0.06)  # ~3 frame periods per frame
    assert_increasing(frames)
    st = src.stats()
    assert st.frames_dropped > 0
    assert len(frames) + st.frames_dropped == 30
    assert len(frames) < 20


def test_video_file_loop(tmp_path):
    path = _write_video(tmp_path / "clip.avi", 5, 10.0)
    src = open_source(path, loop=True, start_time=0.0)
    frames = [next(src) for _ in range(12)]
    src.close()
    assert [f.index for f in frames] == list(range(12))
    assert np.allclose([f.timestamp for f in frames], np.arange(12) / 10.0)
    assert abs(frames[5].image.mean() - frames[0].image.mean()) < 3  # back to the start
    with pytest.raises(StopIteration):
        next(src)


def test_video_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.mp4"):
        open_source(str(tmp_path / "missing.mp4"))
    bogus = tmp_path / "bogus.mp4"
    bogus.write_text("this is not a video")
    with pytest.raises(FileNotFoundError, match="bogus.mp4") as e:
        open_source(bogus)
    assert isinstance(e.value, UnreadableFileError)


@pytest.mark.skipif(not CLIP.exists(), reason=f"demo clip {CLIP} not present")
def test_real_clip_decodes_with_the_right_size_and_fps():
    # SOURCE.md: H.264 MP4, 512x516, 30 fps, 150 frames
    with open_source(str(CLIP)) as src:
        assert (src.width, src.height) == (512, 516)
        assert src.fps == pytest.approx(30.0)
        assert src.frame_count == 150
        n, last = 0, None
        for f in src:
            assert f.image.shape == (516, 512, 3) and f.image.dtype == np.uint8
            n, last = n + 1, f
    assert n == 150 and last.index == 149
    assert src.stats().bad_frames == 0


# --------------------------------------------------------------------------- live: newest frame


def test_live_source_keeps_only_the_newest_frame_for_a_slow_consumer():
    src = PushSource("fast-producer", copy=False)
    refs: list[weakref.ref] = []
    n = 300
    alive_max = [0]

    def producer():
        for i in range(n):
            img = np.full((24, 32, 3), i % 256, np.uint8)
            refs.append(weakref.ref(img))
            src.push(img)
            del img
            time.sleep(0.0005)
        src.end()

    t = threading.Thread(target=producer)
    t.start()
    got = []
    for f in src:
        got.append(f.index)
        del f
        alive_max[0] = max(alive_max[0], sum(r() is not None for r in list(refs)))
        time.sleep(0.01)
    t.join(5)
    st = src.stats()
    assert got[-1] == n - 1  # the last frame is still delivered
    assert all(b > a for a, b in zip(got, got[1:]))
    assert len(got) < 0.8 * n
    assert st.frames_dropped > 0
    assert st.frames_read == n and st.frames_delivered + st.frames_dropped == n
    assert src._slot.high_water == 1  # the slot never held more than one frame
    # memory bounded: only the slot's frame + the producer's current image can be alive
    assert alive_max[0] <= 3
    assert sum(r() is not None for r in refs) == 0


def test_push_source_from_another_thread_and_bad_pushes():
    src = PushSource("ros2:/camera/image_raw", fps=30)
    results = []

    def producer():
        for i in range(6):
            results.append(src.push(np.full((20, 30), 40 * i, np.uint8), timestamp=100.0 + i))
            time.sleep(0.03)
        results.append(src.push(np.zeros((10, 10, 3), np.uint8)))  # wrong size: skipped
        results.append(src.push(np.zeros((20, 30, 3), np.float32)))  # wrong dtype: skipped
        results.append(src.push("not an image"))
        src.end()

    threading.Thread(target=producer).start()
    frames = list(src)
    assert [f.index for f in frames] == list(range(6))
    assert [f.timestamp for f in frames] == [100.0 + i for i in range(6)]
    assert all(f.image.shape == (20, 30, 3) and f.source == "ros2:/camera/image_raw" for f in frames)
    assert results[6:] == [None, None, None]
    st = src.stats()
    assert st.bad_frames == 3 and st.state == "ended"
    assert src.push(np.zeros((20, 30, 3), np.uint8)) is None  # after end(): ignored, no raise


def test_push_source_resize_policy_and_copy():
    src = PushSource(size_policy="resize")
    buf = np.zeros((20, 30, 3), np.uint8)
    src.push(buf)
    buf[:] = 255  # the producer reuses its buffer: the frame was copied
    f0 = src.read(timeout=1)
    assert f0.image.max() == 0
    src.push(np.zeros((40, 60, 3), np.uint8))
    f1 = src.read(timeout=1)
    assert f1.image.shape == (20, 30, 3) and src.stats().resized_frames == 1
    assert src.read(timeout=0.05) is None  # nothing new: a timeout, not a repeat
    src.close()


def test_close_stops_threads_and_unblocks_a_waiting_consumer():
    src = SyntheticSource(64, 48, fps=100, realtime=True)
    next(src)
    thread = src._thread
    assert thread.is_alive()
    src.close()
    assert not thread.is_alive()
    assert src.stats().state == "closed"
    with pytest.raises(StopIteration):
        next(src)
    assert src.read(timeout=0.01) is None
    src.close()  # idempotent

    push = PushSource()
    done = threading.Event()

    def consumer():
        for _ in push:
            pass
        done.set()

    threading.Thread(target=consumer, daemon=True).start()
    time.sleep(0.05)
    push.close()
    assert done.wait(3), "a consumer blocked in iteration must end when the source is closed"


# --------------------------------------------------------------------------- cameras (fake)


class FakeDevice:
    """A camera that serves ``up_frames`` frames, then vanishes until ``down_opens`` reopen attempts."""

    def __init__(self, up_frames: int = 5, down_opens: int = 3, forever_down: bool = False):
        self.up, self.served, self.opens, self.releases = True, 0, 0, 0
        self.up_frames, self.down_opens, self.forever_down = up_frames, down_opens, forever_down
        self.opens_while_down = 0
        self.lock = threading.Lock()

    def factory(self):
        with self.lock:
            self.opens += 1
            if not self.up:
                self.opens_while_down += 1
                if not self.forever_down and self.opens_while_down >= self.down_opens:
                    self.up = True
            return FakeCapture(self, opened=self.up)


class FakeCapture:
    def __init__(self, dev: FakeDevice, opened: bool):
        self.dev, self.opened = dev, opened

    def isOpened(self):
        return self.opened

    def get(self, prop):
        return {cv2.CAP_PROP_FPS: 200.0, cv2.CAP_PROP_FRAME_WIDTH: 32.0, cv2.CAP_PROP_FRAME_HEIGHT: 24.0}.get(prop, 0.0)

    def read(self):
        time.sleep(0.005)
        d = self.dev
        with d.lock:
            if not (self.opened and d.up):
                return False, None
            d.served += 1
            if d.served == d.up_frames:
                d.up = False  # unplugged after this frame
            return True, np.full((24, 32, 3), d.served % 256, np.uint8)

    def release(self):
        with self.dev.lock:
            self.dev.releases += 1
        self.opened = False


def test_camera_loss_retries_with_backoff_and_resumes(caplog):
    caplog.set_level(logging.INFO, logger="samstream.sources")
    dev = FakeDevice(up_frames=5, down_opens=3)
    src = CaptureSource(0, capture_factory=dev.factory, backoff_initial=0.01, backoff_max=0.03,
                        max_read_failures=2)
    assert src.is_live and src.kind == "camera" and src.name == "camera:0"
    assert (src.fps, src.size) == (200.0, (32, 24))
    got = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        f = src.read(timeout=0.5)
        if f is not None:
            got.append(f)
        if src.stats().reconnects >= 1 and got and int(got[-1].image[0, 0, 0]) > 5:
            break
    st = src.stats()
    src.close()
    assert st.reconnects == 1
    assert st.reconnect_attempts == 3  # two reopen failures, then success
    assert st.state == "open" and st.error is None
    assert st.read_failures >= 2
    assert list(src.backoff_delays) == pytest.approx([0.01, 0.02, 0.03])  # doubling, capped
    assert int(got[-1].image[0, 0, 0]) > 5  # frames resumed after the outage
    assert_increasing(got)
    msgs = " ".join(r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)
    assert "lost the camera" in msgs and "reconnected" in msgs
    assert dev.releases >= dev.opens - 1  # closed captures were released (the last by close())


def test_camera_gives_up_after_max_retries_without_raising():
    dev = FakeDevice(up_frames=3, forever_down=True)
    src = CaptureSource("/dev/video7", capture_factory=dev.factory, backoff_initial=0.01,
                        backoff_max=0.02, max_retries=3, max_read_failures=1)
    frames = list(src)  # ends normally
    st = src.stats()
    assert 1 <= len(frames) <= 3
    assert st.state == "failed" and st.reconnect_attempts == 3 and st.reconnects == 0
    assert "gave up" in st.error and "max_retries=3" in st.error and src.error == st.error
    assert not src._thread.is_alive()


def test_camera_give_up_time():
    dev = FakeDevice(up_frames=2, forever_down=True)
    src = CaptureSource(1, capture_factory=dev.factory, backoff_initial=0.02, backoff_max=0.05,
                        give_up_after=0.15, max_read_failures=1)
    t0 = time.monotonic()
    list(src)
    assert time.monotonic() - t0 < 3
    assert "give_up_after" in src.stats().error


def test_nonexistent_camera_gives_a_clear_error():
    if Path("/dev/video57").exists():
        pytest.skip("this machine really has /dev/video57")
    for spec in (57, "57", "/dev/video57"):
        with pytest.raises(CameraNotFoundError) as e:
            open_source(spec)
        msg = str(e.value)
        assert "/dev/video57" in msg and "--source synthetic" in msg


def test_unopenable_stream_and_url_names_are_redacted():
    class Closed:
        def isOpened(self):
            return False

        def release(self):
            pass

    with pytest.raises(OSError, match="could not open stream rtsp://admin:\\*\\*\\*@10.0.0.9:554/live"):
        CaptureSource("rtsp://admin:hunter2@10.0.0.9:554/live", capture_factory=Closed)


# --------------------------------------------------------------------------- specs


def test_unknown_spec_and_options_raise_value_error(tmp_path):
    for bad in ("webcam-please", "ftp://example.com/x", "", None, 3.5):
        with pytest.raises(ValueError, match="accepted sources"):
            open_source(bad)
    with pytest.raises(ValueError, match="does not take option"):
        open_source("synthetic", colour="red")
    with pytest.raises(FileNotFoundError):
        open_source("./not/here.avi")


def test_every_source_is_a_context_manager_with_the_common_api(tmp_path):
    path = _write_video(tmp_path / "c.avi", 3, 10.0)
    _png(tmp_path / "f.png", 1)
    specs = [str(path), str(tmp_path / "f.png"), "synthetic:64x48,frames=3,realtime=0", "push"]
    for spec in specs:
        with open_source(spec) as src:
            for attr in ("name", "is_live", "fps", "width", "height", "size", "stats", "close", "read"):
                assert hasattr(src, attr), (spec, attr)
            st = src.stats()
            for key in ("frames_read", "frames_dropped", "bad_frames", "reconnects", "last_error"):
                assert key in st.to_dict()
        assert src.closed
