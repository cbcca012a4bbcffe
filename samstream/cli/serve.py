"""``samstream serve``: host the exported encoder on a KServe v2 model server (gRPC + REST)."""

from __future__ import annotations

import os
import sys

from .common import FMT


def add_parser(sub) -> None:
    p = sub.add_parser(
        "serve", help="host the encoder for many cameras (KServe v2 model server)", formatter_class=FMT,
        description="Serve MODEL's exported image encoder with the kserve ModelServer over the KServe v2 / Open "
                    "Inference Protocol (gRPC on --port, REST on --rest-port; the API of OpenVINO Model Server, "
                    "Triton and KServe). Clients run `samstream run --model MODEL --encoder grpc://HOST:PORT/NAME`: "
                    "keyframes are encoded here, the decoder and tracker stay on the client, which needs the same "
                    "export. kserve lives in its own venv (.venv-serve, made by `bash scripts/setup.sh`); this "
                    "command re-runs itself there. Listens on all interfaces, no authentication: keep it on a "
                    "trusted network. For OpenVINO Model Server instead: `samstream export MODEL --ovms DIR` "
                    "(docs/scaling.md).",
        epilog="examples:\n"
               "  samstream serve mobilesam                         # grpc://HOST:9000/mobilesam, http://HOST:8000/mobilesam\n"
               "  samstream serve mobilesam --precision int8 --streams 2\n"
               "  samstream serve mobilesam-256@random --port 9100 --rest-port 8100\n"
               "  samstream run --model mobilesam --encoder grpc://gpu-box:9000/mobilesam --source 0\n")
    p.add_argument("model", help="exported model (mobilesam, mobilesam-256@random, ...) or an export folder")
    p.add_argument("--precision", default="fp16", choices=("fp32", "fp16", "bf16", "int8"),
                   help="encoder precision served (default fp16; int8 needs `export --int8`)")
    p.add_argument("--port", type=int, default=9000, help="gRPC port (default 9000, as OVMS)")
    p.add_argument("--rest-port", type=int, default=8000, help="REST port (default 8000, as OVMS)")
    p.add_argument("--name", help="model name in client URLs (default: the model's name, e.g. mobilesam)")
    p.add_argument("--streams", type=int, default=1,
                   help="OpenVINO streams = requests encoded in parallel (default 1; more for many cameras "
                        "on a many-core server)")


def run(args) -> int:
    for opt, v in (("--port", args.port), ("--rest-port", args.rest_port)):
        if not 0 < v < 65536:
            raise ValueError(f"{opt} {v} is not a TCP port: use 1..65535.")
    if args.port == args.rest_port:
        raise ValueError("--port (gRPC) and --rest-port must differ, e.g. --port 9000 --rest-port 8000.")
    if args.streams < 1:
        raise ValueError("--streams must be >= 1.")
    argv = [args.model, "--precision", args.precision, "--port", str(args.port), "--rest-port", str(args.rest_port),
            "--streams", str(args.streams)] + (["--name", args.name] if args.name else [])
    from ..serve import REPO, SERVER_MODULE, server_python
    from ..serve.server import resolve_export

    resolve_export(args.model)  # a missing export fails here, in one line, before any re-exec
    python = server_python()  # ImportError naming `bash scripts/setup.sh`
    if python == sys.executable:
        from ..serve.server import main

        return main(argv)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(python, [python, "-m", SERVER_MODULE, *argv], env)
    return 0  # not reached
