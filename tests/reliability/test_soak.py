"""The CI soak: ``samstream bench --soak --seconds 60`` (the 600 s soak's code, shorter), in a
subprocess, its JSON read back. Checked: memory (RSS after warm-up within the +-20 MB goal), open
file descriptors back to where they started, no leaked threads, no keyframe failures or sink
errors, every window sampled with its latency figures. Latency values are reported, never
asserted (timings on a shared machine are not a test)."""

from __future__ import annotations

import json
import math

from ros2_testutil import PY


def test_a_60_second_soak_is_flat(procs, tmp_path):
    out = tmp_path / "soak.json"
    p = procs.start([PY, "-m", "samstream.cli", "bench", "--soak", "--seconds", "60", "--sample-every", "10",
                     "--json", out], "soak60")
    procs.wait(p, 240)
    (r,) = json.loads(out.read_text())
    print({k: v for k, v in r.items() if k not in ("samples", "machine")})
    assert r["model"] == "classic" and r["objects"] == 3 and r["fps"] == 30.0 and r["size"] == [640, 480]
    samples = r["samples"]
    assert len(samples) >= 6 and samples[-1]["t_s"] >= 59
    assert r["frames"] > 60 and r["keyframes"] > 0 and r["keyframes_failed"] == 0 and r["errors"] == []
    for s in samples[1:]:
        assert s["p50_ms"] is not None and math.isfinite(s["p99_ms"]) and s["p99_ms"] >= s["p50_ms"]
        assert s["rss_mb"] > 0 and s["fds"] > 0 and s["threads"] > 0
    assert r["rss_flat"] and abs(r["rss_drift_mb"]) <= 20 and r["rss_range_mb"] <= 20, samples
    assert r["fds_end"] <= r["fds_start"] + 1, (r["fds_start"], r["fds_end"])
    assert r["threads_end"] <= r["threads_start"] + 3, (r["threads_start"], r["threads_end"])
