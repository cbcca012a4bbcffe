"""A fake RGB-D camera as a separate rclpy process: colour, aligned 16UC1 depth and CameraInfo.

    python depth_camera.py --ns /cam --frames 40 --skip-depth-every 4 --out truth.json

Publishes the synthetic scene (320x240, seed 3) on ``<ns>/image_raw`` (bgr8),
``<ns>/depth/image_raw`` (16UC1 mm) and ``<ns>/depth/camera_info``, frame ``i`` stamped
``1000 + i / 30`` (the same stamp on all three; frame_id ``cam_color_optical_frame``). Every
``--skip-depth-every``-th frame (i % N == N - 1) has no depth. Waits for a subscriber on the image
and depth topics, repeats frame 0 until samstream answers on ``--until-topic``, publishes at ``--fps`` (default 15), and writes the stamps, which frames had depth and the true
3-D centroid of each object (mean of its back-projected pixels) to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ns", default="/cam")
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--skip-depth-every", type=int, default=0)
    ap.add_argument("--fps", type=float, default=15.0)
    ap.add_argument("--out", required=True)
    ap.add_argument("--until-topic", default="/samstream/mask",
                    help="repeat frame 0 until a message arrives here (samstream is running)")
    args = ap.parse_args()

    import rclpy
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import CameraInfo, Image

    from samstream.sources import SyntheticScene

    scene = SyntheticScene(320, 240, 3, 3, 1.0)
    cam = scene.camera("cam_color_optical_frame")
    rclpy.init()
    node = rclpy.create_node("fake_rgbd_camera")
    qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    pub_img = node.create_publisher(Image, f"{args.ns}/image_raw", qos)
    pub_depth = node.create_publisher(Image, f"{args.ns}/depth/image_raw", qos)
    pub_info = node.create_publisher(CameraInfo, f"{args.ns}/depth/camera_info", qos)
    end = time.monotonic() + 60
    while time.monotonic() < end and min(pub_img.get_subscription_count(), pub_depth.get_subscription_count(),
                                         pub_info.get_subscription_count()) < 1:
        rclpy.spin_once(node, timeout_sec=0.05)

    def publish(i: int) -> dict:
        img, labels = scene.render(i)
        depth = scene.depth_from_labels(labels, i)
        t = 1000.0 + i / 30.0
        sec, nsec = int(t), int(round((t - int(t)) * 1e9))
        has_depth = not (args.skip_depth_every and i % args.skip_depth_every == args.skip_depth_every - 1)
        info = CameraInfo()
        info.header.stamp.sec, info.header.stamp.nanosec, info.header.frame_id = sec, nsec, cam.frame_id
        info.width, info.height, info.distortion_model = cam.width, cam.height, "plumb_bob"
        info.k = cam.k.reshape(-1).tolist()
        info.d = [0.0] * 5
        pub_info.publish(info)
        if has_depth:
            d = Image()
            d.header = info.header
            d.height, d.width, d.encoding, d.step = 240, 320, "16UC1", 640
            d.data = np.round(depth * 1000).astype("<u2").tobytes()
            pub_depth.publish(d)
        time.sleep(0.01)  # depth first, as an aligned RGB-D driver may
        m = Image()
        m.header = info.header
        m.height, m.width, m.encoding, m.step = 240, 320, "bgr8", 960
        m.data = img.tobytes()
        pub_img.publish(m)
        cents = {}
        for oid in (1, 2, 3):
            v, u = np.nonzero(labels == oid)
            if v.size > 300:
                z = depth[v, u].astype(np.float64)
                cents[str(oid)] = [float(((u - cam.cx) * z / cam.fx).mean()), float(((v - cam.cy) * z / cam.fy).mean()),
                                   float(z.mean())]
        return {"index": i, "stamp": [sec, nsec], "depth": has_depth, "centroids": cents}

    # warm up: frame 0 again and again until samstream answers on its mask topic, so the
    # sequence starts when the pipeline is running, not while it is still starting up
    seen = []
    node.create_subscription(Image, args.until_topic, lambda m: seen.append(1),
                             QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT))
    end = time.monotonic() + 60
    while not seen and time.monotonic() < end:
        publish(0)
        t_next = time.monotonic() + 0.25
        while not seen and time.monotonic() < t_next:
            rclpy.spin_once(node, timeout_sec=0.05)
    truth = {"frames": []}
    for i in range(args.frames):
        truth["frames"].append(publish(i))
        rclpy.spin_once(node, timeout_sec=0.0)
        time.sleep(1 / args.fps)
    with open(args.out, "w") as f:
        json.dump(truth, f)
    print("DONE", flush=True)
    time.sleep(2.0)
    node.destroy_node()
    rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
