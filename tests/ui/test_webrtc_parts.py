"""The WebRTC view's parts without a browser: ICE server URLs, the label-map encoding, the
self-signed certificate, the QR code, and `samstream demo`'s new options' errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from samstream.cli import main
from samstream.types import Segmentation
from samstream.ui.security import self_signed_cert, terminal_qr
from samstream.ui.webrtc import IceServer, label_runs, parse_ice_server


def test_ice_server_urls():
    assert parse_ice_server("stun:stun.example.org:3478") == IceServer("stun:stun.example.org:3478")
    t = parse_ice_server("turn:bob:p%40ss@turn.example.org:3478?transport=udp")
    assert (t.url, t.username, t.credential) == ("turn:turn.example.org:3478?transport=udp", "bob", "p@ss")
    assert t.for_browser() == {"urls": ["turn:turn.example.org:3478?transport=udp"], "username": "bob",
                               "credential": "p@ss"}
    for bad, why in (("http://x", "STUN/TURN URL"), ("turn:host:3478", "needs credentials"),
                     ("stun:a:b@host", "no user name"), ("stun:", "STUN/TURN URL")):
        with pytest.raises(ValueError, match=why):
            parse_ice_server(bad)


def _decode(w, h, runs):
    flat = np.concatenate([np.full(n, v, np.uint8) for v, n in zip(runs[0::2], runs[1::2])])
    return flat.reshape(h, w)


def test_label_runs_round_trip_at_reduced_size():
    masks = np.zeros((2, 480, 640), bool)
    masks[0, 100:200, 100:300] = True
    masks[1, 150:400, 250:500] = True  # on top of object 3 where they overlap
    seg = Segmentation(masks, np.ones(2), np.array([3, 7]), 5, 0.0, lost=np.array([False, False]))
    w, h, runs = label_runs(seg)
    assert (w, h) == (320, 240)
    lm = _decode(w, h, runs)
    assert lm[60, 60] == 3 and lm[100, 150] == 7 and lm[0, 0] == 0 and set(np.unique(lm)) == {0, 3, 7}
    assert sum(runs[1::2]) == w * h
    seg_lost = Segmentation(masks, np.ones(2), np.array([3, 7]), 5, 0.0, lost=np.array([False, True]))
    assert set(np.unique(_decode(*label_runs(seg_lost)))) == {0, 3}
    small = Segmentation(masks[:, :100, :100], np.ones(2), np.array([3, 7]), 5, 0.0)
    assert label_runs(small)[:2] == (100, 100)  # small frames are sent as they are


def test_self_signed_certificate_is_made_once_and_covers_the_host(tmp_path):
    from cryptography import x509

    cert, key = self_signed_cert("10.1.2.3", tmp_path)
    assert (key.stat().st_mode & 0o777) == 0o600
    c = x509.load_pem_x509_certificate(cert.read_bytes())
    san = c.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    assert {str(i) for i in san.get_values_for_type(x509.IPAddress)} >= {"127.0.0.1", "10.1.2.3"}
    before = cert.read_bytes()
    assert self_signed_cert("10.1.2.3", tmp_path)[0].read_bytes() == before  # reused: a phone keeps trusting it
    assert self_signed_cert("10.9.9.9", tmp_path)[0].read_bytes() != before  # a new address: a new certificate


def test_terminal_qr_code():
    qr = terminal_qr("https://192.168.1.20:7860/webrtc?token=abc")
    assert qr.count("\n") > 10 and "█" in qr


@pytest.mark.parametrize("argv, text", [
    (["--token", "a b"], "--token must be"),
    (["--ice-server", "http://nope"], "is not a STUN/TURN URL"),
    (["--cert", "c.pem"], "give both --cert FILE and --key FILE"),
    (["--cert", "/no/c.pem", "--key", "/no/k.pem"], "does not exist"),
    (["--max-webrtc", "99"], "--max-webrtc 99"),
])
def test_demo_option_errors_name_the_fix(argv, text, capsys):
    assert main(["demo", "--port", "7", *argv]) == 2
    assert text in capsys.readouterr().err


def test_webrtc_modules_import_neither_gradio_nor_aiortc():
    code = ("import sys, samstream.ui.webrtc, samstream.ui.webrtc_page, samstream.ui.security; "
            "print('gradio' in sys.modules, 'aiortc' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "False False", r.stderr


def test_bench_help_offers_the_webrtc_paths(capsys):
    try:
        main(["bench", "--help"])
    except SystemExit as e:
        assert e.code == 0
    out = capsys.readouterr().out
    assert "--webrtc" in out and "bench --ui --webrtc" in out
