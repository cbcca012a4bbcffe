"""`samstream demo` on the command line: help, a missing [ui] extra, a bad port (no browser)."""

from __future__ import annotations

import subprocess
import sys

from samstream.cli import main

_NO_GRADIO = (
    "import sys, importlib.abc\n"
    "class Block(importlib.abc.MetaPathFinder):\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name == 'gradio' or name.startswith('gradio.'):\n"
    "            raise ModuleNotFoundError(\"No module named 'gradio'\")\n"
    "sys.meta_path.insert(0, Block())\n"
    "from samstream.cli import main\n"
    "sys.exit(main(['demo']))\n"
)


def test_demo_help_lists_its_options(capsys):
    try:
        main(["demo", "--help"])
    except SystemExit as e:
        assert e.code == 0
    out = capsys.readouterr().out
    for opt in ("--source", "--model", "--host", "--port", "--share", "127.0.0.1", "7860"):
        assert opt in out
    main([])
    assert "demo" in capsys.readouterr().out


def test_missing_ui_extra_names_the_install_command():
    r = subprocess.run([sys.executable, "-c", _NO_GRADIO], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "pip install 'samstream[ui]'" in r.stderr, r.stderr


def test_bad_port_is_a_clear_error(capsys):
    assert main(["demo", "--port", "70000"]) == 2
    assert "--port 70000 is not a TCP port" in capsys.readouterr().err


def test_import_samstream_and_ui_do_not_import_gradio():
    code = ("import sys, samstream, samstream.ui, samstream.ui.stream, samstream.ui.prompts, samstream.ui.hub, "
            "samstream.ui.readout, samstream.ui.bench; "
            "print('gradio' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "False", r.stderr
