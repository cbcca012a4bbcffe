"""The pipeline thread of the live view: end of source, bad model, a looping file, restarts."""

from __future__ import annotations

import cv2
import pytest
from uihelpers import wait_until

from samstream.ui.stream import Stream


def test_source_end_and_bad_model_are_reported_not_raised():
    s = Stream("synthetic:160x120@60,frames=20", model="classic")
    wait_until(lambda: s.state == "ended", what="end of source")
    assert "ended" in s.error and "Restart source" in s.error
    s.restart()
    wait_until(lambda: s.state in ("running", "ended"), what="restart")
    with pytest.raises(ValueError, match="samstream export mobilesam"):
        s.set_model("mobilesam")  # not exported in the test cache
    s.close()
    bad = Stream("no_such_clip.mp4")
    wait_until(lambda: bad.state == "failed", what="failure")
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
    wait_until(lambda: s.frames_out > 20, what="a file played past its end (looping)")
    assert s.state == "running" and s.size == (160, 120)
    s.restart()  # stopping a file source from another thread must not touch its decoder
    wait_until(lambda: s.state == "running" and s.frames_out > 3, what="restart")
    s.close()
    assert s.state == "stopped"


def test_push_only_reaches_a_source_that_accepts_pushed_frames():
    import numpy as np

    s = Stream("synthetic:160x120@30", model="classic")
    wait_until(lambda: s.state == "running", what="synthetic stream")
    assert not s.push(np.zeros((120, 160, 3), np.uint8))  # a synthetic scene takes no pushed frames
    s.close()
    p = Stream("push:test", model="classic")
    wait_until(lambda: p.state == "running", what="push stream")
    assert p.push(np.zeros((120, 160, 3), np.uint8))
    wait_until(lambda: p.latest() is not None, what="a pushed frame's result")
    p.close()
