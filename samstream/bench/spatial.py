"""``samstream bench --spatial``: per-frame cost of the 3-D step (masks + aligned depth -> 3-D objects).

Measured on synthetic RGB-D frames (640x480 by default, ground-truth masks of ``objects`` objects):
the median time of :func:`samstream.spatial.lift_objects` (erosion, outlier rejection, back-projection,
extent, point cloud), of decoding a ``16UC1`` depth image, and of the whole step with a
point cloud (``points`` per object) and without one. No OpenVINO, no model.
"""

from __future__ import annotations

import numpy as np

from .common import machine_info, time_call

__all__ = ["bench_spatial"]


def bench_spatial(width: int = 640, height: int = 480, objects: int = 3, runs: int = 30, points: int = 2000) -> dict:
    """The JSON record of the 3-D step's cost (milliseconds per frame, medians over ``runs``)."""
    from ..sources import SyntheticSource
    from ..spatial import DepthFrame, LiftConfig, decode_depth, lift_objects
    from ..types import Segmentation

    src = SyntheticSource(width, height, num_objects=objects, realtime=False, frames=1)
    frame = next(iter(src))
    gt = np.array(src.ground_truth(frame.index))
    depth = src.depth_for(frame)
    src.close()
    ids = [i for i in range(1, objects + 1) if (gt == i).any()]
    seg = Segmentation(np.stack([gt == i for i in ids]), np.ones(len(ids)), ids, frame.index, frame.timestamp)
    mm = np.round(depth.depth * 1000).astype(np.uint16)
    with_cloud, no_cloud = LiftConfig(points=points), LiftConfig(points=0)
    lift_ms = time_call(lambda: lift_objects(seg, depth, with_cloud), runs, warmup=2)
    lift_no_cloud_ms = time_call(lambda: lift_objects(seg, depth, no_cloud), runs, warmup=2)
    decode_ms = time_call(lambda: decode_depth(mm, "16UC1"), runs, warmup=2)
    total_ms = time_call(lambda: lift_objects(seg, DepthFrame(decode_depth(mm, "16UC1"), frame.timestamp,
                                                             depth.camera), with_cloud), runs, warmup=1)
    res = lift_objects(seg, depth, with_cloud)
    return {"bench": "spatial", "input_size": f"{width}x{height}", "objects": len(ids),
            "mask_pixels": int(sum(np.count_nonzero(m) for m in seg.masks)), "runs": int(runs),
            "points_per_object": int(points), "cloud_points": int(res.all_points()[0].shape[0]),
            "decode_16uc1_ms": round(decode_ms, 3), "lift_ms": round(lift_ms, 3),
            "lift_no_cloud_ms": round(lift_no_cloud_ms, 3), "decode_and_lift_ms": round(total_ms, 3),
            "machine": machine_info()}
