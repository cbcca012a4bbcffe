"""Real-browser fixtures: `samstream demo` in a subprocess, Debian's Chromium driven by Playwright
(see uihelpers.py). Chromium is the system one (``scripts/setup.sh`` installs it), never
``playwright install``."""

from __future__ import annotations

import pytest
from uihelpers import CHROMIUM_ARGS, DemoServer, chromium_path, write_y4m


@pytest.fixture(scope="session")
def webcam_clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("webcam") / "fake_webcam.y4m"
    frames = write_y4m(path)
    return path, frames


@pytest.fixture(scope="session")
def browser(webcam_clip):
    """One headless Chromium for the session; its fake camera plays ``webcam_clip``."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install 'samstream[test]' (playwright)")
    exe = chromium_path()
    args = CHROMIUM_ARGS + ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                            f"--use-file-for-fake-video-capture={webcam_clip[0]}"]
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=args, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The live view on the synthetic scene (640x480, seed 0, slow motion), classic backend: no camera,
    no weights."""
    srv = DemoServer(["--source", "synthetic:640x480@30,seed=0,speed=0.3", "--model", "classic"],
                     tmp_path_factory.mktemp("demo"), "main")
    yield srv
    srv.stop()


@pytest.fixture()
def hub():
    """A live-view hub on a small synthetic scene (classic backend), running, with a first frame."""
    from samstream.ui.hub import Hub
    from uihelpers import wait_until

    h = Hub("synthetic:320x240@30,seed=2", model="classic", max_views=3)
    wait_until(lambda: h.server.state == "running" and h.server.latest() is not None, what="first frame")
    yield h
    h.close()
