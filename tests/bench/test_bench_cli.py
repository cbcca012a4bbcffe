"""``samstream bench`` end to end on tiny configurations: the JSON it writes carries its fields."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _bench(tmp_path, *args) -> dict:
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, "-m", "samstream.cli", "bench", *args, "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(out.read_text())


def test_model_bench_json_has_machine_and_records(tmp_path):
    d = _bench(tmp_path, "--models", "classic", "--runs", "1")
    assert {"machine", "records"} <= set(d)
    assert d["machine"]["cpus"] >= 1 and "isa" in d["machine"]
    stages = {r["stage"] for r in d["records"]}
    assert {"encoder", "decoder"} <= stages
    for r in d["records"]:
        assert r["model"] == "classic" and r["median_ms"] > 0 and r["runs"] == 1
        assert r["weights"] == "none" and r["input_size"] == "640x480"


def test_pipeline_bench_json_compares_with_the_naive_loop(tmp_path):
    d = _bench(tmp_path, "--pipeline", "--models", "classic", "--seconds", "2")
    row = d["results"][0] if "results" in d else d[0]
    assert row["model"] == "classic"
    for key in ("samstream", "naive"):
        assert row[key]["frames"] > 0 and row[key]["results_per_s"] > 0
    assert row["samstream"]["tracker_ms_per_frame"] > 0
    assert row["samstream"]["keyframes_failed"] == 0
