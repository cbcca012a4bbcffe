"""samstream's ROS 2 inputs under a bounded loop of random/malformed messages from another process
(``helpers/ros_fuzz_inputs.py``): prompts, clicks, removes, clears and images. samstream
(``run --source ros2:/fuzz/image_raw --ros2``) stays up, keeps publishing masks of the right size,
counts what it refused (``bad_prompts``, ``bad_clicks``, ``bad_commands``, source ``bad_frames``) and
its memory stays bounded."""

from __future__ import annotations

import json
import time
from pathlib import Path

from relhelpers import rss_kb, tally

HELPER = Path(__file__).resolve().parent / "helpers" / "ros_fuzz_inputs.py"


def test_malformed_messages_on_every_ros_input(ros_procs, tmp_path):
    run = ros_procs.samstream("run", "--source", "ros2:/fuzz/image_raw", "--ros2", "--auto-objects", "0", "-q",
                              "--stats-json", tmp_path / "s.json", name="samstream_fuzzed")
    fuzz = ros_procs.python(HELPER, "--topic", "/fuzz/image_raw", "--n", "400", "--out", tmp_path / "fuzz.json",
                            name="fuzzer")
    time.sleep(8.0)
    rss0 = rss_kb(run.pid) if run.poll() is None else None
    ros_procs.wait(fuzz, 300)
    assert run.poll() is None, ros_procs.log(run)[-3000:]
    grown = (rss_kb(run.pid) - rss0) / 1024 if rss0 else 0.0
    res = json.loads((tmp_path / "fuzz.json").read_text())
    ros_procs.kill(run)  # SIGINT
    assert run.wait(timeout=30) == 130, ros_procs.log(run)[-3000:]
    stats = json.loads((tmp_path / "s.json").read_text())
    r = stats["ros2"]
    assert res["masks_before"] >= 3 and res["masks_after"] >= 5, res  # masks kept coming after the fuzz
    assert res["last_size"] == [320, 240]
    assert r["bad_prompts"] > 0 and r["bad_clicks"] > 0, r
    assert stats["source"]["bad_frames"] > 0, stats["source"]
    assert grown < 200, f"samstream grew by {grown:.0f} MB"
    assert "Traceback" not in ros_procs.log(run)
    for kind, n in res["tried"].items():
        if kind == "clear":  # a valid command, interleaved
            continue
        tally(f"ROS 2 input: {kind}", range(n), "seeded random malformed messages from another rclpy process")
    print("refused:", {k: r[k] for k in ("bad_prompts", "bad_clicks", "bad_commands")}, "bad frames",
          stats["source"]["bad_frames"], "rss growth MB", round(grown, 1))
