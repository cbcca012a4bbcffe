"""Serving the exported encoder over the KServe v2 / Open Inference Protocol.

``samstream serve mobilesam`` hosts the exported encoder IR with the ``kserve`` Python
``ModelServer`` (gRPC + REST, the protocol OpenVINO Model Server, Triton and KServe speak);
``samstream export ... --ovms DIR`` writes the layout OpenVINO Model Server loads as it is.
Clients: ``--encoder grpc://host:9000/mobilesam`` (:mod:`samstream.engine.remote`).

``kserve`` pins protobuf/pandas/fastapi differently from the main environment, so it lives in
its own venv (``.venv-serve``, made by ``bash scripts/setup.sh``); :func:`server_python` finds
the interpreter that has it and :class:`ServerProcess` starts the server there. Only the
standard library is imported by this module.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Optional

__all__ = ["server_python", "ServerProcess", "free_port", "SERVER_MODULE", "DEFAULT_GRPC_PORT",
           "DEFAULT_REST_PORT"]

SERVER_MODULE = "samstream.serve.server"
#: the same defaults as OpenVINO Model Server's ``--port`` / ``--rest_port`` examples
DEFAULT_GRPC_PORT = 9000
DEFAULT_REST_PORT = 8000
REPO = Path(__file__).resolve().parents[2]


def _has_kserve(python: str) -> bool:
    try:
        return subprocess.run([python, "-c", "import kserve"], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def server_python() -> str:
    """The Python interpreter that can import ``kserve``.

    ``$SAMSTREAM_SERVE_PYTHON`` if set, else this interpreter when ``kserve`` imports here, else
    ``<repo>/.venv-serve/bin/python``. Raises ``ImportError`` naming ``bash scripts/setup.sh`` when
    none has it.
    """
    env = os.environ.get("SAMSTREAM_SERVE_PYTHON")
    if env:
        if not _has_kserve(env):
            raise ImportError(f"SAMSTREAM_SERVE_PYTHON={env} cannot import kserve: "
                              f"run `{env} -m pip install 'kserve>=0.14'` or unset it.")
        return env
    try:
        import importlib.util

        if importlib.util.find_spec("kserve") is not None:
            return sys.executable
    except (ImportError, ValueError):
        pass
    venv = REPO / ".venv-serve" / "bin" / "python"
    if venv.exists() and _has_kserve(str(venv)):
        return str(venv)
    raise ImportError(
        "samstream serve needs the kserve model server, which lives in its own venv (it pins protobuf/"
        "pandas/fastapi differently): run `bash scripts/setup.sh` (creates .venv-serve), or "
        "`python3 -m venv .venv-serve && .venv-serve/bin/pip install -e '.[serve]'`, or set "
        "SAMSTREAM_SERVE_PYTHON to a python that has `pip install 'samstream[serve]'`.")


def free_port() -> int:
    """A TCP port free on loopback now (for tests and benchmarks)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """``samstream serve`` in a child process (the kserve ModelServer), for tests, benchmarks and scripts.

    Args:
        model: model name (``mobilesam``, ``mobilesam-256@random``) or an export folder.
        precision: encoder precision served (``fp32``, ``fp16``, ``int8``, ...).
        grpc_port / rest_port: ports on ``host`` (``0`` = pick a free one).
        name: the model name clients use in their URL (default: the model's name).
        streams: OpenVINO streams (parallel requests) on the server.
        env: extra environment for the child.

    ``start()`` returns once the model is ready (``/v2/models/NAME/ready``); ``grpc_url`` and
    ``rest_url`` are the ``--encoder`` URLs. ``kill()`` is an abrupt crash (SIGKILL),
    ``stop()`` a clean shutdown. A context manager.
    """

    def __init__(self, model: str, precision: str = "fp32", grpc_port: int = 0, rest_port: int = 0,
                 name: Optional[str] = None, streams: int = 1, host: str = "127.0.0.1",
                 env: Optional[dict] = None, python: Optional[str] = None, log_path: Optional[Path] = None):
        self.model, self.precision, self.host = str(model), precision, host
        self.grpc_port = int(grpc_port) or free_port()
        self.rest_port = int(rest_port) or free_port()
        self.name = name or self.default_name(self.model)
        self.streams = int(streams)
        self.env = dict(env or {})
        self.python = python
        self.log_path = log_path
        self.proc: Optional[subprocess.Popen] = None
        self._log = None

    @staticmethod
    def default_name(model: str) -> str:
        """``mobilesam-256@random`` -> ``mobilesam-256``; an export folder -> its model name."""
        p = Path(model)
        if (p / "meta.json").is_file():
            import json

            return str(json.loads((p / "meta.json").read_text()).get("model") or p.parent.name)
        return model.partition("@")[0].strip().lower()

    @property
    def grpc_url(self) -> str:
        return f"grpc://{self.host}:{self.grpc_port}/{self.name}"

    @property
    def rest_url(self) -> str:
        return f"http://{self.host}:{self.rest_port}/{self.name}"

    def command(self) -> list[str]:
        return [self.python or server_python(), "-m", SERVER_MODULE, self.model, "--precision", self.precision,
                "--port", str(self.grpc_port), "--rest-port", str(self.rest_port),
                "--name", self.name, "--streams", str(self.streams)]

    def start(self, timeout: float = 120.0) -> "ServerProcess":
        if self.proc is not None and self.proc.poll() is None:
            return self
        env = dict(os.environ)
        # the child imports this checkout's samstream whatever venv it runs in
        env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
        env.update(self.env)
        if self._log is None:
            self._log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(self.command(), env=env, stdout=self._log, stderr=self._log,
                                     stdin=subprocess.DEVNULL)
        self.wait_ready(timeout)
        return self

    def ready(self) -> bool:
        url = f"http://{self.host}:{self.rest_port}/v2/models/{self.name}/ready"
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.status == 200
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def wait_ready(self, timeout: float = 120.0) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"the model server exited with code {self.proc.returncode} while starting"
                                   + (f" (log: {self.log_path})" if self.log_path else "")
                                   + f": run `{' '.join(self.command())}` to see why.")
            if self.ready():
                return
            time.sleep(0.2)
        raise TimeoutError(f"the model server did not become ready within {timeout:.0f} s.")

    def kill(self) -> None:
        """Crash the server (SIGKILL): clients see a dead endpoint."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        """Shut the server down (SIGTERM, then SIGKILL after 10 s)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def close(self) -> None:
        self.stop()
        if self._log not in (None, subprocess.DEVNULL):
            self._log.close()
        self._log = None

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

