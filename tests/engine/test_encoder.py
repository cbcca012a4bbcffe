"""Tests for samstream.engine.encoder.AsyncEncoder (bounded asynchronous keyframe encoding).

Two paths are covered:

* the OpenVINO path (a real tiny SAM export, ``AsyncInferQueue``), checked against synchronous
  ``predictor.encode`` of the same image;
* the dispatcher path, driven by a fake predictor whose ``encode`` blocks on a
  ``threading.Event`` the test controls, so queue states (running / pending / dropped) are exact
  and no test depends on how fast anything runs.
"""

from __future__ import annotations

import queue
import threading

import numpy as np
import pytest

from samstream.engine.base import Embedding, Predictor
from samstream.engine.encoder import AsyncEncoder, EncodeHandle, EncoderDropped

WAIT = 15.0  # generous upper bound for any wait; never a speed threshold


# -- helpers ------------------------------------------------------------------------------------
class GatedPredictor(Predictor):
    """A fake predictor: ``encode`` reports its start, then waits for ``gate``.

    It has no ``.model``, so ``AsyncEncoder`` runs it on its dispatcher thread.
    """

    name = "gated-fake"

    def __init__(self, open_gate: bool = False, fail_on: tuple[int, ...] = ()):
        super().__init__()
        self.gate = threading.Event()
        if open_gate:
            self.gate.set()
        self.started: "queue.Queue[int]" = queue.Queue()
        self.encoded: list[int] = []
        self.fail_on = set(fail_on)

    def encode(self, image, frame_index=-1, timestamp=0.0):
        self.started.put(frame_index)
        if not self.gate.wait(WAIT):
            raise AssertionError("test never released the gate")
        if frame_index in self.fail_on:
            raise ValueError(f"cannot encode frame {frame_index}")
        self.encoded.append(frame_index)
        return Embedding(features={"image": image.copy()}, frame=self.square_frame(image.shape[:2]),
                         frame_index=frame_index, timestamp=timestamp, latency_ms=1.0)

    def _decode(self, emb, prompts, multimask_output, return_logits):
        raise NotImplementedError


def _image(seed: int, h: int = 96, w: int = 128) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _wait_started(pred: GatedPredictor, frame_index: int) -> None:
    assert pred.started.get(timeout=WAIT) == frame_index


class Recorder:
    """A callback that records every handle it is called with."""

    def __init__(self):
        self.calls: list[EncodeHandle] = []
        self.lock = threading.Lock()

    def __call__(self, handle: EncodeHandle) -> None:
        with self.lock:
            self.calls.append(handle)


@pytest.fixture(scope="module")
def sam(tiny_export):
    from samstream.engine.openvino_sam import OVSamModel, SamPredictor

    return SamPredictor(OVSamModel(tiny_export, precision="fp32"))


def _assert_same_embedding(emb: Embedding, ref: Embedding) -> None:
    a, b = emb.features["image_embeddings"], ref.features["image_embeddings"]
    assert a.shape == b.shape
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    assert emb.orig_hw == ref.orig_hw


# -- 1. submit / handle / callback / result (OpenVINO path) ---------------------------------------
@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("hw", [(96, 128), (150, 70)])
def test_submit_result_matches_sync_encode(sam, jobs, hw):
    img = _image(1, *hw)
    ref = sam.encode(img, 7, 1.25)
    rec = Recorder()
    fired = threading.Event()

    def cb(h):
        rec(h)
        fired.set()

    with AsyncEncoder(sam, jobs=jobs) as enc:
        assert enc.uses_backend_requests  # the real OpenVINO AsyncInferQueue path
        h = enc.submit(img, frame_index=7, timestamp=1.25, callback=cb)
        assert isinstance(h, EncodeHandle)
        assert (h.frame_index, h.timestamp, h.image_hw) == (7, 1.25, hw)
        emb = h.result(timeout=WAIT)
        assert fired.wait(WAIT)
        assert enc.wait_idle(WAIT)
        assert h.done() and h.state == "done"
        assert (emb.frame_index, emb.timestamp) == (7, 1.25)
        assert emb.latency_ms >= 0.0
        _assert_same_embedding(emb, ref)
        assert h.result(timeout=0) is emb  # result() is repeatable
        assert (enc.submitted, enc.completed, enc.failed, enc.dropped) == (1, 1, 0, 0)
        assert not enc.busy and enc.in_flight == 0
    assert len(rec.calls) == 1 and rec.calls[0] is h


