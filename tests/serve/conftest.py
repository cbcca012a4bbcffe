"""Fixtures of the model-server tests: the kserve ModelServer in its own process serving the tiny
export (random weights) on loopback, and clients in this process. Real gRPC/REST, no mocks."""

from __future__ import annotations

import pytest

from servehelpers import serve_python_or_skip


@pytest.fixture(scope="module")
def server(tiny_export, tmp_path_factory):
    """A running ``samstream serve`` of ``tiny_export``'s fp32 encoder (model name ``tiny-test``)."""
    from samstream.serve import ServerProcess

    python = serve_python_or_skip()
    log = tmp_path_factory.mktemp("serve") / "server.log"
    srv = ServerProcess(str(tiny_export.folder), precision="fp32", python=python, log_path=log)
    srv.start(timeout=180)
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def tiny_model(tiny_export):
    from samstream.engine.openvino_sam import OVSamModel

    return OVSamModel(tiny_export, precision="fp32")
