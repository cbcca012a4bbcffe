"""Hypothesis settings of the fuzz tests: deterministic (``derandomize``: the same examples on every
run, so CI cannot flake on a new random find), no example database on disk, no deadline (2 shared
cores). ``SAMSTREAM_FUZZ_EXAMPLES`` scales the example counts (relhelpers.examples) for a longer run.
``ros_procs``: child processes in a ROS domain of the test's own (skips without ROS 2)."""

from __future__ import annotations

import itertools
import os

import pytest
from hypothesis import HealthCheck, settings
from relhelpers import ros_domain_procs

settings.register_profile("samstream", derandomize=True, database=None, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                 HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture])
settings.load_profile("samstream")

_counter = itertools.count()


@pytest.fixture
def ros_procs(tmp_path):
    ps = ros_domain_procs(tmp_path, (os.getpid() + 13 * next(_counter)) % 30 + 201)  # 201..230: apart from the other ROS tests
    yield ps
    ps.close()