def test_submit_returns_while_encode_is_blocked():
    pred = GatedPredictor()
    rec = Recorder()
    with AsyncEncoder(pred) as enc:
        assert not enc.uses_backend_requests and enc.jobs == 1
        h = enc.submit(_image(0), 3, 0.5, callback=rec)  # returns although encode cannot finish
        _wait_started(pred, 3)
        assert not h.done() and h.state == "running"
        with pytest.raises(TimeoutError):
            h.result(timeout=0.01)
        assert rec.calls == []
        assert enc.busy and enc.in_flight == 1
        assert enc.wait_idle(timeout=0.05) is False
        pred.gate.set()
        emb = h.result(timeout=WAIT)
        assert enc.wait_idle(WAIT) is True
        assert h.done() and not enc.busy  # idle means every handle is settled
    assert (emb.frame_index, emb.timestamp) == (3, 0.5)
    assert rec.calls == [h]


def test_caller_may_reuse_the_frame_buffer():
    """A live source may overwrite (or draw on) its frame buffer right after submit."""
    pred = GatedPredictor()
    buf = _image(5)
    original = buf.copy()
    with AsyncEncoder(pred, max_pending=1) as enc:
        h0 = enc.submit(buf, 0, 0.0)
        _wait_started(pred, 0)
        h1 = enc.submit(buf, 1, 0.1)  # waits in the pending slot
        buf[:] = 0  # the caller reuses its buffer for the next frame
        pred.gate.set()
        for h in (h0, h1):
            np.testing.assert_array_equal(h.result(timeout=WAIT).features["image"], original)


# -- 2. bounded in-flight, drop_oldest -----------------------------------------------------------
@pytest.mark.parametrize("max_pending", [1, 3])
def test_drop_oldest_bounds_in_flight_and_keeps_newest(max_pending):
    n = 10
    pred = GatedPredictor()
    rec = Recorder()
    with AsyncEncoder(pred, jobs=4, max_pending=max_pending, policy="drop_oldest") as enc:
        assert enc.jobs == 1  # jobs only matter for OpenVINO
        bound = enc.jobs + max_pending
        handles = [enc.submit(_image(0), 0, 0.0, callback=rec)]
        _wait_started(pred, 0)  # frame 0 is running and holds the only worker
        for i in range(1, n):
            handles.append(enc.submit(_image(i), i, i / 10, callback=rec))  # never blocks
            assert enc.in_flight <= bound
        assert enc.in_flight == bound
        assert enc.submitted == n
        kept = list(range(n - max_pending, n))
        dropped = [i for i in range(1, n) if i not in kept]
        assert enc.dropped == len(dropped)
        for i in dropped:
            h = handles[i]
            assert h.done() and h.state == "dropped"
            with pytest.raises(EncoderDropped):
                h.result(timeout=0)
        for i in [0] + kept:
            assert not handles[i].done()

        pred.gate.set()
        for i in [0] + kept:
            emb = handles[i].result(timeout=WAIT)
            assert (emb.frame_index, emb.timestamp) == (i, i / 10)
            np.testing.assert_array_equal(emb.features["image"], _image(i))
        assert enc.wait_idle(WAIT)
        assert pred.encoded == [0] + kept  # the newest frames are the ones encoded, in order
        assert handles[-1].state == "done"
        assert (enc.completed, enc.dropped, enc.failed) == (1 + max_pending, len(dropped), 0)
        assert enc.in_flight == 0
    # every handle's callback fired exactly once
    assert sorted(h.frame_index for h in rec.calls) == list(range(n))
    assert {h.frame_index: h.state for h in rec.calls} == {h.frame_index: h.state for h in handles}


# -- 3. block policy ----------------------------------------------------------------------------
def test_block_policy_waits_for_a_free_slot():
    pred = GatedPredictor()
    with AsyncEncoder(pred, max_pending=1, policy="block") as enc:
        h0 = enc.submit(_image(0), 0, 0.0)
        _wait_started(pred, 0)
        h1 = enc.submit(_image(1), 1, 0.1)  # fills the pending slot, returns
        box: dict = {}
        t = threading.Thread(target=lambda: box.setdefault("h2", enc.submit(_image(2), 2, 0.2)))
        t.start()
        t.join(0.3)
        assert t.is_alive() and "h2" not in box  # blocked: the slot is full
        assert enc.in_flight == 2 and enc.submitted == 2
        assert not h0.done() and not h1.done()

        pred.gate.set()  # frame 0 finishes, frame 1 starts, the slot frees, submit returns
        t.join(WAIT)
        assert not t.is_alive()
        assert h0.result(timeout=WAIT).frame_index == 0
        h2 = box["h2"]
        for i, h in enumerate((h0, h1, h2)):
            assert h.result(timeout=WAIT).frame_index == i
        assert enc.wait_idle(WAIT)
        assert pred.encoded == [0, 1, 2]
        assert (enc.submitted, enc.completed, enc.dropped) == (3, 3, 0)


