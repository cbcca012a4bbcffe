"""Helpers of the model-server tests."""

from __future__ import annotations

import time

import pytest


def serve_python_or_skip() -> str:
    """The interpreter with kserve (``.venv-serve``, made by ``bash scripts/setup.sh``), or skip."""
    from samstream.serve import server_python

    try:
        return server_python()
    except ImportError as exc:
        pytest.skip(f"no kserve environment: {exc}")


def run_until(pipe, it, cond, timeout: float, what: str, check=None):
    """Pull results from ``it`` (the pipeline's iterator) until ``cond(pipe.metrics())`` holds;
    ``check(seg)`` on every result; fails naming ``what`` after ``timeout`` seconds (no speed is
    asserted: the bound only keeps a broken run from hanging)."""
    end = time.monotonic() + timeout
    n = 0
    for seg in it:
        n += 1
        if check is not None:
            check(seg)
        m = pipe.metrics()
        if cond(m):
            return m, n
        if time.monotonic() > end:
            break
    raise AssertionError(f"{what} did not happen within {timeout:.0f} s ({n} results); metrics: {pipe.metrics_json()}")
