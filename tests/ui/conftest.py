"""Real-browser fixtures: `samstream demo` in a subprocess, Debian's Chromium driven by Playwright
(see uihelpers.py). Chromium is the system one (``scripts/setup.sh`` installs it), never
``playwright install``."""

from __future__ import annotations

import pytest
from uihelpers import CHROMIUM_ARGS, RTC_FRAMES, RTC_SEED, DemoServer, chromium_path, write_y4m


@pytest.fixture(scope="session")
def webcam_clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("webcam") / "fake_webcam.y4m"
    frames = write_y4m(path)
    return path, frames


@pytest.fixture(scope="session")
def pw():
    """The session's one Playwright driver (sync API). Every browser of the session comes from it:
    a second ``sync_playwright()`` in the same process would find the first one's event loop
    running ("Playwright Sync API inside the asyncio loop"). aiortc never runs in this process,
    only in the servers under test."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install 'samstream[test]' (playwright)")
    p = sync_api.sync_playwright().start()
    yield p
    p.stop()


def _launch(pw, clip):
    args = CHROMIUM_ARGS + ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                            f"--use-file-for-fake-video-capture={clip}"]
    return pw.chromium.launch(executable_path=chromium_path(), args=args, headless=True)


@pytest.fixture(scope="session")
def browser(pw, webcam_clip):
    """One headless Chromium for the session; its fake camera plays ``webcam_clip``."""
    b = _launch(pw, webcam_clip[0])
    yield b
    b.close()


@pytest.fixture(scope="session")
def rtc_clip(tmp_path_factory):
    """The WebRTC tests' fake camera: 640x480@30, 90 frames of a synthetic scene, frame i stamped i."""
    from samstream.ui.bench import write_stamped_y4m

    path = tmp_path_factory.mktemp("rtccam") / "fake_camera_640x480.y4m"
    frames = write_stamped_y4m(path, frames=RTC_FRAMES, size=(640, 480), seed=RTC_SEED)
    return path, frames


@pytest.fixture(scope="session")
def rtc_browser(pw, rtc_clip):
    """A headless Chromium whose fake camera plays ``rtc_clip`` (for the WebRTC view)."""
    b = _launch(pw, rtc_clip[0])
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
