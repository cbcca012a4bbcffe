"""The session hub and its MJPEG stream without a browser: newest frame only, per-tab settings,
bounded tabs, the shared source pausing while only webcams are watched."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest
from uihelpers import wait_until

from samstream.ui.hub import BOUNDARY
from samstream.ui.stamp import decode_stamp


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
    wait_until(lambda: len(hub.server.latest()[2]) == 1, what="the mask object")
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
    wait_until(lambda: v.webcam.state == "running", what="webcam stream")
    assert v.push_webcam(frame)
    wait_until(lambda: v.webcam.latest() is not None, what="a webcam result")
    v.set_input(False)
    assert v.webcam is None
    wait_until(lambda: hub.server.state == "running", what="server stream resumed")
