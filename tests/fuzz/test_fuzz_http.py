"""The live view's HTTP side under random and malformed requests, from this (another) process.

``samstream demo`` runs in a subprocess on loopback. A bounded, seeded loop sends:

* every page action through Gradio's own API (``gradio_client``): the box field, click mode,
  opacity, remove, hide, model and input selectors with random values (strings, numbers, NaN,
  huge, wrong types). Every answer is a page message (``⚠ ...`` for bad input) or Gradio's own
  validation error; never samstream's "unexpected error";
* raw HTTP: random bytes, malformed/huge/deeply nested JSON to the API routes, random methods,
  paths and query strings, the MJPEG route with random/unknown session ids;
* "browser tabs that vanish": MJPEG connections cut (TCP reset) mid-frame.

Then: the process is up, still streaming (frames_out grows), ``/samstream/status`` answers, the
samstream routes never answered 5xx, and its memory grew by less than 200 MB.
"""

from __future__ import annotations

import http.client
import json
import random
import socket
import struct
import time

import pytest
from relhelpers import free_port, rss_kb, tally, wait_until
from ros2_testutil import PY

pytest.importorskip("gradio", reason="needs the [ui] extra")
pytest.importorskip("gradio_client", reason="needs the [ui] extra")

RNG = random.Random(14)

def _rand_text(n: int = 30) -> str:
    pools = ["0123456789,.-e ", "abcxyz@:;/\\'\"{}[]", "\u00e9\u4e2d\u0000\ufffd\U0001f600\u202e", "nNaIiFf,+-"]
    return "".join(RNG.choice(RNG.choice(pools)) for _ in range(RNG.randint(0, n)))


def _rand_value():
    return RNG.choice([
        lambda: _rand_text(), lambda: RNG.uniform(-1e6, 1e6), lambda: RNG.randint(-10**12, 10**12),
        lambda: None, lambda: [], lambda: [_rand_text(5)], lambda: {"a": 1}, lambda: True, lambda: 1e308,
        lambda: ",".join(str(RNG.uniform(-500, 900)) for _ in range(RNG.randint(0, 6))),
    ])()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from relhelpers import child_env
    from ros2_testutil import Procs

    tmp = tmp_path_factory.mktemp("demo_fuzz")
    procs = Procs(tmp, child_env(GRADIO_TEMP_DIR=str(tmp / "gradio"), GRADIO_ANALYTICS_ENABLED="False"))
    port = free_port()
    p = procs.start([PY, "-m", "samstream.cli", "demo", "--port", port, "--source", "synthetic:320x240@30"], "demo")
    url = f"http://127.0.0.1:{port}"

    def status():
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/samstream/status")
            r = conn.getresponse()
            return json.loads(r.read()) if r.status == 200 else None
        except OSError:
            return None

    wait_until(lambda: status() is not None and status()["frames_out"] > 0, 120, "the live view", p, lambda: procs.log(p))
    yield p, port, url, status, procs
    procs.close()


def test_page_actions_with_random_values(demo):
    from gradio_client import Client

    p, port, url, status, procs = demo
    client = Client(url, verbose=False)
    client.predict(api_name="/on_load")
    endpoints = ["/on_box", "/on_mode", "/on_alpha", "/on_remove", "/on_hide", "/on_model", "/on_input"]
    tried, refused, answers, unexpected = set(), set(), 0, []
    for i in range(70):
        api = "/on_box" if i % 2 == 0 else RNG.choice(endpoints)  # the box field: half of the loop
        value = _rand_value() if i % 4 else _rand_text(40)
        if api == "/on_model" and isinstance(value, str) and value.strip().lower() in ("mobilesam", "sam_vit_b"):
            continue  # a real model name would start a model load, not a bad input
        tried.add((api, repr(value)))
        try:
            out = client.predict(value, api_name=api)
        except Exception as exc:  # Gradio's own validation (AppError) or a client-side JSON refusal
            assert "unexpected error" not in str(exc), (api, value, exc)
            refused.add((api, repr(value)))
            continue
        answers += 1
        text = json.dumps(out, default=str)
        if "\u26a0" in json.dumps(out, default=str, ensure_ascii=False):  # the page's warning message
            refused.add((api, repr(value)))
        if "unexpected error" in text:
            unexpected.append((api, value, text))
    assert not unexpected, unexpected[:5]
    assert answers >= 10 and p.poll() is None, procs.log(p)[-3000:]
    tally("live view page actions (box field, mode, opacity, remove, hide, model, input) via the Gradio API",
          tried, "seeded random strings/numbers/NaN/huge/wrong types from another process", rejected=refused)


