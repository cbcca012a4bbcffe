"""Fixtures of the reliability tests: child processes (own session, killed at teardown) with this
checkout on PYTHONPATH; for ROS 2, a ROS domain of the test's own with discovery on localhost."""

from __future__ import annotations

import itertools
import os
import sys

import pytest
from relhelpers import child_env
from ros2_testutil import Procs, ros2_missing

_counter = itertools.count()


@pytest.fixture
def procs(tmp_path):
    ps = Procs(tmp_path, child_env())
    yield ps
    ps.close()


@pytest.fixture
def ros_procs(tmp_path):
    why = ros2_missing()
    if why:
        pytest.skip(f"no ROS 2 in this environment (Python {sys.version_info.major}.{sys.version_info.minor}): {why}")
    domain = (os.getpid() + 11 * next(_counter)) % 100 + 101  # 101..200: apart from tests/ros2's 1..100
    env = child_env(ROS_DOMAIN_ID=str(domain), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST", RCUTILS_COLORIZED_OUTPUT="0")
    env.pop("ROS_LOCALHOST_ONLY", None)
    env.pop("ROS_STATIC_PEERS", None)
    ps = Procs(tmp_path, env)
    yield ps
    ps.close()
