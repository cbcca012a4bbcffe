"""A separate rclpy process playing camera driver, user and viewer for samstream's ROS 2 input side.

    python ros_camera_driver.py --topic /cam/image_raw --encoding yuv422 --out result.json

It publishes synthetic frames (``header.stamp = 2000 + i`` s, ``frame_id = "cam_optical"``) on
``--topic`` at ``--fps``, listens to ``<ns>/mask`` and ``<ns>/detections``, and runs a scenario,
each step waiting (with a timeout) for its effect to show in the masks:

1. ``plain``: masks arrive for our frames, with our exact headers, and no objects yet;
2. ``bad``: malformed images (unknown encoding, truncated, oversized) and prompts (NaN box,
   out-of-frame box, id "abc", id "300"), a remove of an unknown id -- then masks keep coming
   (4 more for our frames, within the step timeout);
3. ``create``: a prompt box with id 7 around synthetic object A creates object 7 there;
4. ``move``: the same id 7 with a box around object B moves it to B;
5. ``click``: a click (``geometry_msgs/Point``, z = 0) on object C on ``<topic>_mouse_left`` adds a
   new object there;
6. ``remove``: ``<ns>/remove`` 7 removes object 7; 7. ``clear``: ``<ns>/clear`` removes everything.

The prompt steps (3-7) run in a stretch of the synthetic scene where the three objects stay
apart (at least 15 px, for ``--apart-frames`` frames from ``--apart-from``): the camera cuts to it
once the plain and bad steps are done, before any object exists. So every prompt has one right
answer; how the tracker copes when objects cross is measured by the tracker tests and ``eval``.

Writes ``--out`` (JSON: per step ok/elapsed/details; all received stamps).
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np


def bbox(mask: np.ndarray):
    ys, xs = np.nonzero(mask)
    return float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--topic", default="/cam/image_raw")
    ap.add_argument("--ns", default="/samstream")
    ap.add_argument("--encoding", default="yuv422")
    ap.add_argument("--size", default="640x480")
    ap.add_argument("--fps", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=19)
    ap.add_argument("--speed", type=float, default=0.3)
    ap.add_argument("--apart-from", type=int, default=785,
                    help="scene frame where the objects are apart (for --seed/--speed: 780..1120 at 19/0.3)")
    ap.add_argument("--step-timeout", type=float, default=40.0)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    import rclpy
    from geometry_msgs.msg import Point
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image
    from std_msgs.msg import Empty, Int32
    from vision_msgs.msg import Detection2D, Detection2DArray

    from samstream.geometry import mask_iou
    from samstream.ros2.conversions import dict_to_msg, header_dict, image_dict
    from samstream.sources import SyntheticScene

    w, h = (int(v) for v in args.size.split("x"))
    scene = SyntheticScene(w, h, 3, args.seed, args.speed)
    rclpy.init()
    node = rclpy.create_node("test_camera_driver")
    reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    img_pub = node.create_publisher(Image, args.topic, QoSProfile(depth=2, reliability=ReliabilityPolicy.RELIABLE))
    prompt_pub = node.create_publisher(Detection2DArray, f"{args.ns}/prompts", reliable)
    click_pub = node.create_publisher(Point, args.topic + "_mouse_left", reliable)
    remove_pub = node.create_publisher(Int32, f"{args.ns}/remove", reliable)
    clear_pub = node.create_publisher(Empty, f"{args.ns}/clear", reliable)

    sent: dict[tuple, int] = {}  # stamp -> scene frame index
    received: list[dict] = []
    latest: dict = {}

    def on_mask(m) -> None:
        stamp = (m.header.stamp.sec, m.header.stamp.nanosec)
        lab = np.frombuffer(m.data, np.uint8).reshape(m.height, m.step)[:, :m.width].copy()
        received.append({"stamp": list(stamp), "frame_id": m.header.frame_id, "size": [m.width, m.height],
                         "ids": sorted(int(v) for v in np.unique(lab[lab > 0])), "t": time.time()})
        latest["labels"], latest["stamp"] = lab, stamp

    node.create_subscription(Image, f"{args.ns}/mask", on_mask, reliable)

    frame = {"i": 0, "scene": 0}  # frames published; the scene frame the next one shows
    period = 1.0 / args.fps
    next_t = [time.monotonic()]

    def pump(seconds: float) -> None:
        """Publish frames on the clock and spin for ``seconds``."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if time.monotonic() >= next_t[0]:
                i, k = frame["i"], frame["scene"]
                img, _ = scene.render(k)
                msg = dict_to_msg(image_dict(header_dict((2000 + i, 0), "cam_optical"), img, args.encoding), Image())
                img_pub.publish(msg)
                sent[(2000 + i, 0)] = k
                frame["i"] += 1
                frame["scene"] += 1
                # a camera's clock: when this process falls behind, it skips ahead instead of bursting
                next_t[0] = max(next_t[0] + period, time.monotonic())
            rclpy.spin_once(node, timeout_sec=0.01)

    def wait_for(pred, what: str) -> dict:
        t0 = time.monotonic()
        n0 = len(received)
        while time.monotonic() - t0 < args.step_timeout:
            pump(0.05)
            if len(received) > n0 and "labels" in latest:
                det = pred(latest["labels"], sent.get(latest["stamp"]))
                if det:
                    return {"ok": True, "elapsed": round(time.monotonic() - t0, 2), **det}
        fail = {"ok": False, "elapsed": round(time.monotonic() - t0, 2), "what": what,
                "last_ids": received[-1]["ids"] if received else None}
        i = sent.get(latest.get("stamp"))
        if i is not None:  # what the last mask looked like against the ground truth, for the report
            lab, gt = latest["labels"], gt_of(i)
            fail["last_overlap"] = {int(k): {int(g): int(np.sum((lab == k) & (gt == g))) for g in np.unique(gt)}
                                    for k in np.unique(lab[lab > 0])}
        return fail

    def gt_of(i: int) -> np.ndarray:
        return scene.render(i)[1]

    def iou(a: np.ndarray, b: np.ndarray) -> float:
        return mask_iou(a, b, empty=0.0)

    def det(box, ident: str = "", theta: float = 0.0) -> Detection2D:
        d = Detection2D()
        # floats only: rclpy (with field checks off, its default) sends garbage for an int in a float64 field
        x1, y1, x2, y2 = (float(v) for v in box)
        d.bbox.center.position.x, d.bbox.center.position.y = (x1 + x2) / 2, (y1 + y2) / 2
        d.bbox.center.theta = theta
        d.bbox.size_x, d.bbox.size_y = x2 - x1, y2 - y1
        d.id = ident
        return d

    def prompts(*dets) -> None:
        m = Detection2DArray()
        m.header.frame_id = "cam_optical"
        m.detections = list(dets)
        prompt_pub.publish(m)

    steps: dict[str, dict] = {}
    # 1. frames in, masks out with our headers, no objects yet
    steps["plain"] = wait_for(lambda lab, i: {"n": len(received)} if len(received) >= 5 and not lab.any() else None,
                              "5 empty masks")

    # 2. malformed input: all of it must be skipped while the stream goes on
    bad = Image()
    bad.header.stamp.sec = 1
    bad.height, bad.width, bad.encoding, bad.step = h, w, "bayer_rggb42", w
    bad.data = bytes(w * h)
    img_pub.publish(bad)                                       # unknown encoding
    trunc = dict_to_msg(image_dict(header_dict((2, 0), "x"), scene.render(0)[0], "bgr8"), Image())
    trunc.data = trunc.data[: len(trunc.data) // 2]
    img_pub.publish(trunc)                                     # truncated
    big = Image()
    big.height, big.width, big.encoding, big.step = 100000, 100000, "mono8", 100000
    big.data = bytes(16)
    img_pub.publish(big)                                       # oversized header
    nan = det((10, 10, 50, 50), "5")
    nan.bbox.size_x = math.nan
    prompts(nan, det((w - 20, h - 20, w + 200, h + 200), "6"), det((10, 10, 50, 50), "abc"), det((10, 10, 50, 50), "300"))
    m = Int32()
    m.data = 99
    remove_pub.publish(m)                                      # unknown id
    n_before = len(received)
    pump(1.0)  # the bad input reaches samstream ...
    # ... and masks keep coming for our frames (however slowly this machine runs the pipeline)
    steps["bad"] = wait_for(lambda lab, i: {"masks_after": len(received) - n_before}
                            if len(received) >= n_before + 4 and i is not None else None, "4 masks after the bad input")

    # the camera cuts to the stretch where the objects stay apart (no object is tracked yet)
    frame["scene"] = args.apart_from
    pump(0.3)
    # pick objects A, B, C: the three synthetic ids, by size in the current frame
    i_now = frame["scene"] - 1
    gt = gt_of(i_now)
    ids = sorted((int(k) for k in np.unique(gt[gt > 0])), key=lambda k: -int((gt == k).sum()))
    A, B, C = ids[0], ids[1], ids[2]

    # 3. create: id 7 around object A
    box_a = bbox(gt_of(i_now) == A)
    prompts(det(box_a, "7"))
    steps["create"] = wait_for(
        lambda lab, i: {"iou": iou(lab == 7, gt_of(i) == A), "frame": i}
        if i is not None and iou(lab == 7, gt_of(i) == A) > 0.5 else None, "object 7 on A")

    # 4. move: id 7 around object B
    i_now = frame["scene"] - 1
    prompts(det(bbox(gt_of(i_now) == B), "7"))
    steps["move"] = wait_for(
        lambda lab, i: {"iou": iou(lab == 7, gt_of(i) == B), "frame": i}
        if i is not None and iou(lab == 7, gt_of(i) == B) > 0.5 and iou(lab == 7, gt_of(i) == A) < 0.2 else None,
        "object 7 moved to B")

    # 5. click on C (z = 0: a new object, the first free id: 1)
    i_now = frame["scene"] - 1
    gc = gt_of(i_now) == C
    ys, xs = np.nonzero(gc)
    k = int(np.argmin((xs - xs.mean()) ** 2 + (ys - ys.mean()) ** 2))
    pt = Point()
    pt.x, pt.y, pt.z = float(xs[k]), float(ys[k]), 0.0
    click_pub.publish(pt)
    steps["click"] = wait_for(
        lambda lab, i: {"covered": float(np.mean(lab[gt_of(i) == C] == 1)), "frame": i,
                        "ids": sorted(np.unique(lab[lab > 0]).tolist())}
        # the new object is where the click was: it covers much of C (a one-click classic mask may spill over)
        if i is not None and 1 in lab and 7 in lab and np.mean(lab[gt_of(i) == C] == 1) > 0.4 else None,
        "a new object 1 on C")

    # 6. remove 7, 7. clear
    m = Int32()
    m.data = 7
    remove_pub.publish(m)
    steps["remove"] = wait_for(lambda lab, i: {"ids": sorted(np.unique(lab[lab > 0]).tolist())}
                               if 7 not in lab and 1 in lab else None, "7 removed, 1 kept")
    clear_pub.publish(Empty())
    steps["clear"] = wait_for(lambda lab, i: {"n": 1} if not lab.any() else None, "no objects after clear")
    pump(1.0)

    node.destroy_node()
    rclpy.try_shutdown()
    result = {"steps": steps, "objects": {"A": A, "B": B, "C": C}, "frames_sent": frame["i"],
              "scene_frames": [args.apart_from, frame["scene"]],
              "received": received, "sent_stamps": [list(s) for s in sent]}
    with open(args.out, "w") as f:
        json.dump(result, f)
    print("DONE", json.dumps(steps), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
