"""ClassicConfig: validation (a ValueError naming the range per bad field), round trip, use."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from samstream.engine import load_predictor
from samstream.engine.classic import ClassicConfig, ClassicPredictor

# field -> (bad values, text the error must contain: the field's range)
BAD = {
    "coarse_side": ([8, 31, 96.0, "96"], ">= 32"),
    "fine_side": ([16, 31.5], ">= 32"),
    "coarse_iters": ([0, 11, 2.0], "1..10"),
    "fine_iters": ([0, 11], "1..10"),
    "band_frac": ([0.0, -0.1, 0.51, float("nan"), "0.06"], "(0, 0.5]"),
    "guide_radius": ([-1, 17, 2.0], "0..16"),
    "guide_eps": ([0.0, -1e-3, float("nan")], "> 0"),
    "colour_weight": ([0, -1.0], "> 0"),
    "prior_sigma": ([0.0, -0.4], "> 0"),
    "local_radius": ([0.0, None], "> 0"),
    "graphcut_weight": ([1.0, -0.01, 1.5], "[0, 1)"),
    "vote_side": ([16, 31, 128.0], ">= 32"),
    "box_side": ([16, 200.0], ">= 32"),
    "box_margin": ([-0.1, 2.5, "0.15"], "[0, 2]"),
    "box_iters": ([0, 11], "1..10"),
    "click_scales": ([(), (0.3, 0.2), (0.0, 0.2), (0.2, 1.5), "0.2"], "(0, 1]"),
}


def test_every_field_is_checked():
    assert set(BAD) == set(ClassicConfig.field_names())


@pytest.mark.parametrize("field,value,rng", [(f, v, r) for f, (vals, r) in BAD.items() for v in vals])
def test_bad_field_raises_naming_the_range(field, value, rng):
    with pytest.raises(ValueError) as info:
        ClassicConfig(**{field: value})
    msg = str(info.value)
    assert field in msg and rng in msg


def test_fine_side_below_coarse_side_raises():
    with pytest.raises(ValueError, match=r"fine_side \(64\) must be >= coarse_side \(96\)"):
        ClassicConfig(fine_side=64, coarse_side=96)


def test_good_config_round_trips():
    cfg = ClassicConfig(coarse_side=np.int64(64), fine_side=256, band_frac=0.1, guide_radius=0, graphcut_weight=0.0)
    assert type(cfg.coarse_side) is int and cfg.coarse_side == 64  # numpy scalars are stored as plain numbers
    again = ClassicConfig(**dataclasses.asdict(cfg))
    assert again == cfg and hash(again) == hash(cfg)
    assert dataclasses.replace(cfg, vote_side=64).vote_side == 64
    assert ClassicConfig() == ClassicConfig(**dataclasses.asdict(ClassicConfig()))


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        ClassicConfig().fine_side = 300


def test_predictor_takes_a_config_or_keywords():
    cfg = ClassicConfig(band_frac=0.1)
    assert ClassicPredictor(config=cfg).config is cfg
    assert ClassicPredictor(band_frac=0.1).config == cfg
    assert ClassicPredictor(cfg, fine_side=256).config == dataclasses.replace(cfg, fine_side=256)
    assert ClassicPredictor().config == ClassicConfig()
    assert load_predictor("classic", band_frac=0.1).config == cfg
    with pytest.raises(TypeError, match="band_frac"):
        ClassicPredictor(band_fraction=0.1)
    with pytest.raises(ValueError, match="ClassicConfig"):
        ClassicPredictor(config={"band_frac": 0.1})


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(coarse_side=8),
        dict(fine_side=64, coarse_side=96),
        dict(coarse_iters=0),
        dict(band_frac=0.0),
        dict(guide_radius=-1),
        dict(graphcut_weight=1.0),
        dict(colour_weight=0),
    ],
)
def test_bad_settings_raise(kwargs):
    with pytest.raises(ValueError):
        ClassicPredictor(**kwargs)
