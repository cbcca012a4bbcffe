"""The live view's machinery without a browser: frame stamps, streams, per-tab views, the MJPEG body."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from samstream.ui.live import BOUNDARY, MAX_POINTS, Hub, Stream, parse_box
from samstream.ui.stamp import block_size, decode_stamp, encode_stamp


# -- stamp ------------------------------------------------------------------------------------
@pytest.mark.parametrize("w,h", [(640, 480), (512, 516), (160, 120)])
def test_stamp_survives_jpeg(w, h, rng):
    img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    ts = 1_764_000_123.456
    encode_stamp(img, 123_456, ts)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 70])
    back = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    assert decode_stamp(back) == (123_456, int(round(ts * 1000)) % (1 << 32))


def test_stamp_absent_or_damaged_is_none(rng):
    img = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    assert decode_stamp(img) is None or decode_stamp(img) != (5, 5)  # random pixels: checksum fails
    encode_stamp(img, 5, 0.005)
    assert decode_stamp(img) == (5, 5)
    b = block_size(640)
    img[-b:, 10 * b: 11 * b] = 255 - img[-b:, 10 * b: 11 * b]  # flip one bit of the index
    assert decode_stamp(img) is None
    assert decode_stamp(np.zeros((480, 40, 3), np.uint8)) is None  # too narrow to carry one


def test_fast_overlay_draws_exactly_what_draw_overlay_draws():
    from samstream.sinks.overlay import draw_overlay
    from samstream.sources import SyntheticScene
    from samstream.types import Segmentation
    from samstream.ui.live import fast_overlay

    img, labels = SyntheticScene(320, 240, 3, 1).render(7)
    seg = Segmentation(np.stack([labels == k for k in (1, 2, 3)]), [0.9] * 3, [1, 2, 7], 7, 0.0,
                       lost=[False, True, False])
    for alpha, hidden in ((0.5, ()), (0.0, ()), (1.0, (7,))):
        assert np.array_equal(fast_overlay(img, seg, alpha, set(hidden)), draw_overlay(img, seg, alpha, hidden=hidden))


def test_parse_box():
    assert parse_box("300, 260,100,80") == (100, 80, 300, 260)
    for bad in ("1,2,3", "a,b,c,d", "1,2,3,nan", ""):
        with pytest.raises(ValueError, match="X1,Y1,X2,Y2"):
            parse_box(bad)


# -- streams and views ----------------------------------------------------------------------
def _wait(cond, timeout=15.0, what="condition"):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture()
def hub():
    h = Hub("synthetic:320x240@30,seed=2", model="classic", max_views=3)
    _wait(lambda: h.server.state == "running" and h.server.latest() is not None, what="first frame")
    yield h
    h.close()


def _object_point(label_map: np.ndarray, oid: int) -> tuple[int, int]:
    m = (label_map == oid).astype(np.uint8)
    d = cv2.distanceTransform(m, cv2.DIST_L2, 5)
    y, x = np.unravel_index(np.argmax(d), d.shape)
    return int(x), int(y)


def test_click_adds_object_then_refines_and_bad_clicks_are_messages(hub):
    v = hub.view("tab-a")
    _, frame, _ = hub.server.latest()
    gt = hub.server.pipe.source.ground_truth(frame.index)
    x, y = _object_point(gt, 1)
    msg = v.click(x, y)
    assert "object 1" in msg and v.obj_id == 1
    assert hub.server.object_ids() == [1]
    _wait(lambda: len(hub.server.latest()[2]) == 1 and hub.server.latest()[2].masks[0].any(), what="a mask")
    # outside the image / not numbers / exclude without object: clear errors naming the fix
    with pytest.raises(ValueError, match="outside the 320x240 image"):
        v.click(400, 10)
    with pytest.raises(ValueError, match="outside"):
        v.click(-1, 10)
    with pytest.raises(ValueError, match="pair of numbers"):
        v.click("left", None)
    v.new_object()
    v.set_mode("exclude")
    with pytest.raises(ValueError, match="include"):
        v.click(x, y)
    with pytest.raises(ValueError, match="click mode"):
        v.set_mode("lasso")
    # rapid clicks on one object: the prompt stays bounded, the stream goes on
    v.set_mode("include")
    v.click(x, y)
    oid = v.obj_id
    n0 = hub.server.metrics()["frames_out"]
    for i in range(3 * MAX_POINTS):
        v.click(x + (i % 5), y + (i % 3))
    assert len(v.points) == MAX_POINTS and 1 in v.labels
    assert hub.server.object_ids() == [1, oid]
    _wait(lambda: hub.server.metrics()["frames_out"] > n0 + 5, what="frames after rapid clicks")
    assert hub.server.state == "running"


def test_box_clicks_entry_remove_clear_and_everything(hub):
    v = hub.view("tab-b")
    v.set_mode("box")
    assert "first corner" in v.click(20, 20)
    assert "object 1: box" in v.click(120, 100)
    with pytest.raises(ValueError, match="too small"):
        v.new_object()
        v.click(50, 50)
        v.click(51, 52)
    assert "object 2: box" in v.enter_box("150,100,250,200")
    with pytest.raises(ValueError, match="leaves the 320x240 image"):
        v.enter_box("0,0,400,100")
    with pytest.raises(ValueError, match="known ids"):
        v.remove(9)
    assert "removed object 1" in v.remove("1")
    assert hub.server.object_ids() == [2]
    assert "cleared" in v.clear() and hub.server.object_ids() == []
    msg = v.segment_everything()
    assert "added objects" in msg
    assert 1 <= len(hub.server.object_ids()) <= 12
    v.set_alpha(0.25)
    with pytest.raises(ValueError, match="0..1"):
        v.set_alpha(3)
    v.set_hidden(["1"])
    assert v.hidden == {1}


def test_mjpeg_sends_only_the_newest_frame_and_per_tab_opacity(hub):
    v = hub.view("tab-c")
    gen = hub.mjpeg("tab-c")
    head = b"--" + BOUNDARY.encode() + b"\r\nContent-Type: image/jpeg\r\n\r\n"
    assert next(gen) == head
    parts = []
    for _ in range(3):
        part = next(gen)
        # each JPEG is followed at once by the next part's boundary and header: Chromium shows a
        # part only when the next one starts (else every frame is shown one frame late)
        assert part.startswith(b"\xff\xd8") and part.endswith(b"\xff\xd9\r\n" + head)
        parts.append(cv2.imdecode(np.frombuffer(part[: -len(head) - 2], np.uint8), cv2.IMREAD_COLOR))
        time.sleep(0.2)  # a slow client: ~6 frames go by between two parts
    idx = [decode_stamp(p)[0] for p in parts]
    assert idx[0] < idx[1] < idx[2]
    assert idx[2] - idx[1] >= 3, f"the stream queued stale frames instead of skipping: {idx}"
    assert v.frames_sent == 3
    # a second connection of the same tab supersedes the first
    gen2 = hub.mjpeg("tab-c")
    next(gen2), next(gen2)
    with pytest.raises(StopIteration):
        for _ in range(3):
            next(gen)
    gen2.close()
    # opacity and hidden objects are per tab: the same result renders differently
    _, frame, _ = hub.server.latest()
    hub.server.pipe.add_object(1, mask=hub.server.pipe.source.ground_truth(frame.index) == 1)
    _wait(lambda: len(hub.server.latest()[2]) == 1, what="the mask object")
    _, frame, seg = hub.server.latest()
    other = hub.view("tab-d")
    other.set_alpha(0.0)
    m = seg.masks[0]
    a = cv2.imdecode(np.frombuffer(v.render(frame, seg, hub.server), np.uint8), cv2.IMREAD_COLOR)
    b = cv2.imdecode(np.frombuffer(other.render(frame, seg, hub.server), np.uint8), cv2.IMREAD_COLOR)
    inner = cv2.erode(m.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    raw = frame.image.astype(float)

    def diff(img):  # median over the object's interior (the id label and JPEG noise aside)
        return float(np.median(np.abs(img[inner] - raw[inner]).mean(axis=1)))

    assert diff(b) < 10  # alpha 0: the object's own pixels
    assert diff(a) > 25  # alpha 0.5: tinted
    v.set_hidden([1])
    c = cv2.imdecode(np.frombuffer(v.render(frame, seg, hub.server), np.uint8), cv2.IMREAD_COLOR)
    assert diff(c) < 10


def test_views_are_bounded_and_webcam_pauses_the_shared_source(hub):
    for i in range(6):
        hub.view(f"t{i}")
    assert len(hub.views) == hub.max_views
    only = hub.views
    for v in only:
        hub.drop(v.sid)
    assert hub.server.state == "paused"  # every tab closed: the shared source rests
    v = hub.view("cam")
    assert hub.server.state in ("starting", "running")  # a tab opened: it resumes
    v.set_input(True)
    assert hub.server.state == "paused"  # nobody watches it: its CPU goes to the webcam
    frame = np.zeros((240, 320, 3), np.uint8)
    _wait(lambda: v.webcam.state == "running", what="webcam stream")
    assert v.push_webcam(frame)
    _wait(lambda: v.webcam.latest() is not None, what="a webcam result")
    v.set_input(False)
    assert v.webcam is None
    _wait(lambda: hub.server.state == "running", what="server stream resumed")


def test_source_end_and_bad_model_are_reported_not_raised():
    s = Stream("synthetic:160x120@60,frames=20", model="classic")
    _wait(lambda: s.state == "ended", what="end of source")
    assert "ended" in s.error and "Restart source" in s.error
    s.restart()
    _wait(lambda: s.state in ("running", "ended"), what="restart")
    with pytest.raises(ValueError, match="samstream export mobilesam"):
        s.set_model("mobilesam")  # not exported in the test cache
    s.close()
    bad = Stream("no_such_clip.mp4")
    _wait(lambda: bad.state == "failed", what="failure")
    assert "no such file" in bad.error
    with pytest.raises(ValueError, match="Restart source"):
        bad.require_pipe()
    bad.close()


def test_a_file_source_loops_and_stops_cleanly(tmp_path):
    from samstream.sources import SyntheticScene

    path = tmp_path / "clip.mp4"
    scene = SyntheticScene(160, 120, 2, 3)
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, (160, 120))
    for i in range(15):
        vw.write(scene.render(i)[0])
    vw.release()
    s = Stream(str(path))
    _wait(lambda: s.metrics().get("frames_out", 0) > 20, what="a file played past its end (looping)")
    assert s.state == "running" and s.size == (160, 120)
    s.restart()  # stopping a file source from another thread must not touch its decoder
    _wait(lambda: s.state == "running" and s.metrics().get("frames_out", 0) > 3, what="restart")
    s.close()
    assert s.state == "stopped"
