"""Keyframes encoded on a model server over the KServe v2 / Open Inference Protocol.

``--encoder grpc://host:9000/mobilesam`` (or ``http://host:8000/mobilesam``) sends each keyframe
to a model server -- ``samstream serve``, OpenVINO Model Server, Triton, KServe -- and gets the
image embedding back; the prompt decoder and the tracker stay local (the same export's decoder).
The client is ``tritonclient`` (gRPC and HTTP), the maintained client OVMS documents for this API;
this is the only module that imports it.

The request tensor is exactly what the local engine would feed its own encoder:
:meth:`~samstream.engine.openvino_sam.OVSamModel.encoder_input` (``uint8 (1, H, W, 3)`` BGR);
nothing is re-implemented here. At connect time the server's model metadata is checked against
it (input rank/dtype, every static dim; ``-1`` = any) and the output against the local decoder's
``image_embeddings`` input: a wrong model name, shape or protocol is one clear error naming the fix.

Degrades, never stalls: every call has a timeout; an unreachable server turns into failed
keyframes (the tracker keeps propagating masks by optical flow), ``EncoderStats.reachable`` is
``False`` with ``last_error`` saying why, and the client reconnects by itself with exponential
backoff (one probe per backoff period, at most :attr:`RemoteEncoder.max_backoff_s` apart).

URL form: ``SCHEME://HOST:PORT/MODEL[/VERSION][?timeout=SECONDS]`` with SCHEME ``grpc`` or
``http``/``https``.
"""

from __future__ import annotations

import queue
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from .base import DoneCallback, Embedding
from .openvino_sam import OVSamModel, SamPredictor

__all__ = ["EncoderURL", "parse_encoder_url", "RemoteEncoder", "RemoteSamPredictor", "load_remote_predictor",
           "EncoderUnreachable"]

_NP_TO_V2 = {np.dtype(np.uint8): "UINT8", np.dtype(np.float32): "FP32", np.dtype(np.float16): "FP16"}
_FIX_SCHEME = ("check the scheme: grpc:// for the gRPC port (samstream serve --port, OVMS --port; default 9000), "
               "http:// for the REST port (samstream serve --rest-port, OVMS --rest_port; default 8000)")


class EncoderUnreachable(ConnectionError):
    """The model server did not answer (down, restarting, timed out); the keyframe is skipped."""


@dataclass(frozen=True)
class EncoderURL:
    """A parsed ``--encoder`` URL.

    Attributes:
        protocol: ``"grpc"`` or ``"http"``; ssl: ``https``; host, port: the server; model: the served
        model name; version: model version (``""`` = the server's default); timeout_s: per-request
        timeout in seconds.
    """

    protocol: str
    host: str
    port: int
    model: str
    version: str = ""
    ssl: bool = False
    timeout_s: float = 10.0

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def __str__(self) -> str:
        scheme = "https" if self.ssl else self.protocol
        return f"{scheme}://{self.address}/{self.model}" + (f"/{self.version}" if self.version else "")


def parse_encoder_url(url: str, timeout_s: float = 10.0) -> EncoderURL:
    """``grpc://host:9000/mobilesam`` -> :class:`EncoderURL`; ``ValueError`` naming the right form."""
    form = "use grpc://HOST:PORT/MODEL (gRPC) or http://HOST:PORT/MODEL (REST), e.g. grpc://localhost:9000/mobilesam"
    if not isinstance(url, str) or "://" not in url:
        raise ValueError(f"--encoder {url!r} is not a model-server URL: {form}.")
    u = urllib.parse.urlsplit(url.strip())
    scheme = u.scheme.lower()
    if scheme not in ("grpc", "http", "https"):
        raise ValueError(f"--encoder {url!r}: scheme {scheme!r} is not supported: {form}.")
    parts = [p for p in u.path.split("/") if p]
    if not parts or len(parts) > 2:
        raise ValueError(f"--encoder {url!r} names no model: {form} (MODEL as the server calls it).")
    try:
        port = u.port
    except ValueError:
        port = None
    if not u.hostname or port is None:
        raise ValueError(f"--encoder {url!r} needs HOST:PORT: {form}.")
    query = urllib.parse.parse_qs(u.query)
    unknown = set(query) - {"timeout"}
    if unknown:
        raise ValueError(f"--encoder {url!r}: unknown option(s) {sorted(unknown)}; the only one is ?timeout=SECONDS.")
    if "timeout" in query:
        try:
            timeout_s = float(query["timeout"][-1])
        except ValueError:
            timeout_s = -1
        if not timeout_s > 0:
            raise ValueError(f"--encoder {url!r}: timeout must be a positive number of seconds, e.g. ?timeout=5.")
    return EncoderURL("grpc" if scheme == "grpc" else "http", u.hostname, int(port), parts[0],
                      parts[1] if len(parts) > 1 else "", scheme == "https", float(timeout_s))


