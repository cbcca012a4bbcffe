#!/usr/bin/env python3
"""ROS 2 publish rate and latency: frame capture -> message received in another process.

    .venv/bin/python scripts/bench_ros2.py                       # 640x480 @ 30 fps, classic, 20 s
    .venv/bin/python scripts/bench_ros2.py --source synthetic:1280x720@30 --seconds 30 --json out.json

Starts ``samstream run --source SOURCE --ros2`` in a child process and subscribes (reliable, in this
process) to ``/samstream/mask``, ``/samstream/mask/compressed`` and ``/samstream/detections``. Each
message's ``header.stamp`` is the capture time of its frame (``time.time()`` when the synthetic
camera produced it), so ``receive time - stamp`` is the end-to-end latency: capture, tracking,
message building, DDS transport and delivery to this process. The first ``--warmup`` seconds are
left out. Runs in a ROS domain of its own (``ROS_DOMAIN_ID`` from the environment, else a random one)
with discovery on localhost.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", default="synthetic:640x480@30,seed=1")
    ap.add_argument("--model", default="classic")
    ap.add_argument("--seconds", type=float, default=20.0, help="measured time after warm-up (default 20)")
    ap.add_argument("--warmup", type=float, default=5.0, help="seconds left out at the start (default 5)")
    ap.add_argument("--qos", default="default", help="samstream's publisher QoS (default: default)")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)

    env = os.environ.copy()
    env.setdefault("ROS_DOMAIN_ID", str(random.randint(102, 200) % 101 + 1))
    env.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    os.environ.update({k: env[k] for k in ("ROS_DOMAIN_ID", "ROS_AUTOMATIC_DISCOVERY_RANGE")})

    import rclpy
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import CompressedImage, Image
    from vision_msgs.msg import Detection2DArray

    rclpy.init()
    node = rclpy.create_node("samstream_bench")
    rec: dict[str, list[tuple[float, float]]] = {"mask": [], "mask/compressed": [], "detections": []}

    def cb(key):
        def f(msg) -> None:
            rec[key].append((time.time(), msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9))
        return f

    q = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    node.create_subscription(Image, "/samstream/mask", cb("mask"), q)
    node.create_subscription(CompressedImage, "/samstream/mask/compressed", cb("mask/compressed"), q)
    node.create_subscription(Detection2DArray, "/samstream/detections", cb("detections"), q)

    stats_path = Path(f"/tmp/samstream-bench-ros2-{os.getpid()}.json")
    cmd = [sys.executable, "-m", "samstream.cli", "run", "--source", args.source, "--model", args.model, "--ros2",
           "--ros2-qos", args.qos, "-q", "--stats-json", str(stats_path)]
    child = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    t_first = None
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            rclpy.spin_once(node, timeout_sec=0.05)
            if rec["mask"] and t_first is None:
                t_first = time.time()
            if t_first is not None and time.time() - t_first > args.warmup + args.seconds:
                break
            if child.poll() is not None:
                raise SystemExit(f"samstream exited early:\n{child.stdout.read().decode(errors='replace')}")
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGINT)
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
        node.destroy_node()
        rclpy.try_shutdown()
    if t_first is None:
        raise SystemExit("no mask message arrived within 120 s")
    stats = json.loads(stats_path.read_text()) if stats_path.exists() else {}
    stats_path.unlink(missing_ok=True)

    t0 = t_first + args.warmup
    out = {"source": args.source, "model": args.model, "qos": args.qos, "seconds": args.seconds,
           "ros_domain_id": int(env["ROS_DOMAIN_ID"]), "topics": {}}
    for key, items in rec.items():
        xs = [(r, s) for r, s in items if r >= t0]
        if len(xs) < 2:
            out["topics"][key] = {"messages": len(xs)}
            continue
        lat = np.array([(r - s) * 1e3 for r, s in xs])
        span = xs[-1][0] - xs[0][0]
        out["topics"][key] = {"messages": len(xs), "rate_hz": round((len(xs) - 1) / span, 2),
                              "latency_ms": {"median": round(float(np.median(lat)), 1),
                                             "p90": round(float(np.percentile(lat, 90)), 1),
                                             "p99": round(float(np.percentile(lat, 99)), 1),
                                             "min": round(float(lat.min()), 1)}}
    tracker = stats.get("tracker") or {}  # PipelineMetrics.to_dict(): track_ms lives in the tracker's stats
    out["samstream"] = {k: stats.get(k, tracker.get(k)) for k in ("frames_out", "input_fps", "output_fps",
                                                                  "dropped_frames", "track_ms", "sink_ms",
                                                                  "latency_ms")}
    out["samstream"]["ros2"] = {k: v for k, v in stats.get("ros2", {}).items() if k in ("frames_published", "publish_dropped")}
    print(json.dumps(out, indent=2))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
