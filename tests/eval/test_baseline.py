"""The optical-flow baseline, on synthetic motion and on a few real DAVIS frames (samstream.eval.baseline)."""

from __future__ import annotations

import numpy as np
import pytest

from evalhelpers import VOS, write_sequence

from samstream.eval import FlowWarpBaseline, evaluate, load_sequences
from samstream.types import Frame


def test_flow_baseline_prompts_and_synthetic_motion(tmp_path):
    labels = write_sequence(tmp_path, skip_mask=())
    b = FlowWarpBaseline()
    b.add_object(1, box=[4, 8, 16, 20])
    b.add_object(2, points=np.array([[37, 30]]), labels=np.array([1]))
    seq = load_sequences(tmp_path)[0]
    seg = b.track(Frame(seq.read_frame(0), 0, 0.0))
    assert np.array_equal(seg.mask_for(1), labels[0] == 1)  # the box region itself
    disc = seg.mask_for(2)
    assert disc[30, 37] and disc.sum() < (labels[0] == 2).sum() * 2
    res = evaluate(FlowWarpBaseline, tmp_path, "mask")
    assert res.sequences[0].objects[1].J > 0.9  # the static bar stays put


@pytest.mark.skipif(not (VOS / "blackswan").is_dir(), reason="DAVIS data not in shared/data/vos")
def test_flow_baseline_on_real_davis_frames():
    res = evaluate(FlowWarpBaseline, VOS, "mask", sequences=["blackswan"], max_frames=10)
    (s,) = res.sequences
    assert len(s.scored_stems) == 8  # frames 1..8: not the prompt, not the last (DAVIS-2016)
    assert s.J > 0.5 and s.F > 0.3
