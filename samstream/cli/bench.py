"""``samstream bench``: latency and efficiency side by side (this machine's GEMM peak; OpenVINO
FP32/FP16/bf16/INT8; ONNX Runtime; PyTorch), pipeline, soak, UI."""

from __future__ import annotations

import json
from pathlib import Path

from .common import FMT

DEFAULT_BENCH_MODELS = "classic,mobilesam,efficientvit_sam_l0,sam_vit_b"


def add_parser(sub) -> None:
    p = sub.add_parser(
        "bench", help="latency benchmark (JSON)", formatter_class=FMT,
        description="Median encoder and decoder latency for each model architecture and backend, measured "
                    "side by side in one run: OpenVINO FP32, FP16 (default execution precision), bf16 (if the "
                    "CPU has it) and INT8, and the peers users would pick instead on the same model and "
                    "weights: ONNX Runtime (CPU EP, if installed: pip install 'samstream[bench]') and PyTorch "
                    "eager FP32 (if torch is installed); plus the classic backend. Efficiency: the run first "
                    "measures this machine's attainable GEMM throughput (FP32; bf16 where the CPU has "
                    "AVX512_BF16/AMX; INT8 where it has VNNI/AMX) and reports, per encoder/decoder stage, "
                    "achieved GFLOP/s (FLOPs counted at export, in meta.json) and %% of that peak, with the "
                    "CPU's ISA flags in the JSON. Models without an official export are built with RANDOM "
                    "weights (labelled \"weights\": \"random\"): the timings are real, no quality is measured.",
        epilog="examples:\n"
               "  samstream bench --json bench.json\n"
               "  samstream bench --models mobilesam --runs 20\n"
               "  samstream bench --models mobilesam-512,mobilesam --backends ort,torch,fp32,int8 --json eff.json\n"
               "  samstream bench --pipeline --models classic,mobilesam@random --json pipeline.json\n"
               "  samstream bench --soak --seconds 600\n"
               "  samstream bench --ui --seconds 15 --json ui.json\n"
               "  samstream bench --spatial --objects 3 --json spatial.json\n"
               "  samstream bench --remote --models mobilesam-256@random --cameras 1,2,4 --seconds 5 --json remote.json\n"
               "  samstream bench --ui --webrtc --seconds 10      # + browser camera: Gradio webcam vs WebRTC\n")
    p.add_argument("--models", default=DEFAULT_BENCH_MODELS,
                   help="comma-separated models to measure (default: classic,mobilesam,efficientvit_sam_l0,sam_vit_b)")
    p.add_argument("--backends", default="ort,torch,fp32,fp16,bf16,int8",
                   help="comma-separated: ort (ONNX Runtime), torch (PyTorch eager), and the OpenVINO precisions "
                        "fp32, fp16, bf16, int8 (default: all)")
    p.add_argument("--peak-size", type=int, default=2048, metavar="N",
                   help="side of the N^3 GEMM that measures this machine's peak GFLOP/s (default 2048; 0 = skip)")
    p.add_argument("--runs", type=int, default=10, help="timed runs per measurement (default 10; torch ViT-B uses fewer)")
    p.add_argument("--threads", type=int, default=0, help="OpenVINO inference threads (0 = all cores)")
    p.add_argument("--pipeline", action="store_true",
                   help="instead: masks/s and latency of the live pipeline vs the naive per-frame loop on a "
                        "640x480 30 fps synthetic stream (same model, same run)")
    p.add_argument("--seconds", type=float, default=15.0, help="--pipeline/--soak: seconds per measurement (default 15)")
    p.add_argument("--objects", type=int, default=None, help="--pipeline/--soak: tracked objects (default 1 / 3)")
    p.add_argument("--soak", action="store_true",
                   help="instead: run the live pipeline (30 fps, 640x480) for --seconds and sample RSS, p50/p99 "
                        "latency, open fds and threads every --sample-every seconds (docs/reliability.md)")
    p.add_argument("--sample-every", type=float, default=30.0, help="--soak: seconds per sample (default 30)")
    p.add_argument("--ui", action="store_true",
                   help="instead: frames displayed per second and capture-to-display latency of `samstream demo`, "
                        "measured in headless Chromium (needs the [ui,test] extras and chromium)")
    p.add_argument("--spatial", action="store_true",
                   help="instead: per-frame cost of the 3-D step (depth decode + masks lifted to 3-D objects and "
                        "point clouds) at 640x480 on synthetic RGB-D, --objects objects (default 1), --runs runs")
    p.add_argument("--webrtc", action="store_true",
                   help="--ui: also the browser-camera paths in the same run (fake camera 640x480@30): Gradio's "
                        "webcam component and the WebRTC view (video fps, overlay updates/s, camera-to-overlay lag)")
    p.add_argument("--profile", metavar="MODEL",
                   help="instead: per-layer-type time of MODEL's encoder (OpenVINO PERF_COUNT), e.g. mobilesam@random")
    p.add_argument("--precision", default="fp32", choices=("fp32", "fp16", "bf16", "int8"), help="--profile, --remote: encoder precision (default fp32)")
    p.add_argument("--remote", action="store_true",
                   help="instead: one model server (samstream serve) and 1, 2, 4 (--cameras) pipelines against it, "
                        "beside the same pipelines each with its own local encoder: per-camera results/s, "
                        "keyframes/s, encoder latency (first of --models; default mobilesam-256@random)")
    p.add_argument("--cameras", default="1,2,4", help="--remote: camera counts (default 1,2,4)")
    p.add_argument("--protocol", default="grpc", choices=("grpc", "http"), help="--remote: protocol (default grpc)")
    p.add_argument("--encoder", metavar="URL", help="--remote: use this running server instead of starting one")
    p.add_argument("--streams", type=int, default=1, help="--remote: the started server's OpenVINO streams (default 1)")
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
    if args.spatial:
        from ..bench.spatial import bench_spatial

        out = bench_spatial(objects=args.objects, runs=max(args.runs, 3))
        print(json.dumps(out, indent=2))
        _write_json(args.json, out)
        return 0
    if args.remote:
        from ..bench.remote import bench_remote

        try:
            cams = [int(c) for c in args.cameras.split(",") if c.strip()]
        except ValueError:
            raise ValueError(f"--cameras {args.cameras!r}: give counts like 1,2,4.") from None
        model = "mobilesam-256@random" if args.models == DEFAULT_BENCH_MODELS else models[0]
        out = bench_remote(model, cams, seconds=args.seconds, precision=args.precision, protocol=args.protocol,
                           encoder=args.encoder, streams=args.streams)
        print(json.dumps(out, indent=2))
        _write_json(args.json, out)
        return 0
    if args.ui:
        from ..ui import bench as bench_ui

        model = "classic" if args.models == DEFAULT_BENCH_MODELS else models[0]
        out = bench_ui.run_ui_bench(seconds=args.seconds, model=model, objects=args.objects or 1, webrtc=args.webrtc)
        print(json.dumps(out, indent=2))
        _write_json(args.json, out)
        return 0
    if args.pipeline or args.soak:
        if args.models == DEFAULT_BENCH_MODELS:
            models = ["classic"]
        out = []
        for m in models:
            if args.soak:
                r = soak(m, seconds=args.seconds, objects=args.objects or 3, sample_every=args.sample_every).to_dict()
            else:
                r = bench_pipeline(m, seconds=args.seconds, objects=args.objects or 1)
            print(json.dumps(r, indent=2))
            out.append(r)
        _write_json(args.json, out)
        return 0
    records = run_model_bench(
        models=models,
        backends=[b.strip() for b in args.backends.split(",") if b.strip()],
        runs=args.runs, threads=args.threads, peak_n=args.peak_size)
    _write_json(args.json, records)
    return 0