def _raw(port: int, method: str, path: str, body: bytes = b"", headers=None) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        r.read(65536)
        return r.status
    finally:
        conn.close()


def _bodies():
    deep = "[" * 5000 + "]" * 5000
    yield b""
    yield b"\xff\xfe\x00garbage"
    yield b"{"
    yield b'{"data": ' + b"1" * 100 + b"}"
    yield json.dumps({"data": ["1,2,3,4"], "fn_index": 7, "session_hash": "x"}).encode()
    yield json.dumps({"data": [None] * 50, "fn_index": -1}).encode()
    yield json.dumps({"data": "notalist", "fn_index": 99999, "session_hash": "\u0000"}).encode()
    yield deep.encode()
    yield json.dumps({"data": ["x" * 1_000_000]}).encode()
    for _ in range(25):
        yield bytes(RNG.getrandbits(8) for _ in range(RNG.randint(1, 2000)))
    for _ in range(25):
        yield json.dumps({"data": [_rand_value() for _ in range(RNG.randint(0, 4))], "fn_index": RNG.randint(-3, 20),
                          "session_hash": _rand_text(12)}, default=str).encode()


def test_raw_http_with_malformed_requests(demo):
    p, port, url, status, procs = demo
    rss0 = rss_kb(p.pid)
    routes = ["/gradio_api/call/on_box", "/gradio_api/queue/join", "/gradio_api/run/predict", "/gradio_api/info",
              "/samstream/status", "/samstream/live.mjpg", "/gradio_api/upload", "/", "/config"]
    tried, ours_5xx = set(), []
    for body in _bodies():
        for route in RNG.sample(routes, 3):
            method = RNG.choice(["POST", "POST", "PUT", "GET", "DELETE", "PATCH"])
            tried.add((method, route, body[:200]))
            code = _raw(port, method, route, body, {"Content-Type": RNG.choice(["application/json", "text/plain",
                                                                                 "multipart/form-data; boundary=x"])})
            if route.startswith("/samstream") and code >= 500:
                ours_5xx.append((method, route, code))
    for _ in range(60):  # random paths and query strings, the MJPEG route with bad session ids
        q = "".join(RNG.choice("abc%&=?/.\\0xff;") for _ in range(RNG.randint(0, 40)))
        path = RNG.choice(["/samstream/live.mjpg?sid=", "/samstream/status?", "/gradio_api/", "/file=", "/"]) + q
        tried.add(("GET", path))
        try:
            code = _raw(port, "GET", path.replace(" ", "%20"))
        except http.client.InvalidURL:
            continue
        if path.startswith("/samstream") and code >= 500:
            ours_5xx.append(("GET", path, code))
    assert not ours_5xx, ours_5xx[:5]
    s = status()
    assert s is not None and p.poll() is None, procs.log(p)[-3000:]
    grown = (rss_kb(p.pid) - rss0) / 1024
    assert grown < 200, f"the server grew by {grown:.0f} MB"
    tally("live view raw HTTP routes (API, status, MJPEG, upload, random paths)", tried,
          "seeded random bytes, malformed/huge/nested JSON, random methods, paths and queries")


def test_mjpeg_viewers_that_vanish_mid_frame(demo):
    from gradio_client import Client

    p, port, url, status, procs = demo
    f0 = status()["frames_out"]
    cuts = 0
    for i in range(20):
        client = Client(url, verbose=False)
        html = client.predict(api_name="/on_load")[0]
        sid = html.split("sid=")[1].split('"')[0]
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(f"GET /samstream/live.mjpg?sid={sid} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        got = b""
        end = time.monotonic() + 10
        while len(got) < 2000 + 300 * i and time.monotonic() < end:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
        assert b"200" in got.split(b"\r\n")[0], got[:200]
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # reset, like a killed tab
        s.close()
        cuts += 1
    time.sleep(2.0)
    s = status()
    assert s is not None and p.poll() is None and s["state"] == "running", procs.log(p)[-3000:]
    assert s["frames_out"] > f0  # still streaming
    tally("faults: MJPEG viewers reset mid-frame (browser tab vanishes)", range(cuts), "TCP reset after 2-8 KB")
