"""The README's scripting example runs as written and does what it says."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_scripting_example_runs_as_written(tmp_path):
    block = _python_blocks()[0]
    assert "Pipeline" in block and len(block.strip().splitlines()) <= 12
    script = tmp_path / "example.py"
    script.write_text(block)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.strip().splitlines()
    frames = [ln for ln in lines if re.match(r"^\d+ \d+ ", ln)]
    assert len(frames) == 90
    # the object is found and followed: a non-empty mask on (nearly) every frame
    areas = [int(ln.split()[1]) for ln in frames]
    assert sum(a > 1000 for a in areas) >= 85, areas
    assert '"frames_out": 90' in lines[-1]


def test_two_commands_are_documented_and_match_ci():
    text = README.read_text()
    assert "make demo" in text and "make test" in text
    ci = (README.parent / ".ci" / "run").read_text()
    assert "make test" in ci
