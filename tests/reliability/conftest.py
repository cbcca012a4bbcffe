"""Fixtures of the reliability tests: child processes (own session, killed at teardown) with this
checkout on PYTHONPATH; for ROS 2, a ROS domain of the test's own with discovery on localhost."""

from __future__ import annotations

import itertools
import os

import pytest
from relhelpers import child_env, ros_domain_procs
from ros2_testutil import Procs

_counter = itertools.count()


@pytest.fixture
def procs(tmp_path):
    ps = Procs(tmp_path, child_env())
    yield ps
    ps.close()


@pytest.fixture
def ros_procs(tmp_path):
    ps = ros_domain_procs(tmp_path, (os.getpid() + 11 * next(_counter)) % 100 + 101)  # 101..200: apart from tests/ros2's 1..100
    yield ps
    ps.close()