def _status(exc: BaseException) -> str:
    status = getattr(exc, "status", None)
    try:
        return str(status() if callable(status) else status or "")
    except Exception:
        return ""


def _message(exc: BaseException) -> str:
    msg = getattr(exc, "message", None)
    try:
        text = msg() if callable(msg) else msg
    except Exception:
        text = None
    return str(text or exc).strip().splitlines()[0] if str(text or exc).strip() else type(exc).__name__


class RemoteEncoder:
    """A KServe v2 connection to one served encoder model (thread-safe; one client per thread).

    Attributes:
        url: the :class:`EncoderURL`; reachable: ``False`` after a failed call until one succeeds;
        last_error: the latest failure (``None`` if none); input_name / output_name: the tensors'
        names from the server's metadata; input_dims / output_dims: their dims (``-1`` = any).
    """

    base_backoff_s = 0.25
    max_backoff_s = 2.0

    def __init__(self, url: EncoderURL):
        self.url = url
        self.reachable = True
        self.last_error: Optional[str] = None
        self.input_name = "image"
        self.output_name = "image_embeddings"
        self.input_dims: list[int] = []
        self.output_dims: list[int] = []
        self.input_datatype = "UINT8"
        self._failures = 0
        self._retry_at = 0.0
        self._generation = 0
        self._lock = threading.Lock()
        self._local = threading.local()
        if url.protocol == "grpc":
            import tritonclient.grpc as client
        else:
            import tritonclient.http as client
        from tritonclient.utils import InferenceServerException

        self._mod = client
        self._server_exc = InferenceServerException

    # -- clients ----------------------------------------------------------------------------
    def _client(self):
        loc = self._local
        if getattr(loc, "client", None) is None or loc.generation != self._generation:
            old = getattr(loc, "client", None)
            if old is not None:
                try:
                    old.close()
                except Exception:
                    pass
            t = self.url.timeout_s
            if self.url.protocol == "grpc":
                loc.client = self._mod.InferenceServerClient(url=self.url.address, ssl=self.url.ssl)
            else:
                loc.client = self._mod.InferenceServerClient(url=self.url.address, ssl=self.url.ssl,
                                                             connection_timeout=t, network_timeout=t)
            loc.generation = self._generation
        return loc.client

    def _unreachable_kind(self, exc: BaseException) -> bool:
        """Whether ``exc`` means "no answer" (retry later) rather than a refusal (a real error)."""
        if isinstance(exc, self._server_exc):
            st = _status(exc)
            if st in ("StatusCode.UNAVAILABLE", "StatusCode.DEADLINE_EXCEEDED", "StatusCode.CANCELLED"):
                return True
            if st in ("", "None") and self.url.protocol == "http":
                return any(w in _message(exc).lower() for w in ("connect", "timed out", "timeout", "reset", "refused"))
            return False
        return True  # transport errors: refused, reset, DNS, socket/gevent timeouts

    # -- connect + check --------------------------------------------------------------------
    def connect(self, sample: np.ndarray, embed_dims: list[int], timeout_s: float = 10.0) -> None:
        """Read the model metadata (retrying up to ``timeout_s`` while the server is not up yet)
        and check it against the request tensor ``sample`` and the decoder's ``embed_dims``."""
        end = time.monotonic() + timeout_s
        while True:
            try:
                meta = self._metadata()
                break
            except BaseException as exc:
                if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                    raise
                if not self._unreachable_kind(exc) or time.monotonic() >= end:
                    raise self._connect_error(exc) from None
                time.sleep(0.25)
                with self._lock:
                    self._generation += 1
        self._check(meta, sample, embed_dims)

    def _metadata(self) -> dict:
        c = self._client()
        t = self.url.timeout_s
        if self.url.protocol == "grpc":
            return c.get_model_metadata(self.url.model, self.url.version, as_json=True, client_timeout=t)
        return c.get_model_metadata(self.url.model, self.url.version)

    def _served_models(self) -> list[str]:
        try:
            c = self._client()
            if self.url.protocol == "grpc":
                idx = c.get_model_repository_index(as_json=True, client_timeout=self.url.timeout_s).get("models", [])
            else:
                idx = c.get_model_repository_index()
            return sorted({m.get("name", "") for m in idx if m.get("name")})
        except Exception:
            return []

    def _connect_error(self, exc: BaseException) -> Exception:
        msg = _message(exc)
        low = msg.lower()
        if "http1.x" in low or "expected settings frame" in low:
            return ValueError(f"{self.url.address} speaks HTTP/1 (REST), not gRPC: use http://{self.url.address}/"
                              f"{self.url.model}, or the server's gRPC port with grpc:// ({_FIX_SCHEME}).")
        if "expected http/" in low:
            return ValueError(f"{self.url.address} does not speak HTTP (it is a gRPC port?): use grpc://"
                              f"{self.url.address}/{self.url.model}, or the server's REST port ({_FIX_SCHEME}).")
        if not self._unreachable_kind(exc):
            if any(w in low for w in ("not found", "unknown model", "does not exist", "404")) \
                    or "not_found" in _status(exc).lower():
                served = self._served_models()
                have = f" (it serves: {', '.join(served)})" if served else ""
                use = f": use {self.url.protocol}://{self.url.address}/{served[0]}" if served else \
                    ": use the name the server was started with (samstream serve --name, OVMS config.json \"name\")"
                return ValueError(f"the model server at {self.url.address} has no model {self.url.model!r}{have}{use}.")
            return ValueError(f"the model server at {self.url} refused the metadata request ({msg}): is it a "
                              f"KServe v2 / Open Inference Protocol server? {_FIX_SCHEME}.")
        return EncoderUnreachable(
            f"no KServe v2 model server answers at {self.url} ({msg}): start one with `samstream serve "
            f"{self.url.model} --port {self.url.port}` (or OpenVINO Model Server, see docs/scaling.md), check "
            f"host and port, and {_FIX_SCHEME}.")

    def _check(self, meta: dict, sample: np.ndarray, embed_dims: list[int]) -> None:
        ins, outs = meta.get("inputs") or [], meta.get("outputs") or []
        where = f"{self.url}"
        if len(ins) != 1 or len(outs) < 1:
            raise ValueError(f"{where} has {len(ins)} inputs and {len(outs)} outputs, a SAM encoder has 1 and 1: "
                             "serve the encoder IR (samstream serve MODEL, or export --ovms DIR for OVMS).")
        inp, out = ins[0], outs[0]
        self.input_name, self.output_name = str(inp.get("name")), str(out.get("name"))
        self.input_dims = [int(d) for d in inp.get("shape", [])]
        self.output_dims = [int(d) for d in out.get("shape", [])]
        self.input_datatype = str(inp.get("datatype", "UINT8"))
        want_type = _NP_TO_V2.get(sample.dtype, str(sample.dtype).upper())
        fits = (len(self.input_dims) == sample.ndim
                and all(d in (-1, s) for d, s in zip(self.input_dims, sample.shape)))
        if not fits or self.input_datatype != want_type:
            raise ValueError(
                f"{where} takes {self.input_datatype} {self.input_dims} but the local export sends {want_type} "
                f"{list(sample.shape)}: serve the same export the client decodes with (same model and input "
                f"size, e.g. `samstream serve {self.url.model}`, or re-run `samstream export NAME --ovms DIR`).")
        fits_out = (len(self.output_dims) == len(embed_dims)
                    and all(a in (-1, b) or b == -1 for a, b in zip(self.output_dims, embed_dims)))
        if not fits_out:
            raise ValueError(
                f"{where} returns {self.output_dims} but the local decoder takes image_embeddings {embed_dims}: "
                "the server runs another model's encoder; serve the same export the client decodes with.")

    # -- inference --------------------------------------------------------------------------
    def infer(self, tensor: np.ndarray, request_id: str = "", cancel: Optional[threading.Event] = None) -> np.ndarray:
        """The server's output for ``tensor``; ``EncoderUnreachable`` when it does not answer (after
        waiting out the current backoff), ``ValueError`` when it refuses the request."""
        with self._lock:
            wait = self._retry_at - time.monotonic() if not self.reachable else 0.0
        if wait > 0:
            if cancel is not None:
                if cancel.wait(wait):
                    raise EncoderUnreachable("encoder closed while waiting to reconnect")
            else:
                time.sleep(wait)
        t0 = time.monotonic()
        try:
            out = self._infer(tensor, request_id)
        except BaseException as exc:
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            if not self._unreachable_kind(exc):
                msg = _message(exc)
                with self._lock:
                    self.last_error = f"server refused the request: {msg}"
                raise ValueError(f"the model server at {self.url} refused the keyframe: {msg}") from None
            took = time.monotonic() - t0
            reason = (f"no answer within {self.url.timeout_s:g} s" if took >= 0.9 * self.url.timeout_s
                      else _message(exc))
            with self._lock:
                self._failures += 1
                backoff = min(self.max_backoff_s, self.base_backoff_s * 2 ** (self._failures - 1))
                self._retry_at = time.monotonic() + backoff
                self.reachable = False
                self.last_error = f"encoder unreachable at {self.url}: {reason}"
                self._generation += 1  # fresh channels on the next try (no stale gRPC backoff)
            raise EncoderUnreachable(f"encoder unreachable at {self.url}: {reason}; retrying in {backoff:.2g} s "
                                     "(tracking continues by optical flow)") from None
        with self._lock:
            self.reachable, self._failures = True, 0
        return out

    def _infer(self, tensor: np.ndarray, request_id: str) -> np.ndarray:
        m = self._mod
        c = self._client()
        inp = m.InferInput(self.input_name, list(tensor.shape), _NP_TO_V2.get(tensor.dtype, "UINT8"))
        if self.url.protocol == "grpc":
            inp.set_data_from_numpy(tensor)
            res = c.infer(self.url.model, [inp], model_version=self.url.version, request_id=request_id,
                          outputs=[m.InferRequestedOutput(self.output_name)], client_timeout=self.url.timeout_s)
        else:
            inp.set_data_from_numpy(tensor, binary_data=True)
            res = c.infer(self.url.model, [inp], model_version=self.url.version, request_id=request_id,
                          outputs=[m.InferRequestedOutput(self.output_name, binary_data=True)])
        out = res.as_numpy(self.output_name)
        if out is None:
            raise ValueError(f"the model server at {self.url} returned no {self.output_name!r} output.")
        return np.asarray(out, dtype=np.float32)

    def close(self) -> None:
        with self._lock:
            self._generation += 1


