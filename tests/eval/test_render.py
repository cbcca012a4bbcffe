"""The chart and the overlay strip (samstream.eval.render)."""

from __future__ import annotations

import cv2

from evalhelpers import Oracle, write_sequence

from samstream.eval import EvalResult, evaluate, load_sequences, render_chart, render_overlay_strip


def test_pictures(tmp_path):
    labels = write_sequence(tmp_path / "data")
    res = evaluate(lambda: Oracle(labels), tmp_path / "data", "mask", method="oracle", sample_frames=3)
    other = EvalResult.from_dict(res.to_dict())
    other.method = "copy"
    chart = render_chart([res, other], tmp_path / "out" / "chart.png")
    img = cv2.imread(str(chart))
    assert img is not None and img.shape[1] >= 640
    seq = load_sequences(tmp_path / "data")[0]
    sr = res.sequences[0]
    assert sorted(sr.samples) == [0, 2, 5]  # evenly spaced over positions 0..5
    strip = render_overlay_strip(seq, sr, tmp_path / "out" / "strip.png", thumb_width=96)
    img = cv2.imread(str(strip))
    assert img is not None and img.shape[1] >= 3 * 96
    # a plain {position: label map} works too
    render_overlay_strip(seq, {1: labels[1]}, tmp_path / "out" / "one.png")
