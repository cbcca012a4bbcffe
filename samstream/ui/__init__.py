"""The live view in the browser (``samstream demo``), built on Gradio (the ``[ui]`` extra).

::

    from samstream.ui import serve
    serve(source="synthetic", model="classic", port=7860)   # http://localhost:7860

Importing this package does not import Gradio; :func:`serve` and :func:`build_app` do, and
raise ``ImportError`` naming ``pip install 'samstream[ui]'`` when it is missing. The machinery
that needs no Gradio is in :mod:`~samstream.ui.stream` (the pipeline thread),
:mod:`~samstream.ui.prompts` (a tab's prompts and settings), :mod:`~samstream.ui.hub` (the tabs
and the MJPEG stream), :mod:`~samstream.ui.readout` (the rendered frame and the text readout) and
:mod:`~samstream.ui.stamp` (the frame stamp); :mod:`~samstream.ui.webrtc` (the WebRTC view's
sessions, aiortc, imported only when served) with its page :mod:`~samstream.ui.webrtc_page`;
:mod:`~samstream.ui.security` (access token, TLS certificate, QR code); :mod:`~samstream.ui.bench`
measures the pages in a browser.
"""

from __future__ import annotations

import importlib.util
from typing import Any

__all__ = ["serve", "build_app", "require_gradio"]


def require_gradio() -> None:
    """Raise ``ImportError`` with the install command when Gradio is not installed."""
    try:
        found = importlib.util.find_spec("gradio") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise ImportError("the live view needs Gradio, which is not installed: "
                          "pip install 'samstream[ui]'  (or pip install 'gradio>=6,<7').")


def serve(*args: Any, **kwargs: Any):
    """Start the live view; see :func:`samstream.ui.app.serve`."""
    require_gradio()
    from .app import serve as _serve

    return _serve(*args, **kwargs)


def build_app(*args: Any, **kwargs: Any):
    """The Gradio Blocks of the live view; see :func:`samstream.ui.app.build_app`."""
    require_gradio()
    from .app import build_app as _build

    return _build(*args, **kwargs)
