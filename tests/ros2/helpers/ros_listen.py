"""A separate rclpy subscriber process for the ROS 2 tests: records what samstream publishes.

    python ros_listen.py --ns /samstream --qos reliable --count 20 --timeout 30 --out DIR

Subscribes to ``<ns>/mask``, ``<ns>/mask/compressed`` and ``<ns>/detections`` with the given QoS and
writes ``DIR/summary.json`` (per message: header stamp, frame_id, sizes, receive time; decoded
detections) and ``DIR/labels.npz`` (the label maps of the first ``--keep`` masks and the decoded PNGs,
keyed by stamp). Prints ``READY`` once subscribed. Stops after ``--count`` masks or ``--timeout`` s.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import cv2
import numpy as np


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ns", default="/samstream")
    ap.add_argument("--qos", choices=("reliable", "best_effort"), default="reliable")
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--keep", type=int, default=60)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    import rclpy
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import CompressedImage, Image
    from vision_msgs.msg import Detection2DArray

    rclpy.init()
    node = rclpy.create_node("test_listener_" + args.qos)
    qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE if args.qos == "reliable" else ReliabilityPolicy.BEST_EFFORT)
    out = {"mask": [], "compressed": [], "detections": []}
    arrays: dict[str, np.ndarray] = {}

    def key(h) -> str:
        return f"{h.stamp.sec}_{h.stamp.nanosec}"

    def on_mask(m) -> None:
        data = np.frombuffer(m.data, np.uint8)
        rec = {"stamp": [m.header.stamp.sec, m.header.stamp.nanosec], "frame_id": m.header.frame_id,
               "width": m.width, "height": m.height, "step": m.step, "encoding": m.encoding, "bytes": int(data.size),
               "t_recv": time.time()}
        out["mask"].append(rec)
        if len(out["mask"]) == 1:
            print("FIRST", flush=True)
        if len(out["mask"]) <= args.keep and data.size == m.step * m.height:
            arrays["mask_" + key(m.header)] = data.reshape(m.height, m.step)[:, :m.width].copy()

    def on_comp(m) -> None:
        buf = np.frombuffer(m.data, np.uint8)
        img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
        out["compressed"].append({"stamp": [m.header.stamp.sec, m.header.stamp.nanosec], "format": m.format,
                                  "bytes": int(buf.size), "png": bool(buf[:8].tobytes() == b"\x89PNG\r\n\x1a\n"),
                                  "decoded_shape": list(img.shape) if img is not None else None, "t_recv": time.time()})
        if img is not None and len(out["compressed"]) <= args.keep:
            arrays["png_" + key(m.header)] = img

    def on_det(m) -> None:
        out["detections"].append({"stamp": [m.header.stamp.sec, m.header.stamp.nanosec], "frame_id": m.header.frame_id,
                                  "t_recv": time.time(), "dets": [
            {"id": d.id, "cx": d.bbox.center.position.x, "cy": d.bbox.center.position.y, "sx": d.bbox.size_x,
             "sy": d.bbox.size_y, "theta": d.bbox.center.theta,
             "class_id": d.results[0].hypothesis.class_id if d.results else None,
             "score": d.results[0].hypothesis.score if d.results else None,
             "stamp": [d.header.stamp.sec, d.header.stamp.nanosec]} for d in m.detections]})

    node.create_subscription(Image, f"{args.ns}/mask", on_mask, qos)
    node.create_subscription(CompressedImage, f"{args.ns}/mask/compressed", on_comp, qos)
    node.create_subscription(Detection2DArray, f"{args.ns}/detections", on_det, qos)
    print("READY", flush=True)
    end = time.monotonic() + args.timeout
    while time.monotonic() < end and min(len(out["mask"]), len(out["detections"])) < args.count:
        rclpy.spin_once(node, timeout_sec=0.05)
    node.destroy_node()
    rclpy.try_shutdown()
    os.makedirs(args.out, exist_ok=True)
    np.savez_compressed(os.path.join(args.out, "labels.npz"), **arrays)
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(out, f)
    print(f"DONE masks={len(out['mask'])} compressed={len(out['compressed'])} detections={len(out['detections'])}",
          flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
