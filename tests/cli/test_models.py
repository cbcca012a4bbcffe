"""`samstream models`."""

from __future__ import annotations

import json

from samstream.cli import main


def test_models_json(capsys):
    assert main(["models", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    names = [m["name"] for m in data["models"]]
    assert names[:2] == ["classic", "mobilesam"] and "sam_vit_b" in names
    assert all(len(m.get("sha256", "0" * 64)) == 64 for m in data["models"])
