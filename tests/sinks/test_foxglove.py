"""``samstream run --foxglove``: a real WebSocket client (``websockets``, Foxglove protocol) connects
to the server in a separate process, subscribes and receives every channel, 3-D included."""

from __future__ import annotations

import asyncio
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

websockets = pytest.importorskip("websockets")
pytest.importorskip("foxglove")

ROOT = Path(__file__).resolve().parents[2]
CHANNELS = {"image": "foxglove.CompressedImage", "mask": "foxglove.CompressedImage",
            "annotations": "foxglove.ImageAnnotations", "calibration": "foxglove.CameraCalibration",
            "scene": "foxglove.SceneUpdate", "points": "foxglove.PointCloud"}


async def _receive(url: str) -> tuple[dict, dict]:
    """Advertised channels and the first binary message received on each (Foxglove WS protocol)."""
    async with websockets.connect(url, subprotocols=["foxglove.sdk.v1"], max_size=None) as ws:
        chans: dict[int, dict] = {}
        while len(chans) < len(CHANNELS):
            msg = await ws.recv()
            if isinstance(msg, str) and json.loads(msg)["op"] == "advertise":
                chans.update({c["id"]: c for c in json.loads(msg)["channels"]})
        subs = {i: cid for i, cid in enumerate(chans)}
        await ws.send(json.dumps({"op": "subscribe", "subscriptions": [{"id": i, "channelId": c} for i, c in subs.items()]}))
        got: dict[str, bytes] = {}
        while len(got) < len(subs):
            msg = await ws.recv()
            if isinstance(msg, bytes) and msg[0] == 0x01:  # message data: op, subscription id, log time, payload
                sid, _log_time = struct.unpack_from("<IQ", msg, 1)
                got.setdefault(chans[subs[sid]]["topic"], msg[13:])
        return {c["topic"]: c for c in chans.values()}, got


def test_foxglove_server_streams_every_channel(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "samstream.cli", "run", "--source", "synthetic", "--depth",
                             "--prompt", "box:250,170,390,310@1", "--foxglove", "0", "--max-frames", "100000", "-q"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        url = None
        for line in proc.stdout:
            if line.startswith("foxglove: "):
                url = line.split()[1]
                break
        assert url, proc.stderr.read()[-2000:]
        chans, got = asyncio.run(asyncio.wait_for(_receive(url), 120))
    finally:
        proc.terminate()
        proc.wait(30)
    for key, schema in CHANNELS.items():
        topic = f"/samstream/foxglove/{key}"
        assert chans[topic]["schemaName"] == schema and chans[topic]["encoding"] == "protobuf"
        assert len(got[topic]) > 0
    # the payloads are what they say: a JPEG camera frame, a PNG mask
    assert b"jpeg" in got["/samstream/foxglove/image"] and b"\xff\xd8\xff" in got["/samstream/foxglove/image"]
    assert b"png" in got["/samstream/foxglove/mask"] and b"\x89PNG" in got["/samstream/foxglove/mask"]
    assert b"object-1" in got["/samstream/foxglove/scene"]
    assert b"synthetic_optical_frame" in got["/samstream/foxglove/points"]
