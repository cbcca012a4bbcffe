"""``samstream export``: download an official checkpoint and convert it to OpenVINO IR."""

from __future__ import annotations

from pathlib import Path

from .common import FMT


def add_parser(sub) -> None:
    p = sub.add_parser(
        "export", help="convert a SAM model to OpenVINO IR", formatter_class=FMT,
        description="Download (or take with --checkpoint) an official checkpoint, verify its SHA-256, and "
                    "convert the image encoder and the prompt decoder to OpenVINO IR in the cache "
                    "(FP32 + FP16; INT8 with --int8).",
        epilog="examples:\n"
               "  samstream export mobilesam\n"
               "  samstream export sam_vit_b --checkpoint ~/Downloads/sam_vit_b_01ec64.pth --int8 --calib my_frames/\n"
               "  samstream export mobilesam --random-init --int8     # no download; speed tests only\n"
               "  samstream export mobilesam-512      # 512x512 encoder input: ~4x fewer pixels, lower quality\n"
               "  samstream export mobilesam --int8 --ovms ovms_models/   # + an OpenVINO Model Server repository\n"
               "  samstream export mobilesam --checkpoint my_finetune.pt --custom my_sam   # then --model my_sam\n")
    p.add_argument("model", help="model name (see `samstream models`); NAME-SIZE (e.g. mobilesam-512) exports a "
                                  "smaller/larger encoder input")
    p.add_argument("--checkpoint", type=Path, help="use this local checkpoint file instead of downloading")
    p.add_argument("--custom", metavar="NAME",
                   help="export your own (fine-tuned) checkpoint of MODEL's architecture, given with --checkpoint, "
                        "as the model NAME: any SHA-256 is accepted when keys and shapes fit; use it with --model NAME")
    p.add_argument("--random-init", action="store_true",
                   help="export the real architecture with RANDOM weights (for speed/shape tests; masks are meaningless)")
    p.add_argument("--int8", action="store_true", help="also make an INT8 encoder with NNCF post-training quantization")
    p.add_argument("--calib", metavar="DIR|VIDEO",
                   help="frames to calibrate INT8 on: a folder of images or a video (default: synthetic scenes)")
    p.add_argument("--calib-size", type=int, default=32, help="number of calibration frames (default 32)")
    p.add_argument("--ovms", type=Path, metavar="DIR",
                   help="also write an OpenVINO Model Server repository here: DIR/<name>/1/model.xml|bin + "
                        "DIR/config.json (fp16 as <name>; with --int8 also <name>-int8); see docs/scaling.md")
    p.add_argument("--smooth-quant-alpha", type=float, default=None,
                   help="SmoothQuant alpha for MatMuls (NNCF default when unset; -1 disables)")


def run(args) -> int:
    from ..models.export import export_model
    from ..models.registry import get_spec

    spec = get_spec(args.model)
    if args.random_init and args.checkpoint:
        raise ValueError("--random-init and --checkpoint exclude each other: pick one.")
    if args.custom and not args.checkpoint:
        raise ValueError("--custom NAME needs your checkpoint file: add --checkpoint PATH.")
    if args.calib and not args.int8:
        raise ValueError("--calib only matters with --int8: add --int8.")
    out = export_model(spec, checkpoint=args.checkpoint, random_init=args.random_init, int8=args.int8,
                       calib=args.calib, calib_size=args.calib_size,
                       smooth_quant_alpha=args.smooth_quant_alpha, custom=args.custom)
    name = args.custom.strip().lower() if args.custom else spec.name
    label = "RANDOM-INIT (speed tests only) " if args.random_init else ("your checkpoint as " if args.custom else "")
    use = name + ("@random" if args.random_init else "")
    print(f"exported {label}{name} to {out}\nuse it with: --model {use}")
    if args.ovms:
        import json

        from ..models.cache import ExportedModel
        from ..models.ovms import OVMS_DOCKER, write_ovms_repository

        meta = json.loads((Path(out) / "meta.json").read_text())
        weights = "random-init" if args.random_init else ("custom" if args.custom else "official")
        exported = ExportedModel(name, weights, Path(out), meta)
        cfg = write_ovms_repository(exported, args.ovms, ("fp16", "int8") if args.int8 else ("fp16",))
        print(f"OpenVINO Model Server repository -> {cfg}\nserve it with: "
              + OVMS_DOCKER.format(dir=Path(args.ovms).resolve())
              + f"\nclients: --model {use} --encoder grpc://HOST:9000/{name}")
    return 0
