"""A separate rclpy process that feeds samstream's ROS 2 inputs a bounded stream of malformed messages.

    python ros_fuzz_inputs.py --topic /fuzz/image_raw --n 400 --seed 14 --out result.json

It plays a camera (good bgr8 frames at --fps on --topic) and, interleaved, sends --n random
malformed messages: prompts (vision_msgs/Detection2DArray: NaN/inf/negative/huge/out-of-frame
boxes, rotated boxes, ids "abc", "300", "-1", unicode, class_id hypotheses, up to 300 detections
per array), clicks (geometry_msgs/Point on <topic>_mouse_left and <ns>/overlay_mouse_left: NaN,
out of frame, z not an id), removes (std_msgs/Int32: unknown/negative/huge ids), clears, and images
(unknown encodings, wrong step/data length, huge headers with little data, zero sizes). Then it
checks that masks still arrive. Writes --out (JSON): distinct inputs per kind, masks received
before/after, and the last mask's size.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--topic", default="/fuzz/image_raw")
    ap.add_argument("--ns", default="/samstream")
    ap.add_argument("--size", default="320x240")
    ap.add_argument("--fps", type=float, default=10.0)
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    import rclpy
    from geometry_msgs.msg import Point
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image
    from std_msgs.msg import Empty, Int32
    from vision_msgs.msg import Detection2D, Detection2DArray, ObjectHypothesisWithPose

    from samstream.ros2.conversions import dict_to_msg, header_dict, image_dict
    from samstream.sources import SyntheticScene

    rng = random.Random(args.seed)
    w, h = (int(v) for v in args.size.split("x"))
    scene = SyntheticScene(w, h, 3, 5, 0.6)
    rclpy.init()
    node = rclpy.create_node("fuzz_inputs")
    rel = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
    img_pub = node.create_publisher(Image, args.topic, QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE))
    pubs = {"prompts": node.create_publisher(Detection2DArray, f"{args.ns}/prompts", rel),
            "click_image": node.create_publisher(Point, args.topic + "_mouse_left", rel),
            "click_overlay": node.create_publisher(Point, f"{args.ns}/overlay_mouse_left", rel),
            "remove": node.create_publisher(Int32, f"{args.ns}/remove", rel),
            "clear": node.create_publisher(Empty, f"{args.ns}/clear", rel)}
    masks = {"n": 0, "size": None}

    def on_mask(m) -> None:
        masks["n"] += 1
        masks["size"] = [m.width, m.height]

    node.create_subscription(Image, f"{args.ns}/mask", on_mask, rel)
    frame = {"i": 0, "next": time.monotonic()}

    def pump(seconds: float) -> None:
        end = time.monotonic() + seconds
        while True:
            if time.monotonic() >= frame["next"]:
                img, _ = scene.render(frame["i"])
                img_pub.publish(dict_to_msg(image_dict(header_dict((3000 + frame["i"], 0), "cam"), img, "bgr8"), Image()))
                frame["i"] += 1
                frame["next"] = max(frame["next"] + 1.0 / args.fps, time.monotonic())
            rclpy.spin_once(node, timeout_sec=0.005)
            if time.monotonic() >= end:
                return

    def num() -> float:
        return rng.choice([math.nan, math.inf, -math.inf, -1e308, 1e308, -1.0, 0.0, 1e-300,
                           rng.uniform(-2 * w, 3 * w), rng.uniform(0, w), float(rng.randint(-5, 500))])

    def ident() -> str:
        return rng.choice(["", "abc", "300", "-1", "0", "256", "1.5", "7", " 3", "\u00e9\u4e2d", "1e2", "nan",
                           "x" * 300, str(rng.randint(-10**9, 10**9))])

    def detection() -> Detection2D:
        d = Detection2D()
        d.bbox.center.position.x, d.bbox.center.position.y = num(), num()
        d.bbox.center.theta = rng.choice([0.0, 0.0, num()])
        d.bbox.size_x, d.bbox.size_y = num(), num()
        d.id = ident()
        if rng.random() < 0.3:
            hyp = ObjectHypothesisWithPose()
            hyp.hypothesis.class_id = ident()
            hyp.hypothesis.score = num()
            d.results = [hyp]
        return d

    def bad_image() -> Image:
        m = Image()
        m.header.stamp.sec = rng.randint(0, 2**31 - 1)
        kind = rng.randrange(5)
        m.encoding = rng.choice(["bgr8", "rgb8", "mono8", "mono16", "yuv422", "bayer_rggb8", "32FC1", "", "nonsense",
                                 "rgba8", "bgra8", "16UC1"])
        if kind == 0:  # huge header, little data
            m.height, m.width, m.step = rng.choice([(100000, 100000, 100000), (2**31 - 1, 1, 1), (1, 2**31 - 1, 2**31 - 1)])
            m.data = bytes(rng.randint(0, 64))
        elif kind == 1:  # zero size
            m.height, m.width, m.step = rng.choice([(0, 0, 0), (0, w, w * 3), (h, 0, 0)])
            m.data = b""
        elif kind == 2:  # data shorter or longer than step * height
            m.height, m.width, m.step = h, w, w * 3
            m.data = bytes(rng.randint(0, w * h * 3 * 2))
        elif kind == 3:  # step smaller than the width needs
            m.height, m.width, m.step = h, w, rng.randint(0, w)
            m.data = bytes(m.step * h)
        else:  # a different size than the stream
            ww, hh = rng.randint(1, 2 * w), rng.randint(1, 2 * h)
            m.height, m.width, m.step, m.encoding = hh, ww, ww * 3, "bgr8"
            m.data = bytes(ww * hh * 3)
        return m

    tried: dict[str, set] = {}
    pump(5.0)  # let samstream match and start producing masks
    before = masks["n"]
    for k in range(args.n):
        kind = rng.choice(["prompts", "prompts", "click_image", "click_overlay", "remove", "image", "image", "clear"])
        if kind == "prompts":
            msg = Detection2DArray()
            msg.detections = [detection() for _ in range(rng.choice([0, 1, 1, 2, 5, 300]))]
            key = tuple((d.id, d.bbox.center.position.x, d.bbox.size_x) for d in msg.detections[:5])
            pubs["prompts"].publish(msg)
        elif kind.startswith("click"):
            msg = Point()
            msg.x, msg.y, msg.z = num(), num(), rng.choice([0.0, num(), 256.0, -1.0, 1.5, 3.0])
            key = (msg.x, msg.y, msg.z)
            pubs[kind].publish(msg)
        elif kind == "remove":
            msg = Int32()
            msg.data = rng.choice([0, -1, 256, 2**31 - 1, -(2**31), rng.randint(-1000, 1000)])
            key = msg.data
            pubs["remove"].publish(msg)
        elif kind == "clear":
            pubs["clear"].publish(Empty())
            key = k
        else:
            msg = bad_image()
            key = (msg.encoding, msg.width, msg.height, msg.step, len(msg.data))
            img_pub.publish(msg)
        tried.setdefault(kind, set()).add(repr(key))
        pump(0.01)
    mid = masks["n"]
    pump(6.0)  # masks must keep coming after the fuzz
    out = {"tried": {k: len(v) for k, v in tried.items()}, "masks_before": before, "masks_during": mid - before,
           "masks_after": masks["n"] - mid, "last_size": masks["size"], "frames_sent": frame["i"]}
    with open(args.out, "w") as f:
        json.dump(out, f)
    print("DONE", json.dumps(out), flush=True)
    node.destroy_node()
    rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
