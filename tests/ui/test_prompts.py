"""A tab's prompts without a browser: clicks (include/exclude), boxes, new object, clear, remove, settings."""

from __future__ import annotations

import pytest
from uihelpers import object_point, wait_until

from samstream.ui.prompts import MAX_POINTS, parse_box


def test_parse_box():
    assert parse_box("300, 260,100,80") == (100, 80, 300, 260)
    for bad in ("1,2,3", "a,b,c,d", "1,2,3,nan", ""):
        with pytest.raises(ValueError, match="X1,Y1,X2,Y2"):
            parse_box(bad)


def test_click_adds_object_then_refines_and_bad_clicks_are_messages(hub):
    v = hub.view("tab-a")
    _, frame, _ = hub.server.latest()
    gt = hub.server.pipe.source.ground_truth(frame.index)
    x, y = object_point(gt, 1)
    msg = v.click(x, y)
    assert "object 1" in msg and v.obj_id == 1
    assert hub.server.object_ids() == [1]
    wait_until(lambda: len(hub.server.latest()[2]) == 1 and hub.server.latest()[2].masks[0].any(), what="a mask")
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
    n0 = hub.server.frames_out
    for i in range(3 * MAX_POINTS):
        v.click(x + (i % 5), y + (i % 3))
    assert len(v.points) == MAX_POINTS and 1 in v.labels
    assert hub.server.object_ids() == [1, oid]
    wait_until(lambda: hub.server.frames_out > n0 + 5, what="frames after rapid clicks")
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
