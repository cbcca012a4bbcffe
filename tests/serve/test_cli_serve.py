"""``samstream serve`` and ``--encoder`` on the command line."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from servehelpers import serve_python_or_skip

ROOT = Path(__file__).resolve().parents[2]


def test_serve_command_reexecs_in_the_serve_venv_and_serves(tiny_export, tmp_path):
    """Run from the main venv (no kserve): it re-executes itself with the serve venv's python."""
    from samstream.serve import ServerProcess, free_port

    serve_python_or_skip()
    grpc, rest = free_port(), free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    log = open(tmp_path / "serve.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "samstream.cli", "serve", str(tiny_export.folder), "--precision",
                             "fp32", "--port", str(grpc), "--rest-port", str(rest), "--name", "seg"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    probe = ServerProcess("seg", grpc_port=grpc, rest_port=rest)  # only for its readiness probe
    try:
        end = time.monotonic() + 180
        while not probe.ready():
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            assert time.monotonic() < end, "samstream serve never became ready"
            time.sleep(0.3)
        from samstream.engine.openvino_sam import OVSamModel
        from samstream.engine.remote import RemoteSamPredictor

        r = RemoteSamPredictor(OVSamModel(tiny_export, precision="fp32"), f"grpc://127.0.0.1:{grpc}/seg")
        assert r.remote.input_dims[-1] == 3 and len(r.remote.output_dims) == 4 and r.remote.reachable
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
    assert "samstream serve: seg" in (tmp_path / "serve.log").read_text()


@pytest.mark.parametrize("argv, words", [
    (["serve", "mobilesam-256@random"], "samstream export mobilesam-256 --random-init"),
    (["serve", "classic"], "no encoder to serve"),
    (["serve", "mobilesam", "--port", "9000", "--rest-port", "9000"], "must differ"),
    (["run", "--encoder", "localhost:9000/m", "--max-frames", "1"], "grpc://HOST:PORT/MODEL"),
    (["run", "--encoder", "grpc://localhost:9000/m", "--max-frames", "1"], "needs a SAM model"),
    (["run", "--model", "mobilesam@random", "--encoder", "grpc://h/m", "--max-frames", "1"], "HOST:PORT"),
    (["bench", "--remote", "--cameras", "a,b"], "give counts like 1,2,4"),
    (["bench", "--remote", "--cameras", "0"], "positive counts"),
])
def test_cli_errors_name_the_fix(capsys, argv, words):
    from samstream.cli import main

    assert main(argv) == 2
    err = capsys.readouterr().err
    assert words in err and "error" in err


def test_serve_without_kserve_names_setup(monkeypatch, capsys):
    from samstream import serve

    monkeypatch.setenv("SAMSTREAM_SERVE_PYTHON", sys.executable)  # the main venv: no kserve here
    with pytest.raises(ImportError, match="cannot import kserve"):
        serve.server_python()
    monkeypatch.delenv("SAMSTREAM_SERVE_PYTHON")
    monkeypatch.setattr(serve, "REPO", Path("/nonexistent"))
    if serve._has_kserve(sys.executable):
        pytest.skip("kserve is installed in this venv")
    with pytest.raises(ImportError, match="bash scripts/setup.sh"):
        serve.server_python()


@pytest.mark.slow
def test_run_with_encoder_url_end_to_end(isolated_cache, tmp_path):
    """``export`` a registered model, ``serve`` it, ``run --encoder`` against it: three processes."""
    import json

    from samstream.serve import ServerProcess

    python = serve_python_or_skip()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-m", "samstream.cli", "export", "mobilesam-256", "--random-init", "--ovms",
                    str(tmp_path / "ovms")], cwd=ROOT, env=env, check=True, capture_output=True, timeout=900)
    assert (tmp_path / "ovms" / "mobilesam-256" / "1" / "model.xml").is_file()
    with ServerProcess("mobilesam-256@random", precision="fp16", python=python) as srv:
        stats = tmp_path / "stats.json"
        proc = subprocess.run([sys.executable, "-m", "samstream.cli", "run", "--model", "mobilesam-256@random",
                               "--encoder", srv.grpc_url, "--source", "synthetic:320x240@30", "--auto-objects", "0",
                               "--prompt", "box:40,40,160,160@1", "--max-frames", "60", "--quiet",
                               "--stats-json", str(stats)], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, proc.stderr[-2000:]
    d = json.loads(stats.read_text())
    assert d["frames_out"] == 60 and d["model"]["encoder"] == srv.grpc_url
    assert d["encoder"]["reachable"] is True and d["encoder"]["failed"] == 0
