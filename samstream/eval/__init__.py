"""Video object segmentation evaluation with the DAVIS semi-supervised protocol.

* :mod:`.data`: :func:`load_sequences` reads DAVIS-layout data (``root/<seq>/frames/<stem>.jpg``
  with ``root/<seq>/masks/<stem>.png``, pixel value = object id) into :class:`VideoSequence`;
  :func:`read_mask` reads one ground-truth PNG as object ids.
* :mod:`.metrics`: :func:`region_similarity` (J, the IoU) and :func:`boundary_f` (F, the boundary
  F-measure; :func:`boundary_prf` has the exact definition and the empty-mask conventions).
* :mod:`.runner`: :func:`evaluate` runs any :class:`TrackerLike` on every sequence, prompted from
  the first annotated frame's ground truth (:func:`prompt_from_mask`), and scores every later one.
* :mod:`.results`: :class:`ObjectResult`, :class:`SequenceResult`, :class:`EvalResult` (JSON round trip).
* :mod:`.baseline`: :class:`FlowWarpBaseline`, the naive optical-flow tracker to compare against.
* :mod:`.oracle`: :func:`evaluate_oracle`, the oracle-keyframe protocol (ground truth every K
  frames, delivered L frames late), :func:`oracle_table`, :func:`render_oracle_chart`.
* :mod:`.render`: :func:`render_chart` (per-sequence J/F bars) and :func:`render_overlay_strip`.

Command line (samstream's tracker beside the flow baseline)::

    samstream eval ../shared/data/vos --prompt-mode mask --json eval.json --chart eval.png --overlays overlays/
"""

from .baseline import FlowCache, FlowWarpBaseline
from .data import VideoSequence, load_sequences, read_mask
from .metrics import DEFAULT_BOUND_TH, boundary_f, boundary_map, boundary_prf, boundary_tolerance, region_similarity
from .render import render_chart, render_overlay_strip
from .oracle import OracleResult, OracleRun, evaluate_oracle, oracle_table, render_oracle_chart
from .results import EvalResult, ObjectResult, SequenceResult
from .runner import PROMPT_MODES, TrackerLike, evaluate, interior_point, mask_to_box, prompt_from_mask

__all__ = [
    "VideoSequence",
    "load_sequences",
    "read_mask",
    "region_similarity",
    "boundary_map",
    "boundary_tolerance",
    "boundary_prf",
    "boundary_f",
    "mask_to_box",
    "interior_point",
    "prompt_from_mask",
    "TrackerLike",
    "ObjectResult",
    "SequenceResult",
    "EvalResult",
    "evaluate",
    "FlowWarpBaseline",
    "FlowCache",
    "evaluate_oracle",
    "OracleResult",
    "OracleRun",
    "oracle_table",
    "render_oracle_chart",
    "render_chart",
    "render_overlay_strip",
    "PROMPT_MODES",
    "DEFAULT_BOUND_TH",
]
