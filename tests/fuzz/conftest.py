"""Hypothesis settings of the fuzz tests: deterministic (``derandomize``: the same examples on every
run, so CI cannot flake on a new random find), no example database on disk, no deadline (2 shared
cores). ``SAMSTREAM_FUZZ_EXAMPLES`` scales the example counts (relhelpers.examples) for a longer run."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile("samstream", derandomize=True, database=None, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                 HealthCheck.filter_too_much])
settings.load_profile("samstream")

