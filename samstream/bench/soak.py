"""A long run of the pipeline, sampling memory: is it flat?"""

from __future__ import annotations

import time

from ..utils import log
from .common import rss
from .pipeline import _gt_box


def soak(model: str = "classic", seconds: float = 600.0, objects: int = 2, sample_every: float = 30.0) -> dict:
    """Run the pipeline on a synthetic 640x480 stream for ``seconds``; RSS sampled over time."""
    from ..pipeline import Pipeline
    from ..sources.synthetic import SyntheticScene
    from ..types import Prompt

    scene = SyntheticScene(640, 480, num_objects=3, seed=11)
    _, labels = scene.render(0)
    ids = [k for k in scene.object_ids() if (labels == k).any()][:objects]
    prompts = [Prompt(k, box=_gt_box(labels, k)) for k in ids]
    samples = []
    t0 = time.time()
    next_sample = t0
    frames = 0
    with Pipeline("synthetic:640x480@30,seed=11,objects=3", model=model, prompts=prompts) as pipe:
        for _ in pipe:
            frames += 1
            now = time.time()
            if now >= next_sample:
                samples.append({"t_s": round(now - t0, 1), "frames": frames, "rss_mb": round(rss(), 1)})
                log(f"soak: {samples[-1]}")
                next_sample += sample_every
            if now - t0 > seconds:
                break
    samples.append({"t_s": round(time.time() - t0, 1), "frames": frames, "rss_mb": round(rss(), 1)})
    warm = [s["rss_mb"] for s in samples if s["t_s"] >= min(60.0, seconds / 4)]
    return {"model": model, "seconds": seconds, "objects": objects, "samples": samples,
            "rss_growth_mb_after_warmup": round(max(warm) - min(warm), 1) if warm else None}
