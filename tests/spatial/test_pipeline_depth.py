"""Pipeline(depth=...): every frame's 3-D objects reach sinks with write_3d; no depth -> no 3-D."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from samstream import Pipeline
from samstream.sources import SyntheticSource

ROOT = Path(__file__).resolve().parents[2]


class _Rec:
    def __init__(self):
        self.frames, self.scenes = [], []

    def write(self, frame, seg):
        self.frames.append(frame.index)

    def write_3d(self, frame, seg, objs):
        self.frames.append(frame.index)
        assert objs.frame_index == frame.index == seg.frame_index
        self.scenes.append(objs)


class _EveryOther:
    """A depth provider that has depth only for even frames (a slower depth camera)."""

    def __init__(self, src):
        self.src = src

    def depth_for(self, frame):
        return self.src.depth_for(frame) if frame.index % 2 == 0 else None


def _pipe(depth, sink, src):
    return Pipeline(src, prompts=["box:250,170,390,310@1"], sinks=[sink], asynchronous=False,
                    keyframe_interval=5, depth=depth, max_frames=6)


def test_pipeline_lifts_every_frame_from_the_source():
    src = SyntheticSource(realtime=False, frames=6)
    rec = _Rec()
    with _pipe("source", rec, src) as pipe:
        for _seg in pipe:
            assert pipe.last_objects3d is not None
    assert rec.frames == list(range(6)) and [s.frame_index for s in rec.scenes] == list(range(6))
    o = rec.scenes[-1].get(1)
    assert o is not None and 0.5 < o.centroid[2] < 4.6 and pipe.lift_ms > 0


def test_no_depth_for_a_frame_means_no_3d_for_it():
    src = SyntheticSource(realtime=False, frames=6)
    rec = _Rec()
    with _pipe(_EveryOther(src), rec, src) as pipe:
        seen = [(seg.frame_index, pipe.last_objects3d is not None) for seg in pipe]
    assert seen == [(i, i % 2 == 0) for i in range(6)]
    assert [s.frame_index for s in rec.scenes] == [0, 2, 4]


def test_depth_needs_a_provider():
    with pytest.raises(ValueError, match="depth_for"):
        Pipeline(SyntheticSource(realtime=False, frames=1), depth=object())


def test_bench_spatial_json(tmp_path):
    out = tmp_path / "spatial.json"
    proc = subprocess.run([sys.executable, "-m", "samstream.cli", "bench", "--spatial", "--runs", "3",
                           "--objects", "2", "--json", str(out)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    d = json.loads(out.read_text())
    assert d["input_size"] == "640x480" and d["objects"] == 2
    assert d["lift_ms"] > 0 and d["decode_16uc1_ms"] > 0 and 0 < d["cloud_points"] <= 4000
    assert np.isfinite(d["decode_and_lift_ms"])
