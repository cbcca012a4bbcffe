"""The ``classic`` backend (no weights: GrabCut + colour models + guided filter).

Modules: :mod:`.predictor` (:class:`ClassicPredictor`: encode, decode, dispatch), :mod:`.config`
(:class:`ClassicConfig`), :mod:`.prompts` (prompts -> seeds on a working grid), :mod:`.refine`
(band refinement, GrabCut steps), :mod:`.guided` (guided filter), :mod:`.scoring` (confidence
heuristic) and :mod:`.everything` (segment-everything colour regions).
"""

from __future__ import annotations

from .config import ClassicConfig
from .predictor import ClassicPredictor

__all__ = ["ClassicPredictor", "ClassicConfig"]