def test_block_policy_submit_blocked_at_close_raises():
    pred = GatedPredictor()
    enc = AsyncEncoder(pred, max_pending=1, policy="block")
    h0 = enc.submit(_image(0), 0, 0.0)
    _wait_started(pred, 0)
    h1 = enc.submit(_image(1), 1, 0.1)
    box: dict = {}

    def blocked_submit():
        try:
            box["handle"] = enc.submit(_image(2), 2, 0.2)
        except BaseException as exc:  # noqa: BLE001 - recorded for the assertion below
            box["error"] = exc

    t = threading.Thread(target=blocked_submit)
    t.start()
    t.join(0.3)
    assert t.is_alive()
    closer = threading.Thread(target=enc.close)
    closer.start()
    t.join(WAIT)
    assert not t.is_alive()
    # the blocked submit must not enqueue a frame nobody will ever encode
    assert "handle" not in box, "submit returned a handle that can never finish"
    assert isinstance(box.get("error"), RuntimeError)
    with pytest.raises(EncoderDropped):
        h1.result(timeout=WAIT)
    pred.gate.set()
    closer.join(WAIT)
    assert not closer.is_alive()
    assert h0.result(timeout=WAIT).frame_index == 0
    assert pred.encoded == [0]


# -- 4. OpenVINO path, several requests ------------------------------------------------------------
SIZES = [(96, 128), (150, 70), (64, 64), (120, 200), (33, 90), (80, 80)]


@pytest.mark.parametrize("policy", ["block", "drop_oldest"])
def test_openvino_jobs2_each_embedding_belongs_to_its_frame(sam, policy):
    images = [_image(10 + i, *hw) for i, hw in enumerate(SIZES)]
    refs = [sam.encode(img, i, i * 0.04) for i, img in enumerate(images)]
    rec = Recorder()
    with AsyncEncoder(sam, jobs=2, max_pending=2, policy=policy) as enc:
        assert enc.jobs == 2
        handles = []
        for i, img in enumerate(images):
            handles.append(enc.submit(img, i, i * 0.04, callback=rec))
            assert enc.in_flight <= enc.jobs + enc.max_pending
        assert enc.wait_idle(WAIT)
        done = [h for h in handles if h.state == "done"]
        if policy == "block":
            assert len(done) == len(images) and enc.dropped == 0
        assert handles[-1] in done  # the newest frame is never dropped
        assert enc.completed == len(done)
        assert enc.dropped == len(images) - len(done)
        assert enc.failed == 0
        for h in handles:
            if h.state == "dropped":
                with pytest.raises(EncoderDropped):
                    h.result(timeout=0)
                continue
            emb = h.result(timeout=WAIT)
            i = h.frame_index
            assert (emb.frame_index, emb.timestamp) == (i, i * 0.04)
            _assert_same_embedding(emb, refs[i])
    assert sorted(h.frame_index for h in rec.calls) == list(range(len(images)))


# -- 5. failures -----------------------------------------------------------------------------------
def _failing_fake():
    return GatedPredictor(open_gate=True, fail_on=(1,))


def _failing_openvino(sam):
    from samstream.engine.openvino_sam import SamPredictor

    pred = SamPredictor(sam.model)
    real = pred.embedding_from_output

    def embedding_from_output(out, hw, frame_index, timestamp, latency_ms):
        if frame_index == 1:
            raise ValueError(f"cannot encode frame {frame_index}")
        return real(out, hw, frame_index, timestamp, latency_ms)

    pred.embedding_from_output = embedding_from_output
    return pred


@pytest.mark.parametrize("path", ["dispatcher", "openvino"])
def test_failed_encode_is_reported_and_encoder_keeps_serving(sam, path):
    pred = _failing_fake() if path == "dispatcher" else _failing_openvino(sam)
    rec = Recorder()
    with AsyncEncoder(pred, max_pending=4, policy="block") as enc:
        assert enc.uses_backend_requests == (path == "openvino")
        handles = [enc.submit(_image(i), i, float(i), callback=rec) for i in range(3)]
        assert enc.wait_idle(WAIT)
        h_bad = handles[1]
        assert h_bad.done() and h_bad.state == "failed"
        with pytest.raises(ValueError, match="cannot encode frame 1"):
            h_bad.result(timeout=0)
        for i in (0, 2):
            assert handles[i].state == "done"
            assert handles[i].result(timeout=0).frame_index == i
        later = enc.submit(_image(3), 3, 3.0)  # still serving
        assert later.result(timeout=WAIT).frame_index == 3
        assert (enc.submitted, enc.completed, enc.failed, enc.dropped) == (4, 3, 1, 0)
    assert sorted(h.frame_index for h in rec.calls) == [0, 1, 2]