class RemoteSamPredictor(SamPredictor):
    """A :class:`SamPredictor` whose encoder runs on a model server; the decoder stays local.

    Args:
        model: the local export (its decoder decodes, its ``encoder_input`` builds the requests).
        url: ``grpc://host:9000/NAME`` or ``http://host:8000/NAME`` (see :func:`parse_encoder_url`).
        connect_timeout_s: how long to wait for the server at start (it may still be starting).
    """

    #: capability: keyframes are encoded on a model server (``describe()["encoder"]`` is its URL)
    remote_encoder = True

    def __init__(self, model: OVSamModel, url: str, connect_timeout_s: float = 10.0, timeout_s: float = 10.0):
        super().__init__(model)
        self.remote = RemoteEncoder(parse_encoder_url(url, timeout_s))
        sample = model.encoder_input(np.zeros((480, 640, 3), np.uint8))
        emb = model.decoder.input("image_embeddings").get_partial_shape()
        embed_dims = [int(d.get_length()) if d.is_static else -1 for d in emb]
        self.remote.connect(sample, embed_dims, timeout_s=connect_timeout_s)

    @property
    def reachable(self) -> bool:
        return self.remote.reachable

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d.update(backend="openvino+remote", encoder=str(self.remote.url), reachable=self.remote.reachable)
        return d

    def encode(self, image: np.ndarray, frame_index: int = -1, timestamp: float = 0.0) -> Embedding:
        t0 = time.perf_counter()
        out = self.remote.infer(self.model.encoder_input(image), str(frame_index))
        return self.embedding_from_output(out, image.shape[:2], frame_index, timestamp,
                                          (time.perf_counter() - t0) * 1e3)

    def async_requests(self, jobs: int, on_done: DoneCallback) -> "_RemoteRequests":
        """``jobs`` requests in flight to the server, each on its own worker thread."""
        return _RemoteRequests(self, jobs, on_done)


