from __future__ import annotations

import pytest

from samstream.engine.classic import ClassicPredictor


@pytest.fixture(scope="module")
def predictor() -> ClassicPredictor:
    return ClassicPredictor()
