"""``samstream eval``: accuracy (J, F) and fps on DAVIS-layout data, beside the flow-warp baseline."""

from __future__ import annotations

import json
from pathlib import Path

from .common import FMT, add_model_args


def add_parser(sub) -> None:
    p = sub.add_parser(
        "eval", help="accuracy on DAVIS-layout data", formatter_class=FMT,
        description="Semi-supervised video object segmentation: the first frame's ground truth gives the "
                    "prompt (mask, box or interior point); every later frame is scored with region similarity "
                    "J (IoU) and boundary F (DAVIS definitions). Reports per sequence and the mean, plus fps, "
                    "beside the naive flow-warp baseline. DIR holds <seq>/frames/*.jpg and <seq>/masks/*.png.",
        epilog="examples:\n"
               "  samstream eval ../shared/data/vos --json eval.json --chart eval.png\n"
               "  samstream eval ../shared/data/vos --prompt-mode box\n"
               "  samstream eval ../shared/data/vos --oracle-keyframes 1,5,10,30 --oracle-latency 0,3,10 \\\n"
               "      --json oracle.json --chart oracle.png\n\n"
               "scoring: DAVIS-2016 convention - the first (prompt) and last frames are not scored; F uses the\n"
               "official boundary tolerance (0.008 x image diagonal); a lost object scores 0 where it is visible.\n"
               "oracle keyframes: the tracker runs live-style and every K-th frame its refresh receives that\n"
               "frame's ground-truth mask, L frames late (as the asynchronous encoder delivers); it measures the\n"
               "tracker alone (what a user with perfect SAM answers gets) - no model is loaded.\n")
    p.add_argument("dir", type=Path, help="dataset root (DAVIS layout)")
    add_model_args(p)
    p.add_argument("--prompt-mode", choices=("mask", "box", "point"), default="mask",
                   help="what the first frame's ground truth is turned into (default mask)")
    p.add_argument("--keyframe-interval", type=int, default=1,
                   help="refresh with the predictor every N frames, flow in between (default 1)")
    p.add_argument("--oracle-keyframes", metavar="K[,K...]",
                   help="oracle-keyframe protocol: ground truth every K frames (e.g. 1,5,10,30); no model needed")
    p.add_argument("--oracle-latency", metavar="L[,L...]", default="0",
                   help="with --oracle-keyframes: deliver each keyframe L frames late (e.g. 0,3,10; default 0)")
    p.add_argument("--no-baseline", action="store_true", help="skip the flow-warp baseline")
    p.add_argument("--sequences", help="comma-separated subset of sequence names")
    p.add_argument("--max-frames", type=int, help="evaluate at most N frames per sequence")
    p.add_argument("--json", type=Path, help="write the results as JSON")
    p.add_argument("--chart", type=Path, help="write a PNG chart: J and F per sequence (bars), or with "
                                              "--oracle-keyframes mean J against K, one line per method and L")
    p.add_argument("--overlays", type=Path, help="write a strip of predicted-vs-truth overlays per sequence into this folder")


def run(args) -> int:
    """Our tracker (and the flow-warp baseline) on DAVIS-layout data; tables on stdout, progress on stderr."""
    from ..engine import load_predictor
    from ..eval import FlowWarpBaseline, evaluate, load_sequences, render_chart, render_overlay_strip
    from ..tracker import Tracker, TrackerConfig
    from ..utils import log

    if args.oracle_keyframes:
        return _run_oracle(args)
    if args.keyframe_interval < 1:
        raise ValueError("--keyframe-interval must be >= 1.")
    names = [n.strip() for n in args.sequences.split(",")] if args.sequences else None
    seqs = load_sequences(args.dir, names=names, max_frames=args.max_frames)
    predictor = load_predictor(args.model, precision=args.precision)
    if predictor.describe().get("weights") == "random":
        raise ValueError(f"{args.model} has RANDOM weights: accuracy on random weights means nothing; "
                         "export the official checkpoint (`samstream export NAME`) to evaluate it.")
    cfg = TrackerConfig(keyframe_interval=args.keyframe_interval)

    label = f"samstream {args.model} (keyframe every {args.keyframe_interval})"
    ours = evaluate(lambda: Tracker(predictor, asynchronous=False, config=cfg), seqs, args.prompt_mode,
                    method=label, progress=log)
    results = [ours]
    if not args.no_baseline:
        results.insert(0, evaluate(FlowWarpBaseline, seqs, args.prompt_mode, method="flow-warp baseline",
                                   progress=log))
    for r in results:
        print(r.summary())
        print()
    if args.json:
        payload = {"results": [r.to_dict() for r in results]}
        Path(args.json).write_text(json.dumps(payload, indent=2))
        print(f"wrote {args.json}")
    if args.chart:
        print(f"wrote {render_chart(results, args.chart)}")
    if args.overlays:
        for seq, sr in zip(seqs, ours.sequences):
            print(f"wrote {render_overlay_strip(seq, sr, Path(args.overlays) / f'{seq.name}.png')}")
    return 0


def _int_list(text: str, flag: str, low: int) -> list[int]:
    try:
        vals = [int(v) for v in str(text).replace(" ", "").split(",") if v != ""]
    except ValueError:
        vals = []
    if not vals or min(vals) < low:
        raise ValueError(f"{flag} takes comma-separated integers >= {low}, e.g. {flag} {'1,5,10,30' if low else '0,3,10'}; "
                         f"got {text!r}.")
    return vals


def _run_oracle(args) -> int:
    """The oracle-keyframe protocol: samstream's tracker beside the flow-warp baseline, no model."""
    from ..eval import load_sequences
    from ..eval.baseline import FlowCache, FlowWarpBaseline
    from ..eval.oracle import evaluate_oracle, oracle_json, oracle_table, render_oracle_chart
    from ..tracker import Tracker, TrackerConfig
    from ..utils import log

    ks = _int_list(args.oracle_keyframes, "--oracle-keyframes", 1)
    ls = _int_list(args.oracle_latency, "--oracle-latency", 0)
    if args.prompt_mode != "mask":
        raise ValueError("--oracle-keyframes uses mask prompts (the ground truth): drop --prompt-mode.")
    cfg = TrackerConfig(flow_history=max(16, max(ls) + 2))
    names = [n.strip() for n in args.sequences.split(",")] if args.sequences else None
    seqs = load_sequences(args.dir, names=names, max_frames=args.max_frames)
    results = []
    if not args.no_baseline:
        cache = FlowCache(maxsize=4)
        results.append(evaluate_oracle(lambda: FlowWarpBaseline(flow_history=max(ls) + 2, flow_cache=cache), seqs,
                                       ks, ls, method="flow-warp baseline", progress=log))
    results.append(evaluate_oracle(lambda: Tracker(None, config=cfg), seqs, ks, ls, method="samstream tracker",
                                   progress=log))
    print(f"oracle keyframes on {len(seqs)} sequence(s): mean J / F (DAVIS-2016: first and last frames not scored)")
    print(oracle_table(results, markdown=True))
    if args.json:
        Path(args.json).write_text(json.dumps(oracle_json(results), indent=1))
        print(f"wrote {args.json}")
    if args.chart:
        print(f"wrote {render_oracle_chart(results, args.chart)}")
    return 0