# -- 6. close and misbehaving callbacks ----------------------------------------------------------
def test_close_drops_pending_and_is_idempotent():
    pred = GatedPredictor()
    rec = Recorder()
    enc = AsyncEncoder(pred, max_pending=2)
    h0 = enc.submit(_image(0), 0, 0.0, callback=rec)
    _wait_started(pred, 0)
    pending = [enc.submit(_image(i), i, 0.0, callback=rec) for i in (1, 2)]
    closer = threading.Thread(target=enc.close)
    closer.start()
    for h in pending:  # dropped at once, while frame 0 still runs
        with pytest.raises(EncoderDropped):
            h.result(timeout=WAIT)
        assert h.state == "dropped"
    assert not h0.done()
    pred.gate.set()  # the running frame finishes
    closer.join(WAIT)
    assert not closer.is_alive()
    assert h0.result(timeout=WAIT).frame_index == 0 and h0.state == "done"
    assert pred.encoded == [0]
    assert not enc._thread.is_alive()
    with pytest.raises(RuntimeError, match="closed"):
        enc.submit(_image(3), 3, 0.0)
    enc.close()  # idempotent
    enc.close()
    assert sorted(h.frame_index for h in rec.calls) == [0, 1, 2]


def test_context_manager_closes(sam):
    with AsyncEncoder(sam, jobs=2) as enc:
        h = enc.submit(_image(0), 0, 0.0)
    # running work finishes on close; nothing is left hanging
    assert h.done() and h.state in ("done", "dropped")
    assert not enc._thread.is_alive()
    with pytest.raises(RuntimeError):
        enc.submit(_image(1), 1, 0.0)


@pytest.mark.parametrize("path", ["dispatcher", "openvino"])
def test_raising_callback_does_not_kill_the_encoder(sam, path):
    pred = GatedPredictor(open_gate=True) if path == "dispatcher" else sam
    calls = []

    def bad_callback(h):
        calls.append(h.frame_index)
        raise RuntimeError("user callback bug")

    with AsyncEncoder(pred, policy="block") as enc:
        h0 = enc.submit(_image(0), 0, 0.0, callback=bad_callback)
        assert h0.result(timeout=WAIT).frame_index == 0
        assert enc.wait_idle(WAIT)
        h1 = enc.submit(_image(1), 1, 0.1, callback=bad_callback)
        assert h1.result(timeout=WAIT).frame_index == 1
        assert enc.wait_idle(WAIT)
        assert enc._thread.is_alive()
        assert (enc.completed, enc.failed) == (2, 0)
    assert calls == [0, 1]


# -- 7. argument checks --------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs", [
    dict(policy="newest"),
    dict(policy="DROP_OLDEST"),
    dict(jobs=0),
    dict(jobs=-1),
    dict(max_pending=0),
])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        AsyncEncoder(GatedPredictor(open_gate=True), **kwargs)


@pytest.mark.parametrize("bad", [
    None,
    [[1, 2, 3]],
    np.zeros((10, 10, 3), np.float32),
    np.zeros((10, 10, 3), bool),
    np.zeros((0, 10, 3), np.uint8),
    np.zeros((10, 10, 2), np.uint8),
    np.zeros((2, 10, 10, 3), np.uint8),
], ids=["none", "list", "float", "bool", "empty", "2ch", "batch"])
def test_bad_image_raises_from_submit(bad):
    pred = GatedPredictor(open_gate=True)
    rec = Recorder()
    with AsyncEncoder(pred) as enc:
        with pytest.raises(ValueError):
            enc.submit(bad, 0, 0.0, callback=rec)
        assert enc.submitted == 0 and enc.in_flight == 0
        h = enc.submit(_image(0), 1, 0.0)  # still usable
        assert h.result(timeout=WAIT).frame_index == 1
    assert rec.calls == [] and pred.encoded == [1]


def test_grey_and_bgra_images_are_normalised():
    pred = GatedPredictor(open_gate=True)
    grey = _image(0)[:, :, 0].copy()
    bgra = np.dstack([_image(1), np.full(grey.shape, 255, np.uint8)])
    with AsyncEncoder(pred, policy="block", max_pending=2) as enc:
        e0 = enc.submit(grey, 0, 0.0).result(timeout=WAIT)
        e1 = enc.submit(bgra, 1, 0.0).result(timeout=WAIT)
    assert e0.features["image"].shape == (*grey.shape, 3)
    np.testing.assert_array_equal(e1.features["image"], _image(1))
