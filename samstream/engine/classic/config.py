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


def _scales(v) -> tuple:
    """``click_scales`` as a tuple of increasing floats in ``(0, 1]``, else a ValueError."""
    try:
        vals = tuple(float(x) for x in v)
    except (TypeError, ValueError):
        vals = ()
    if (not vals or any(not (0.0 < x <= 1.0) for x in vals) or list(vals) != sorted(set(vals))
            or isinstance(v, (str, bytes))):
        raise ValueError(f"click_scales must be increasing fractions in (0, 1] of sqrt(H * W), "
                         f"e.g. (0.14, 0.22, 0.32), got {v!r}.")
    return vals


@dataclass(frozen=True)
class ClassicConfig:
    """Settings of :class:`~samstream.engine.classic.ClassicPredictor` (validated on creation).

    All parameters are generic (not tuned per scene). Sides are pixels; fractions are unitless.

    Attributes:
        coarse_side: no longer used (box / click prompts run at ``box_side``); kept so that
            existing settings still load; integer ``>= 32``.
        fine_side: longest side, pixels, of the ROI for the band refinement; integer
            ``>= 32`` and ``>= coarse_side``.
        coarse_iters: no longer used (see ``box_iters``); integer in ``1..10``.
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
        box_side: longest side, pixels, of the ROI on which a box / click prompt's GrabCut runs;
            integer ``>= 32`` (larger: finer outline, slower).
        box_margin: the box prompt's ROI is the box grown by this fraction of its longest side
            (plus 4 px); its ring is GrabCut's background sample; in ``[0, 2]``.
        box_iters: GrabCut iterations for box / click prompts; integer in ``1..10``.
        click_scales: half-sides of the square boxes guessed around a lone include click, as
            fractions of ``sqrt(H * W)``, increasing, each in ``(0, 1]``; the middle one (or
            the only one) answers a single-output click, all of them a multimask click.

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
    box_side: int = 200
    box_margin: float = 0.15
    box_iters: int = 2
    click_scales: tuple = (0.14, 0.22, 0.32)

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
            "box_side": _int("box_side", self.box_side, 32, None, "pixels"),
            "box_margin": _float("box_margin", self.box_margin, lambda v: 0.0 <= v <= 2.0,
                                 "in [0, 2] (a fraction of the box's longest side)"),
            "box_iters": _int("box_iters", self.box_iters, 1, 10, "GrabCut iterations"),
            "click_scales": _scales(self.click_scales),
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
