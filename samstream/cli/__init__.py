"""The ``samstream`` command line: :func:`main` builds the parser and dispatches to one module per
command (``samstream.cli.<command>``, each with ``add_parser(sub)`` and ``run(args) -> int``).
Every heavy import happens inside the command that needs it."""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from .. import __version__
from . import bench, demo, eval, eval_prompts, export, models, run, segment, serve
from .common import FMT, USER_ERRORS, format_error

__all__ = ["main", "COMMANDS"]

MAIN_HELP = """\
samstream: real-time, promptable Segment-Anything on a live camera, on an ordinary CPU.

With no weights at all, the embedded `classic` backend runs everything. With internet, export
a SAM model once (`samstream export mobilesam`) and use `--model mobilesam`.

Commands:
  models     list the models and what is exported in your cache
  export     download an official checkpoint and convert it to OpenVINO IR (FP16, INT8)
  segment    segment one image from clicks/boxes, or everything in it
  run        segment and track objects in a live stream or a file (the main job)
  eval       accuracy (J, F) and fps on DAVIS-layout video data, with a chart
  eval-prompts  single-frame prompt quality (box, click, click+neg IoU and ms) beside GrabCut
  bench      speed as ratios: % of this CPU's peak, vs ONNX Runtime and PyTorch; pipeline, UI, soak
  demo       the live view in your browser: click to segment, webcam or server-side source
  serve      host the encoder for many cameras on a KServe v2 model server (--encoder URL on clients)

Run `samstream COMMAND --help` for the options and examples of each.
"""

#: command name -> its module (``add_parser(sub)``, ``run(args) -> int``), in help order.
COMMANDS = {"models": models, "export": export, "segment": segment, "run": run, "eval": eval,
            "eval-prompts": eval_prompts, "bench": bench, "demo": demo, "serve": serve}


def build_parser() -> argparse.ArgumentParser:
    """The top-level ``samstream`` parser with every command's subparser."""
    ap = argparse.ArgumentParser(prog="samstream", description=MAIN_HELP, formatter_class=FMT)
    ap.add_argument("--version", action="version", version=f"samstream {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS.values():
        module.add_parser(sub)
    return ap


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run ``samstream`` with ``argv`` (default ``sys.argv[1:]``); returns the exit code
    (0 ok, 2 bad input or a user-fixable error printed as one line, 130 after SIGINT / Ctrl-C,
    143 after SIGTERM).

    SIGINT and SIGTERM stop a command cleanly (:mod:`samstream.lifecycle`): ``run`` finishes its
    outputs (video, MCAP, stats JSON), others unwind as on Ctrl-C; a second signal forces exit.
    """
    from ..lifecycle import GracefulStop

    ap = build_parser()
    args = ap.parse_args(argv)
    if not args.command:
        ap.print_help()
        return 0
    with GracefulStop() as stop:
        try:
            rc = COMMANDS[args.command].run(args) or 0
            return stop.exit_code or rc
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return stop.exit_code or 130
        except USER_ERRORS as exc:
            print(format_error(args.command, exc), file=sys.stderr)
            return 2
        except OSError as exc:  # a camera that does not exist, a device or disk error: one line
            print(format_error(args.command, exc), file=sys.stderr)
            return 2
