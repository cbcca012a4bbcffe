"""The model server process: samstream's exported encoder IR behind the kserve ``ModelServer``.

Run by ``samstream serve`` (in the venv that has ``kserve``, see :func:`samstream.serve.server_python`)::

    python -m samstream.serve.server mobilesam --precision int8 --port 9000 --rest-port 8000

It speaks the KServe v2 / Open Inference Protocol on gRPC (``--port``) and REST (``--rest-port``),
the same API as OpenVINO Model Server and Triton. One model, named ``--name`` (default: the model
name), with one input -- whatever :meth:`samstream.engine.openvino_sam.OVSamModel.encoder_input`
makes, ``uint8 (1, H, W, 3)`` BGR, passed to the IR as it is (dynamic dims allowed, reported as
``-1`` in the metadata) -- and one output, the ``float32`` image embedding ``(1, C, h, w)``.
Requests run on ``--streams`` OpenVINO infer requests in parallel (a throughput-style server).
"""

from __future__ import annotations

import argparse
import asyncio
import queue
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from . import DEFAULT_GRPC_PORT, DEFAULT_REST_PORT

_DTYPES = {"u8": "UINT8", "f32": "FP32", "f16": "FP16", "i32": "INT32", "i64": "INT64"}


def dims(partial_shape) -> list[int]:
    """An OpenVINO partial shape as KServe v2 metadata dims (``-1`` = dynamic)."""
    return [int(d.get_length()) if d.is_static else -1 for d in partial_shape]


def resolve_export(model: str):
    """``mobilesam`` / ``mobilesam-256@random`` / an export folder -> ``ExportedModel`` (errors name the fix)."""
    import json

    from ..models.cache import ExportedModel, find_exported

    p = Path(model).expanduser()
    if (p / "meta.json").is_file():
        meta = json.loads((p / "meta.json").read_text())
        return ExportedModel(str(meta.get("model") or p.parent.name), str(meta.get("weights") or p.name), p, meta)
    from ..engine import parse_model_name

    name, weights = parse_model_name(model)
    if name == "classic":
        raise ValueError("the classic backend has no encoder to serve: serve a SAM export, e.g. "
                         "`samstream serve mobilesam` (after `samstream export mobilesam`).")
    found = find_exported(name, weights)
    if found is None:
        tag = " --random-init" if weights == "random-init" else ""
        raise FileNotFoundError(f"{name} ({weights} weights) is not exported in this cache: run "
                                f"`samstream export {name}{tag}` first (the server and the clients use the same export).")
    return found


def build_model(name: str, exported, precision: str, streams: int):
    """The kserve ``Model`` serving ``exported``'s encoder (imports kserve: run in the serve venv)."""
    import kserve
    from kserve.errors import InvalidInput
    from kserve.protocol.infer_type import InferOutput, InferResponse

    from ..engine.openvino_sam import OVSamModel

    class SamEncoderModel(kserve.Model):
        """One SAM encoder; ``predict`` runs the IR on the tensor as sent."""

        def __init__(self) -> None:
            super().__init__(name)
            self.sam = OVSamModel(exported, precision=precision, num_streams=max(1, streams))
            enc = self.sam.encoder
            self.inp, self.out = enc.input(0), enc.output(0)
            self.in_dims, self.out_dims = dims(self.inp.get_partial_shape()), dims(self.out.get_partial_shape())
            self.in_type = _DTYPES.get(self.inp.get_element_type().get_type_name(), "UINT8")
            self.out_name = self.out.get_any_name() if self.out.get_names() else "image_embeddings"
            self.in_name = self.inp.get_any_name() if self.inp.get_names() else "image"
            self._requests: "queue.Queue" = queue.Queue()
            for _ in range(max(1, streams)):
                self._requests.put(enc.create_infer_request())
            self._pool = ThreadPoolExecutor(max(1, streams), thread_name_prefix="samstream-serve")
            self.ready = True

        def get_input_types(self):
            return [{"name": self.in_name, "datatype": self.in_type, "shape": self.in_dims}]

        def get_output_types(self):
            return [{"name": self.out_name, "datatype": "FP32", "shape": self.out_dims}]

        def _check(self, arr: np.ndarray) -> None:
            want = self.in_dims
            ok = arr.ndim == len(want) and all(w in (-1, a) for w, a in zip(want, arr.shape))
            if not ok:
                raise InvalidInput(f"input {self.in_name} has shape {list(arr.shape)} but {name}'s encoder takes "
                                   f"{want} (-1 = any): the client's export differs from the served one; serve "
                                   "the same export the client decodes with.")
            if arr.dtype != np.uint8 and self.in_type == "UINT8":
                raise InvalidInput(f"input {self.in_name} is {arr.dtype}, the encoder takes UINT8 (BGR pixels).")

        def _infer(self, arr: np.ndarray) -> np.ndarray:
            req = self._requests.get()
            try:
                req.infer({0: arr})
                return np.array(req.get_output_tensor(0).data, dtype=np.float32, copy=True)
            finally:
                self._requests.put(req)

        async def predict(self, payload, headers=None, response_headers=None):
            if len(payload.inputs) != 1:
                raise InvalidInput(f"{name} takes one input ({self.in_name}), got {len(payload.inputs)}.")
            arr = payload.inputs[0].as_numpy()
            self._check(arr)
            out = await asyncio.get_running_loop().run_in_executor(self._pool, self._infer, arr)
            res = InferOutput(name=self.out_name, shape=list(out.shape), datatype="FP32")
            res.set_data_from_numpy(out, binary_data=True)
            return InferResponse(response_id=payload.id, model_name=name, infer_outputs=[res],
                                 use_binary_outputs=True)

    return SamEncoderModel()


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="samstream serve", description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="model name (mobilesam, mobilesam-256@random, ...) or an export folder")
    ap.add_argument("--precision", default="fp16", choices=("fp32", "fp16", "bf16", "int8"))
    ap.add_argument("--port", type=int, default=DEFAULT_GRPC_PORT, help="gRPC port")
    ap.add_argument("--rest-port", type=int, default=DEFAULT_REST_PORT, help="REST port")
    ap.add_argument("--name", default=None, help="served model name (default: the model name)")
    ap.add_argument("--streams", type=int, default=1, help="parallel OpenVINO requests")
    return ap


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    exported = resolve_export(args.model)
    name = args.name or exported.model
    # kserve parses sys.argv when imported: hand it only its own options
    sys.argv = [sys.argv[0], "--http_port", str(args.rest_port), "--grpc_port", str(args.port)]
    import kserve

    model = build_model(name, exported, args.precision, args.streams)
    print(f"samstream serve: {name} ({exported.model}, {exported.weights} weights, {args.precision}) "
          f"input {model.in_dims} -> output {model.out_dims}; gRPC grpc://HOST:{args.port}/{name}, "
          f"REST http://HOST:{args.rest_port}/{name} (all interfaces)", flush=True)
    server = kserve.ModelServer(http_port=args.rest_port, grpc_port=args.port, workers=1,
                                enable_docs_url=False, grace_period=2)
    server.start([model])
    return 0


if __name__ == "__main__":
    sys.exit(main())
