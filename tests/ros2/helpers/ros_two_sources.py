"""Two ROS image sources feeding one Ros2Sink, in one process (real rclpy, DDS between two contexts).

    python ros_two_sources.py --frames 8 --out result.json

A camera node (its own :class:`Ros2Runtime`) publishes ``/cam_a/image_raw`` (64x48, stamps
``3000 + i``, ``frame_id cam_a``) and ``/cam_b/image_raw`` (80x60, stamps ``4000 + i``,
``frame_id cam_b``); frame ``i`` of each is filled with the value ``i``. samstream's node (another
runtime) has one sink, a source made by ``sink.image_source`` and one made separately and added
with ``sink.add_source``. Both sources number their frames 0, 1, 2, ...: the sink must still find
each frame's own header. Writes ``--out`` (JSON). Before anything else it records whether
``import samstream, samstream.sources`` imported rclpy, and it opens a third source through
``open_source("ros2:/cam_c/image_raw")`` (the registry).
"""

from __future__ import annotations

import sys

import samstream  # noqa: F401
import samstream.sources  # noqa: F401

LAZY = "rclpy" not in sys.modules

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

SIZES = {"a": (64, 48, 3000), "b": (80, 60, 4000)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    from samstream.ros2.conversions import dict_to_msg, header_dict, image_dict
    from samstream.ros2.runtime import Ros2Runtime
    from samstream.ros2.sink import Ros2Sink, Ros2SinkStats
    from samstream.ros2.source import Ros2ImageSource
    from samstream.sources import open_source
    from samstream.types import Frame, Segmentation

    reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    cam = Ros2Runtime("test_two_cameras", "/")
    pubs = {k: cam.node.create_publisher(Image, f"/cam_{k}/image_raw", reliable) for k in SIZES}
    masks: list = []
    cam.node.create_subscription(Image, "/two/mask", lambda m: masks.append(
        [m.header.frame_id, m.header.stamp.sec, m.width, m.height]), reliable)

    rt = Ros2Runtime("samstream_two", "/two")
    sink = Ros2Sink(runtime=rt, threaded=False, frame_id="fallback", qos="reliable")
    sources = {"a": sink.image_source("/cam_a/image_raw", qos="reliable"),
               "b": Ros2ImageSource("/cam_b/image_raw", runtime=rt, qos="reliable")}
    sink.add_source(sources["b"])
    end = time.monotonic() + 30
    while time.monotonic() < end and not (all(p.get_subscription_count() >= 1 for p in pubs.values())
                                          and sink.wait_for_subscribers(1, 0.1)):
        time.sleep(0.05)

    frames: list = []
    for i in range(args.frames):
        for k, (w, h, base) in SIZES.items():
            img = np.full((h, w, 3), i, np.uint8)
            pubs[k].publish(dict_to_msg(image_dict(header_dict((base + i, 0), f"cam_{k}"), img, "bgr8"), Image()))
        for k, src in sources.items():
            frame = src.read(timeout=5.0)
            if frame is None:
                continue
            header = sink.header_for(frame)
            other = sources["b" if k == "a" else "a"].header_for(frame)
            sink.write(frame, Segmentation.empty(frame))
            frames.append({"source": k, "name": frame.source, "index": frame.index, "value": int(frame.image[0, 0, 0]),
                           "size": [frame.width, frame.height], "frame_id": header["frame_id"],
                           "sec": header["stamp"]["sec"], "other_source_header": other})
    foreign = sink.header_for(Frame(np.zeros((4, 4, 3), np.uint8), 0, 12.5, "synthetic"))
    end = time.monotonic() + 10
    while time.monotonic() < end and len(masks) < len(frames):
        time.sleep(0.05)
    st = sink.stats()
    reg = open_source("ros2:/cam_c/image_raw", qos="reliable", node_name="samstream_c")
    registry = {"class": f"{type(reg).__module__}.{type(reg).__name__}", "topic": reg.topic}
    reg.close()
    registry["runtime_closed"] = reg.runtime.closed

    for src in sources.values():
        src.close()
    sink.close()
    rt_open_after_sink = rt.ok()
    rt.close()
    cam.close()
    out = {"lazy": LAZY, "frames": frames, "masks": list(masks), "foreign": foreign, "registry": registry,
           "stats_typed": isinstance(st, Ros2SinkStats), "stats": st.to_dict(),
           "shared_runtime_open_after_sink_close": rt_open_after_sink, "runtime_ok_after_close": rt.ok(),
           "context_ok_after_close": rt.context.ok()}
    with open(args.out, "w") as f:
        json.dump(out, f, default=str)
    print("DONE", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
