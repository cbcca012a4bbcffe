"""``samstream bench``: latency side by side (PyTorch, OpenVINO FP32/FP16/bf16/INT8), pipeline, soak, UI."""

from __future__ import annotations

import json
from pathlib import Path

from .common import FMT

DEFAULT_BENCH_MODELS = "classic,mobilesam,efficientvit_sam_l0,sam_vit_b"


def add_parser(sub) -> None:
    p = sub.add_parser(
        "bench", help="latency benchmark (JSON)", formatter_class=FMT,
        description="Median encoder and decoder latency for each model architecture and backend, measured "
                    "side by side in one run: PyTorch eager FP32 (if torch is installed), OpenVINO FP32, "
                    "FP16 (default execution precision), bf16 (if the CPU has it) and INT8, plus the classic "
                    "backend. Models without an official export are built with RANDOM weights (labelled "
                    "\"weights\": \"random\"): the timings are real, no quality is measured.",
        epilog="examples:\n"
               "  samstream bench --json bench.json\n"
               "  samstream bench --models mobilesam --runs 20\n"
               "  samstream bench --pipeline --models classic,mobilesam@random --json pipeline.json\n"
               "  samstream bench --soak --seconds 600\n"
               "  samstream bench --ui --seconds 15 --json ui.json\n"
               "  samstream bench --ui --webrtc --seconds 10      # + browser camera: Gradio webcam vs WebRTC\n")
    p.add_argument("--models", default=DEFAULT_BENCH_MODELS,
                   help="comma-separated models to measure (default: classic,mobilesam,efficientvit_sam_l0,sam_vit_b)")
    p.add_argument("--backends", default="torch,fp32,fp16,bf16,int8",
                   help="comma-separated: torch, fp32, fp16, bf16, int8 (default: all)")
    p.add_argument("--runs", type=int, default=10, help="timed runs per measurement (default 10; torch ViT-B uses fewer)")
    p.add_argument("--threads", type=int, default=0, help="OpenVINO inference threads (0 = all cores)")
    p.add_argument("--pipeline", action="store_true",
                   help="instead: masks/s and latency of the live pipeline vs the naive per-frame loop on a "
                        "640x480 30 fps synthetic stream (same model, same run)")
    p.add_argument("--seconds", type=float, default=15.0, help="--pipeline/--soak: seconds per measurement (default 15)")
    p.add_argument("--objects", type=int, default=1, help="--pipeline: tracked objects (default 1)")
    p.add_argument("--soak", action="store_true", help="instead: run the pipeline for --seconds and sample memory (RSS)")
    p.add_argument("--ui", action="store_true",
                   help="instead: frames displayed per second and capture-to-display latency of `samstream demo`, "
                        "measured in headless Chromium (needs the [ui,test] extras and chromium)")
    p.add_argument("--webrtc", action="store_true",
                   help="--ui: also the browser-camera paths in the same run (fake camera 640x480@30): Gradio's "
                        "webcam component and the WebRTC view (video fps, overlay updates/s, camera-to-overlay lag)")
    p.add_argument("--profile", metavar="MODEL",
                   help="instead: per-layer-type time of MODEL's encoder (OpenVINO PERF_COUNT), e.g. mobilesam@random")
    p.add_argument("--precision", default="fp32", choices=("fp32", "fp16", "bf16", "int8"), help="--profile: precision")
    p.add_argument("--json", type=Path, help="write the records to this JSON file")


def _write_json(path, out) -> None:
    if path:
        path.write_text(json.dumps(out, indent=2))
        print(f"wrote {path}")


def run(args) -> int:
    from ..bench import bench_pipeline, run_model_bench, soak

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if args.profile:
        from ..bench import profile_encoder

        out = profile_encoder(args.profile, args.precision)
        if args.json:
            args.json.write_text(json.dumps(out, indent=2))
        return 0
    if args.ui:
        from ..ui import bench as bench_ui

        model = "classic" if args.models == DEFAULT_BENCH_MODELS else models[0]
        out = bench_ui.run_ui_bench(seconds=args.seconds, model=model, objects=args.objects, webrtc=args.webrtc)
        print(json.dumps(out, indent=2))
        _write_json(args.json, out)
        return 0
    if args.pipeline or args.soak:
        if args.models == DEFAULT_BENCH_MODELS:
            models = ["classic"]
        out = []
        for m in models:
            r = soak(m, seconds=args.seconds) if args.soak else bench_pipeline(m, seconds=args.seconds, objects=args.objects)
            print(json.dumps(r, indent=2))
            out.append(r)
        _write_json(args.json, out)
        return 0
    records = run_model_bench(
        models=models,
        backends=[b.strip() for b in args.backends.split(",") if b.strip()],
        runs=args.runs, threads=args.threads)
    _write_json(args.json, records)
    return 0
