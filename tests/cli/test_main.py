"""The top-level parser: help texts for every command (real subprocesses) and `samstream` with no command."""

from __future__ import annotations

import subprocess
import sys

import pytest

from samstream.cli import main


@pytest.mark.parametrize("cmd", ["models", "export", "segment", "run", "eval", "bench"])
def test_help_reads_like_docs(cmd):
    out = subprocess.run([sys.executable, "-m", "samstream.cli", cmd, "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "usage: samstream " + cmd in out.stdout
    assert len(out.stdout) > 300


def test_main_help_lists_commands(capsys):
    assert main([]) == 0
    text = capsys.readouterr().out
    for cmd in ("models", "export", "segment", "run", "eval", "bench"):
        assert cmd in text
