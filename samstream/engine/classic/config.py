"""Settings of the classic backend: :class:`ClassicConfig`, a validated frozen dataclass."""

from __future__ import annotations

from dataclasses import dataclass, fields
from numbers import Real

import numpy as np

__all__ = ["ClassicConfig"]


def _int(name: str, v, lo: int, hi: int | None, unit: str) -> int:
    """``v`` as an int in ``lo..hi`` (``hi=None``: no upper bound), else a ValueError naming the range."""
    rng = f"in {lo}..{hi}" if hi is not None else f">= {lo}"
    if not isinstance(v, (int, np.integer)) or v < lo or (hi is not None and v > hi):
        raise ValueError(f"{name} must be an integer {rng} {unit}, got {v!r}.")
    return int(v)


def _float(name: str, v, ok, rng: str) -> float:
    """``v`` as a float satisfying ``ok``, else a ValueError naming the range ``rng``."""
    if not isinstance(v, (Real, np.floating, np.integer)) or not ok(float(v)):
        raise ValueError(f"{name} must be {rng}, got {v!r}.")
    return float(v)


@dataclass(frozen=True)
class ClassicConfig:
    """Settings of :class:`~samstream.engine.classic.ClassicPredictor` (validated on creation).

    All parameters are generic (not tuned per scene). Sides are pixels; fractions are unitless.

    Attributes:
        coarse_side: longest side, pixels, of the ROI for the coarse GrabCut (box / click
            prompts); integer ``>= 32``.
        fine_side: longest side, pixels, of the ROI for the band refinement; integer
            ``>= 32`` and ``>= coarse_side``.
        coarse_iters: GrabCut iterations at the coarse scale; integer in ``1..10``.
        fine_iters: GrabCut iterations of the banded GrabCut vote; integer in ``1..10``.
        band_frac: half-width of the free band around a ``mask_input``, as a fraction of
            ``sqrt(mask area)`` (fine pixels), in ``(0, 0.5]``; smaller keeps a mask prompt
            closer to what was given.
        guide_radius: guided-filter radius in fine-scale pixels, integer in ``0..16`` (0 turns
            the filter off).
        guide_eps: guided-filter regularisation (image values in ``[0, 1]``), ``> 0``; larger =
            smoother.
        colour_weight: weight of the colour evidence against the shape prior in the band, ``> 0``.
        prior_sigma: shape-prior scale as a fraction of the band, ``> 0`` (smaller = stay closer).
        local_radius: local colour window radius as a multiple of the band, ``> 0``.
        graphcut_weight: weight in ``[0, 1)`` of the banded GrabCut vote for mask prompts.
        vote_side: longest side, pixels, at which that GrabCut vote runs; integer ``>= 32``.

    Raises:
        ValueError: for a field out of range, naming the field and its range.
    """

    coarse_side: int = 96
    fine_side: int = 224
    coarse_iters: int = 2
    fine_iters: int = 1
    band_frac: float = 0.06
    guide_radius: int = 2
    guide_eps: float = 1e-3
    colour_weight: float = 3.0
    prior_sigma: float = 0.4
    local_radius: float = 2.0
    graphcut_weight: float = 0.25
    vote_side: int = 128

    def __post_init__(self) -> None:
        checked = {
            "coarse_side": _int("coarse_side", self.coarse_side, 32, None, "pixels"),
            "fine_side": _int("fine_side", self.fine_side, 32, None, "pixels"),
            "coarse_iters": _int("coarse_iters", self.coarse_iters, 1, 10, "GrabCut iterations"),
            "fine_iters": _int("fine_iters", self.fine_iters, 1, 10, "GrabCut iterations"),
            "band_frac": _float("band_frac", self.band_frac, lambda v: 0.0 < v <= 0.5,
                                "in (0, 0.5] (a fraction of sqrt(mask area))"),
            "guide_radius": _int("guide_radius", self.guide_radius, 0, 16, "pixels (0 turns it off)"),
            "guide_eps": _float("guide_eps", self.guide_eps, lambda v: v > 0, "> 0"),
            "colour_weight": _float("colour_weight", self.colour_weight, lambda v: v > 0, "> 0"),
            "prior_sigma": _float("prior_sigma", self.prior_sigma, lambda v: v > 0, "> 0"),
            "local_radius": _float("local_radius", self.local_radius, lambda v: v > 0, "> 0"),
            "graphcut_weight": _float("graphcut_weight", self.graphcut_weight, lambda v: 0.0 <= v < 1.0,
                                      "in [0, 1)"),
            "vote_side": _int("vote_side", self.vote_side, 32, None, "pixels"),
        }
        if checked["fine_side"] < checked["coarse_side"]:
            raise ValueError(
                f"fine_side ({self.fine_side}) must be >= coarse_side ({self.coarse_side}): "
                "the fine pass refines the coarse one."
            )
        for name, value in checked.items():  # store plain int / float (numpy scalars are accepted)
            object.__setattr__(self, name, value)

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))
