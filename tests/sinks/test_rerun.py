"""``samstream run --rerun-save FILE.rrd``: the file is written and read back with the Rerun SDK."""

from __future__ import annotations

import collections
import os
import subprocess
import sys
from pathlib import Path

import pytest

rr = pytest.importorskip("rerun")
ROOT = Path(__file__).resolve().parents[2]


def test_rrd_holds_image_segmentation_boxes_scores_timings_and_3d(tmp_path):
    out = tmp_path / "run.rrd"
    proc = subprocess.run([sys.executable, "-m", "samstream.cli", "run", "--source", "synthetic:320x240", "--depth",
                           "--prompt", "box:120,80,200,160@1", "--prompt", "point:60,60@2", "--max-frames", "6",
                           "--sync", "--rerun-save", str(out), "-q"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "rerun: sent" in proc.stdout and out.stat().st_size > 0
    from rerun.chunk import RrdReader

    reader = RrdReader(out)
    assert [s.application_id for s in reader.recordings()] == ["samstream"]
    rows = collections.Counter()
    for chunk in reader.stream():
        rows[str(chunk.entity_path)] += chunk.num_rows
    for entity in ("/camera/image", "/camera/segmentation", "/camera/boxes", "/scores/1", "/timings/latency_ms",
                   "/timings/track_ms", "/world/objects/boxes", "/world/objects/points"):
        assert rows[entity] >= 1, (entity, dict(rows))
    assert rows["/camera"] >= 1  # the annotation context (id -> label, colour)


def test_rerun_save_needs_rrd(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "samstream.cli", "run", "--max-frames", "1",
                           "--rerun-save", str(tmp_path / "x.mcap")], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 2 and ".rrd" in proc.stderr
