"""A separate rclpy subscriber for the depth tests: records samstream's 2-D and 3-D topics.

    python depth_listen.py --ns /samstream --count 5 --timeout 60 --out result.json

Subscribes (reliable) to ``<ns>/detections`` (Detection2DArray), ``<ns>/objects`` (Detection3DArray)
and ``<ns>/objects/points`` (PointCloud2); prints ``READY``; stops after ``--count`` messages on both
3-D topics (or ``--timeout`` s) and writes per message: header stamp and frame_id, detection ids,
centres and sizes; the cloud's width, height, point_step, row_step, data length, fields and ids.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ns", default="/samstream")
    ap.add_argument("--count", type=int, default=5)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    import rclpy
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import PointCloud2
    from vision_msgs.msg import Detection2DArray, Detection3DArray

    rclpy.init()
    node = rclpy.create_node("depth_test_listener")
    qos = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
    out = {"detections": [], "objects": [], "points": []}

    def hdr(h):
        return {"stamp": [h.stamp.sec, h.stamp.nanosec], "frame_id": h.frame_id}

    def on_2d(m):
        out["detections"].append({**hdr(m.header), "ids": [d.id for d in m.detections]})

    def on_3d(m):
        out["objects"].append({**hdr(m.header), "dets": [
            {"id": d.id, "header": hdr(d.header), "class_id": d.results[0].hypothesis.class_id,
             "score": d.results[0].hypothesis.score,
             "center": [d.bbox.center.position.x, d.bbox.center.position.y, d.bbox.center.position.z],
             "size": [d.bbox.size.x, d.bbox.size.y, d.bbox.size.z],
             "pose": [d.results[0].pose.pose.position.x, d.results[0].pose.pose.position.y,
                      d.results[0].pose.pose.position.z]} for d in m.detections]})

    def on_points(m):
        data = np.frombuffer(bytes(m.data), np.uint8)
        rec = data.view(np.dtype([("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("id", "<u4")])) if data.size % 16 == 0 else None
        out["points"].append({**hdr(m.header), "width": m.width, "height": m.height, "point_step": m.point_step,
                              "row_step": m.row_step, "bytes": int(data.size), "is_dense": bool(m.is_dense),
                              "fields": [[f.name, f.offset, f.datatype, f.count] for f in m.fields],
                              "ids": sorted(set(rec["id"].tolist())) if rec is not None else [],
                              "z_range": [float(rec["z"].min()), float(rec["z"].max())] if rec is not None and len(rec) else []})

    node.create_subscription(Detection2DArray, f"{args.ns}/detections", on_2d, qos)
    node.create_subscription(Detection3DArray, f"{args.ns}/objects", on_3d, qos)
    node.create_subscription(PointCloud2, f"{args.ns}/objects/points", on_points, qos)
    print("READY", flush=True)
    end = time.monotonic() + args.timeout
    while time.monotonic() < end and min(len(out["objects"]), len(out["points"])) < args.count:
        rclpy.spin_once(node, timeout_sec=0.05)
    for _ in range(20):  # the 2-D messages of the same frames, still in flight
        rclpy.spin_once(node, timeout_sec=0.05)
    node.destroy_node()
    rclpy.try_shutdown()
    with open(args.out, "w") as f:
        json.dump(out, f)
    print(f"DONE objects={len(out['objects'])} points={len(out['points'])}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
