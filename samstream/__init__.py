"""samstream: real-time, promptable Segment-Anything on live video, on an ordinary CPU.

``import samstream`` is light (numpy + OpenCV); OpenVINO, torch, rclpy and Gradio load only
when the part that needs them is used.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .pipeline import Pipeline  # noqa: E402
from .sources import open_source  # noqa: E402
from .types import Frame, Prompt, Segmentation  # noqa: E402

__all__ = ["Frame", "Pipeline", "Prompt", "Segmentation", "load_predictor", "open_source", "__version__"]


def load_predictor(model: str = "classic", precision: str = "fp16", **kw):
    """See :func:`samstream.engine.load_predictor`."""
    from .engine import load_predictor as _load

    return _load(model, precision=precision, **kw)
