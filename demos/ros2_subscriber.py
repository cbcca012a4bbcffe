#!/usr/bin/env python3
"""Listen to samstream's ROS 2 topics with the pip wheels only (no ROS install, nothing sourced).

    pip install 'samstream[ros]'                  # ROS 2 Kilted wheels, Python 3.11
    samstream run --source synthetic --ros2 &      # publishes /samstream/mask, /samstream/detections, ...
    python demos/ros2_subscriber.py --count 30 --save last_mask.png

For each ``mask`` message it prints the frame stamp, the objects present (label value = object id)
with their pixel counts, and the latency from the frame's capture stamp to reception here; it also
counts ``mask/compressed`` (PNG) and ``detections`` messages. ``--save`` writes the last label map
in colour (samstream's palette). ``--json`` prints a summary for scripts. Exit status 0 once
``--count`` masks arrived, 1 if ``--timeout`` passed first. ``ROS_DOMAIN_ID`` is honoured.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--namespace", default="/samstream", help="samstream's topic namespace (default /samstream)")
    ap.add_argument("--count", type=int, default=30, help="stop after this many masks (default 30)")
    ap.add_argument("--timeout", type=float, default=30.0, help="give up after this many seconds (default 30)")
    ap.add_argument("--best-effort", action="store_true", help="subscribe best effort (SensorDataQoS) instead of reliable")
    ap.add_argument("--save", metavar="PNG", help="write the last label map here, coloured by object id")
    ap.add_argument("--json", action="store_true", help="print a JSON summary at the end instead of per-message lines")
    args = ap.parse_args(argv)
    if args.count < 1 or args.timeout <= 0:
        ap.error("--count must be >= 1 and --timeout > 0")

    from samstream.ros2 import require_rclpy, ros2_info

    rclpy = require_rclpy()  # one clear error naming both ways to get ROS 2 if it is missing
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import CompressedImage, Image

    from samstream.ros2.conversions import seconds_from_stamp

    ns = "/" + args.namespace.strip("/") if args.namespace.strip("/") else ""
    qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.BEST_EFFORT if args.best_effort else ReliabilityPolicy.RELIABLE)
    rclpy.init()
    node = rclpy.create_node("samstream_listener")
    masks: list[dict] = []
    counts = {"mask": 0, "mask/compressed": 0, "detections": 0}
    last = {}

    def on_mask(msg) -> None:
        now = time.time()
        labels = np.frombuffer(msg.data, np.uint8).reshape(msg.height, msg.step)[:, :msg.width]
        ids, px = np.unique(labels[labels > 0], return_counts=True)
        stamp = seconds_from_stamp(msg.header.stamp.sec, msg.header.stamp.nanosec)
        rec = {"stamp": stamp, "frame_id": msg.header.frame_id, "size": [msg.width, msg.height],
               "objects": {int(i): int(n) for i, n in zip(ids, px)}, "latency_ms": round((now - stamp) * 1e3, 1)}
        masks.append(rec)
        counts["mask"] += 1
        last["labels"] = labels.copy()
        if not args.json:
            objs = ", ".join(f"{i}:{n}px" for i, n in rec["objects"].items()) or "none"
            print(f"mask {msg.width}x{msg.height} stamp {stamp:.3f} objects {objs}  latency {rec['latency_ms']} ms",
                  flush=True)

    def on_count(key):
        def cb(msg) -> None:
            counts[key] += 1
        return cb

    node.create_subscription(Image, f"{ns}/mask", on_mask, qos)
    node.create_subscription(CompressedImage, f"{ns}/mask/compressed", on_count("mask/compressed"), qos)
    try:
        from vision_msgs.msg import Detection2DArray

        node.create_subscription(Detection2DArray, f"{ns}/detections", on_count("detections"), qos)
    except ImportError:
        print("note: vision_msgs not importable, not listening to detections "
              "(bash scripts/build_ros_interfaces.sh builds it)", file=sys.stderr)

    end = time.monotonic() + args.timeout
    try:
        while counts["mask"] < args.count and time.monotonic() < end:
            rclpy.spin_once(node, timeout_sec=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()

    if args.save and "labels" in last:
        import cv2

        from samstream.sinks.overlay import colour_for

        lab = last["labels"]
        out = np.zeros(lab.shape + (3,), np.uint8)
        for i in np.unique(lab[lab > 0]):
            out[lab == i] = colour_for(int(i))
        cv2.imwrite(args.save, out)
    lat = [m["latency_ms"] for m in masks]
    summary = {"ros2": ros2_info()["origin"], "counts": counts,
               "latency_ms_median": float(np.median(lat)) if lat else None,
               "objects_last": masks[-1]["objects"] if masks else {}, "saved": args.save if "labels" in last else None}
    if args.json:
        summary["masks"] = masks
        print(json.dumps(summary))
    else:
        print(f"received {counts} (median latency {summary['latency_ms_median']} ms; rclpy from {summary['ros2']})")
    return 0 if counts["mask"] >= args.count else 1


if __name__ == "__main__":
    sys.exit(main())
