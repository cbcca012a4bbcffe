"""``samstream eval-prompts``: single-frame prompt quality (box, click, click + exclude click) on
DAVIS-layout data, beside plain OpenCV GrabCut with the same box."""

from __future__ import annotations

import json
from pathlib import Path

from .common import FMT, add_model_args


def add_parser(sub) -> None:
    p = sub.add_parser(
        "eval-prompts", help="single-frame prompt quality (box, click, click+neg) on DAVIS-layout data",
        formatter_class=FMT,
        description="How well one prompt segments an object on a single frame. For every sampled annotated "
                    "frame and object: box = the ground-truth mask's bounding box; click = one include point at "
                    "the object's interior-most pixel (best-scored of 3 outputs); click+neg = that click plus an "
                    "exclude point at the largest false positive of the click's answer. Reports mean IoU per clip "
                    "and overall, and median wall / CPU milliseconds per predict() (wall times depend on the "
                    "machine's load). Plain OpenCV GrabCut with the same box (5 iterations, full resolution) runs "
                    "beside it unless --no-grabcut. DIR holds <seq>/frames/*.jpg and <seq>/masks/*.png.",
        epilog="examples:\n"
               "  samstream eval-prompts ../shared/data/vos --json prompts.json\n"
               "  samstream eval-prompts ../shared/data/vos --every 5 --frames 4 --no-grabcut\n"
               "  samstream eval-prompts ../shared/data/vos --sequences dog,camel --model mobilesam\n")
    p.add_argument("dir", type=Path, help="dataset root (DAVIS layout)")
    add_model_args(p)
    p.add_argument("--every", type=int, default=10, help="score every N-th annotated frame of a clip (default 10)")
    p.add_argument("--frames", type=int, help="at most N sampled frames per clip, evenly spread (default: all)")
    p.add_argument("--sequences", help="comma-separated subset of sequence names")
    p.add_argument("--no-grabcut", action="store_true", help="skip the (slow) plain-GrabCut reference")
    p.add_argument("--json", type=Path, help="write per-clip and per-sample results as JSON")


def run(args) -> int:
    """Prompt quality of ``--model`` on DAVIS-layout data; the table on stdout, progress on stderr."""
    from ..engine import load_predictor
    from ..eval.data import load_sequences
    from ..eval.prompts import evaluate_prompts
    from ..utils import log

    if args.every < 1:
        raise ValueError("--every must be >= 1 (1 scores every annotated frame).")
    if args.frames is not None and args.frames < 1:
        raise ValueError("--frames must be >= 1 (or leave it out for every sampled frame).")
    names = [n.strip() for n in args.sequences.split(",")] if args.sequences else None
    seqs = load_sequences(args.dir, names=names)
    predictor = load_predictor(args.model, precision=args.precision)
    if predictor.describe().get("weights") == "random":
        raise ValueError(f"{args.model} has RANDOM weights: prompt quality on random weights means nothing; "
                         "export the official checkpoint (`samstream export NAME`) to evaluate it.")
    result = evaluate_prompts(predictor, seqs, every=args.every, max_frames=args.frames,
                              grabcut=not args.no_grabcut, method=args.model, progress=log)
    print(result.table())
    if args.json:
        Path(args.json).write_text(json.dumps(result.to_dict(), indent=2))
        print(f"wrote {args.json}")
    return 0