class _RemoteRequests:
    """:class:`~samstream.engine.base.AsyncRequests` on a model server: ``jobs`` worker threads,
    each making blocking calls with a timeout; the encoder's handle carries frame index and timestamp."""

    def __init__(self, predictor: RemoteSamPredictor, jobs: int, on_done: DoneCallback):
        self.jobs = max(1, int(jobs))
        self._predictor = predictor
        self._on_done = on_done
        # AsyncEncoder never runs more than ``jobs`` at once; the extra room is for the stop sentinels
        self._queue: "queue.Queue" = queue.Queue(maxsize=2 * self.jobs)
        self._closing = threading.Event()
        self._busy = 0
        self._cond = threading.Condition()
        self._threads = [threading.Thread(target=self._work, name=f"samstream-remote-{i}", daemon=True)
                         for i in range(self.jobs)]
        for t in self._threads:
            t.start()

    @property
    def reachable(self) -> bool:
        return self._predictor.remote.reachable

    @property
    def last_error(self) -> Optional[str]:
        return self._predictor.remote.last_error

    def start(self, image: np.ndarray, handle: Any) -> None:
        tensor = self._predictor.model.encoder_input(image)
        with self._cond:
            self._busy += 1
        self._queue.put_nowait((tensor, handle))

    def _work(self) -> None:
        p = self._predictor
        while True:
            item = self._queue.get()
            if item is None:
                return
            tensor, handle = item
            try:
                out = p.remote.infer(tensor, str(handle.frame_index), cancel=self._closing)
                lat = (time.perf_counter() - handle.started_at) * 1e3
                emb = p.embedding_from_output(out, handle.image_hw, handle.frame_index, handle.timestamp, lat)
            except Exception as exc:
                self._finish(handle, None, exc)
            else:
                self._finish(handle, emb, None)

    def _finish(self, handle, emb, err) -> None:
        try:
            self._on_done(handle, emb, err)
        finally:
            with self._cond:
                self._busy -= 1
                self._cond.notify_all()

    def wait_all(self) -> None:
        """Finish what is in flight (bounded by the request timeout; a reconnect wait is cut short)
        and stop the workers (only called when the encoder closes)."""
        self._closing.set()
        with self._cond:
            self._cond.wait_for(lambda: self._busy == 0, timeout=self._predictor.remote.url.timeout_s + 5)
        for _ in self._threads:
            self._queue.put(None)
        for t in self._threads:
            t.join(timeout=5)


def load_remote_predictor(model: str, url: str, precision: str = "fp16", weights: str = "official",
                          **kw) -> RemoteSamPredictor:
    """``model``'s local export (decoder) + its encoder on the server at ``url``."""
    parse_encoder_url(url)  # a malformed URL fails before the model loads
    connect = kw.pop("connect_timeout_s", 10.0)
    return RemoteSamPredictor(OVSamModel.load(model, precision=precision, weights=weights, **kw), url,
                              connect_timeout_s=connect)
