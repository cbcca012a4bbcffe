"""samstream publishing from the synthetic source, as a separate process for the ROS 2 tests.

    python ros_publish_synthetic.py --ns /samstream --frames 24 --wait-subs 2 --out stats.json

Frame ``i`` of the synthetic scene gets the timestamp ``1000 + i / 30`` (``start_time=1000``,
``realtime=False``: every frame is processed), so a subscriber knows from a stamp which ground
truth to compare with. Objects are prompted with the ground-truth masks of frame 0 (ids = the
synthetic ids). Waits (up to 30 s) for ``--wait-subs`` subscribers of mask, mask/compressed and
detections before the first frame; writes the sink's stats and the frame stamps to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ns", default="/samstream")
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--size", default="640x480")
    ap.add_argument("--qos", default="default")
    ap.add_argument("--wait-subs", type=int, default=1)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    from samstream.pipeline import Pipeline
    from samstream.ros2.sink import Ros2Sink
    from samstream.sources import SyntheticSource
    from samstream.types import Prompt

    w, h = (int(v) for v in args.size.split("x"))
    src = SyntheticSource(w, h, 30.0, seed=args.seed, num_objects=3, frames=args.frames, realtime=False,
                          start_time=1000.0)
    gt0 = src.scene.render(0)[1]
    prompts = [Prompt(int(k), mask=gt0 == k) for k in np.unique(gt0[gt0 > 0])]
    sink = Ros2Sink("samstream_test_pub", args.ns, qos=args.qos, frame_id="synthetic_cam")
    ok = all(sink.wait_for_subscribers(args.wait_subs, 30.0, t) for t in ("mask", "mask/compressed", "detections"))
    print(f"subscribers {'matched' if ok else 'MISSING'}", flush=True)
    time.sleep(0.5)  # let the subscribers' side of the match settle too
    stamps = []
    with Pipeline(src, model="classic", prompts=prompts, sinks=[sink]) as pipe:
        sink.attach(pipe)
        for seg in pipe:
            stamps.append([seg.frame_index, seg.timestamp, sorted(int(i) for i in seg.object_ids)])
            time.sleep(0.03)  # ~ a camera's pace: the subscribers keep up
    stats = sink.stats().to_dict()
    with open(args.out, "w") as f:
        json.dump({"stats": stats, "frames": stamps, "ids": [p.obj_id for p in prompts], "matched": ok}, f)
    print("DONE", json.dumps(stats), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
