"""The remote encoder against a real kserve ModelServer process (gRPC and REST on loopback)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from samstream.engine.openvino_sam import SamPredictor
from samstream.engine.remote import EncoderUnreachable, RemoteSamPredictor, parse_encoder_url
from samstream.pipeline import Pipeline
from samstream.tracker import TrackerConfig
from samstream.types import Prompt

from servehelpers import run_until


def _url(server, protocol):
    return server.grpc_url if protocol == "grpc" else server.rest_url


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_server_embeddings_equal_local_ones(server, tiny_model, protocol):
    image = np.random.default_rng(3).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    local = SamPredictor(tiny_model).encode(image)
    remote = RemoteSamPredictor(tiny_model, _url(server, protocol))
    emb = remote.encode(image, frame_index=7, timestamp=1.5)
    a, b = emb.features["image_embeddings"], local.features["image_embeddings"]
    assert a.shape == b.shape and a.dtype == np.float32
    assert np.abs(a - b).max() <= 1e-4
    assert emb.frame_index == 7 and emb.timestamp == 1.5 and emb.orig_hw == (120, 160)
    # the decoder stays local and gives the same masks on either embedding
    m_remote = remote.predict_on(emb, [([[80, 60]], [1], None, None)])[0][0]
    m_local = remote.predict_on(local, [([[80, 60]], [1], None, None)])[0][0]
    assert np.array_equal(m_remote, m_local)
    assert remote.describe()["encoder"] == _url(server, protocol)


def test_wrong_model_name_is_one_clear_error(server, tiny_model):
    for url in (server.grpc_url, server.rest_url):
        with pytest.raises(ValueError, match="has no model 'nope'.*use the name"):
            RemoteSamPredictor(tiny_model, url.replace("/tiny-test", "/nope"), connect_timeout_s=2)


def test_wrong_protocol_names_the_scheme(server, tiny_model):
    with pytest.raises(ValueError, match="not gRPC: use http://"):
        RemoteSamPredictor(tiny_model, f"grpc://127.0.0.1:{server.rest_port}/tiny-test", connect_timeout_s=2)
    with pytest.raises(ValueError, match="use grpc://"):
        RemoteSamPredictor(tiny_model, f"http://127.0.0.1:{server.grpc_port}/tiny-test", connect_timeout_s=2)


def test_wrong_shape_is_refused_naming_the_fix(server, tiny_model):
    r = RemoteSamPredictor(tiny_model, server.grpc_url)
    with pytest.raises(ValueError, match="serve the same export"):
        r.remote.infer(np.zeros((1, 8, 8), np.uint8))  # rank 3: the served encoder takes rank 4
    assert r.remote.reachable  # a refusal is not an outage


def test_no_server_is_one_clear_error(tiny_model):
    from samstream.serve import free_port

    with pytest.raises(EncoderUnreachable, match="samstream serve"):
        RemoteSamPredictor(tiny_model, f"grpc://127.0.0.1:{free_port()}/tiny-test", connect_timeout_s=0.5)


@pytest.mark.parametrize("url, words", [
    ("localhost:9000/mobilesam", "not a model-server URL"),
    ("ftp://h:1/m", "not supported"),
    ("grpc://h:9000", "names no model"),
    ("grpc://h/m", "HOST:PORT"),
    ("grpc://h:9000/m?timeout=0", "positive"),
    ("grpc://h:9000/m?foo=1", "unknown option"),
])
def test_bad_urls_name_the_form(url, words):
    with pytest.raises(ValueError, match=words):
        parse_encoder_url(url)


def test_url_parts():
    u = parse_encoder_url("http://gpu-box:8000/mobilesam/2?timeout=2.5")
    assert (u.protocol, u.host, u.port, u.model, u.version, u.timeout_s) == ("http", "gpu-box", 8000, "mobilesam", "2", 2.5)
    assert str(parse_encoder_url("grpc://h:9000/m")) == "grpc://h:9000/m"


def _live_pipeline(tiny_model, url):
    predictor = RemoteSamPredictor(tiny_model, url)
    # random weights: keep every refresh (this tests the transport, not mask quality)
    cfg = TrackerConfig(lost_score=0.0, min_area_frac=0.0, min_consistency=0.0)
    return Pipeline("synthetic:160x120@30,seed=3,objects=2", predictor=predictor,
                    prompts=[Prompt(1, box=[20, 20, 100, 90])], tracker_config=cfg)


def test_server_killed_mid_stream_tracking_continues_and_resumes(server, tiny_model):
    pipe = _live_pipeline(tiny_model, server.grpc_url)
    it = iter(pipe)
    try:
        # explicitly wait for remote keyframes before the outage
        m, _ = run_until(pipe, it, lambda m: m.tracker.keyframes_applied >= 3, 120, "the first remote keyframes")
        assert m.encoder.reachable and m.encoder.completed >= 2  # (the first frame resolves inline)
        before = m.tracker.keyframes_applied
        server.kill()

        def has_masks(seg):  # every result of the outage carries its object's (propagated) mask
            assert seg.object_ids == [1] and seg.masks.shape == (1, 120, 160)

        m, n = run_until(pipe, it, lambda m: not m.encoder.reachable and m.tracker.keyframes_failed >= 2, 120,
                         "the outage showing in the metrics", check=has_masks)
        assert "unreachable" in m.encoder.last_error and "unreachable" in (m.last_keyframe_error or "")
        assert m.model["reachable"] is False
        target = m.frames_out + 10
        m2, _ = run_until(pipe, it, lambda m: m.frames_out >= target, 60,
                           "results flowing during the outage", check=has_masks)
        assert m2.tracker.keyframes_applied <= before + 1  # at most the one already in flight
        server.start(timeout=180)
        m3, _ = run_until(pipe, it, lambda m: m.encoder.reachable and m.tracker.keyframes_applied >= m2.tracker.keyframes_applied + 3,
                          180, "keyframes resuming after the restart")
        assert m3.model["reachable"] is True
    finally:
        pipe.close()
        server.start(timeout=180)  # leave it up for the other tests


def test_two_pipelines_share_one_server(server, tiny_model):
    results = {}

    def run(key):
        pipe = _live_pipeline(tiny_model, server.rest_url if key == "b" else server.grpc_url)
        try:
            results[key] = run_until(pipe, iter(pipe), lambda m: m.encoder.completed >= 4, 120,
                                     f"pipeline {key}'s keyframes")[0]
        except BaseException as exc:  # reported below
            results[key] = exc
        finally:
            pipe.close()

    threads = [threading.Thread(target=run, args=(k,)) for k in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    for k in "ab":
        m = results[k]
        assert not isinstance(m, BaseException), m
        assert m.encoder.completed >= 4 and m.encoder.reachable and m.encoder.latency_ms > 0
        assert m.tracker.keyframes_failed == 0
