"""What a tab is shown: the frame drawn by the one overlay renderer, and the text readout
(keyframe failures included)."""

from __future__ import annotations

import cv2
import numpy as np
from uihelpers import object_point, wait_until

from samstream.engine.classic import ClassicPredictor
from samstream.sinks.overlay import colour_for, draw_overlay
from samstream.sources import SyntheticScene
from samstream.types import Frame, Segmentation
from samstream.ui.readout import JPEG_QUALITY, readout, render_frame, stats_markdown
from samstream.ui.stamp import decode_stamp, encode_stamp


def _full_frame_overlay(image, seg, alpha, hidden=()):
    """The overlay computed over the whole frame for every object (the reference for draw_overlay,
    which works inside each mask's bounding box)."""
    out = image.copy()
    for m, oid, lost in zip(seg.masks, seg.object_ids, seg.lost):
        if lost or int(oid) in hidden or not m.any():
            continue
        col = np.array(colour_for(oid), np.float32)
        out[m] = (out[m].astype(np.float32) * (1.0 - alpha) + col * alpha).astype(np.uint8)
        cnts, _ = cv2.findContours(m.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(out, cnts, -1, colour_for(oid), 2)
        ys, xs = np.nonzero(m)
        org = (int(xs.mean()) - 8, int(ys.mean()) + 6)
        cv2.putText(out, str(int(oid)), org, cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(out, str(int(oid)), org, cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def test_the_view_draws_exactly_what_draw_overlay_draws():
    img, labels = SyntheticScene(320, 240, 3, 1).render(7)
    seg = Segmentation(np.stack([labels == k for k in (1, 2, 3)]), [0.9] * 3, [1, 2, 7], 7, 0.0,
                       lost=[False, True, False])
    for alpha, hidden in ((0.5, ()), (0.0, ()), (1.0, (7,))):
        assert np.array_equal(_full_frame_overlay(img, seg, alpha, set(hidden)),
                              draw_overlay(img, seg, alpha, hidden=hidden))
    # the live view's JPEG is draw_overlay's picture plus the stamp, nothing drawn on its own
    frame = Frame(img, 7, 1_764_000_000.25)
    jpeg = render_frame(frame, seg, 0.5, {7})
    assert decode_stamp(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR))[0] == 7
    want = encode_stamp(draw_overlay(img, seg, 0.5, hidden={7}), 7, frame.timestamp)
    assert jpeg == cv2.imencode(".jpg", want, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])[1].tobytes()


class FailingAfterFirstEncode(ClassicPredictor):
    """The classic backend whose encoder raises from its second call on (a keyframe refresh fails)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def encode(self, image, frame_index=-1, timestamp=0.0):
        self.calls += 1
        if self.calls > 1:
            raise RuntimeError("encoder exploded (test)")
        return super().encode(image, frame_index, timestamp)


def test_keyframe_failures_show_in_the_readout(hub):
    hub.server.start(predictor=FailingAfterFirstEncode())
    wait_until(lambda: hub.server.state == "running" and hub.server.frames_out > 0, what="the restarted stream")
    v = hub.view("tab-k")
    r = readout(v)
    assert r["keyframes_failed"] == 0 and "keyframes failed" not in stats_markdown(r)
    _, frame, _ = hub.server.latest()
    x, y = object_point(hub.server.pipe.source.ground_truth(frame.index), 1)
    v.click(x, y)
    wait_until(lambda: readout(v)["keyframes_failed"] > 0, what="a failed keyframe refresh")
    r = readout(v)
    text = stats_markdown(r)
    assert f"keyframes failed: {r['keyframes_failed']} (last: " in text
    assert "encoder exploded (test)" in text.split("keyframes failed:")[1]
    assert hub.server.state == "running"  # a failing refresh does not stop the stream
