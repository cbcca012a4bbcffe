"""Fixtures for the ROS 2 tests: an isolated ROS domain per test and child processes that are always killed.

Every test that talks DDS gets its own ``ROS_DOMAIN_ID`` (derived from this pytest process and a
counter, so parallel runs and leftovers do not cross-talk) and keeps discovery on this machine
(``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST``). Child processes are started in their own session
and killed (SIGINT, then SIGKILL) by their process id when the test ends, pass or fail.
"""

from __future__ import annotations

import itertools
import os
import sys

import pytest

from ros2_testutil import Procs, ros2_missing

_counter = itertools.count()


@pytest.fixture(scope="session")
def ros_available():
    why = ros2_missing()
    if why:
        pytest.skip(f"no ROS 2 in this environment (Python {sys.version_info.major}.{sys.version_info.minor}): {why}")


@pytest.fixture
def ros_env(ros_available):
    """Environment for child processes: a ROS domain of this test's own, discovery on localhost."""
    domain = (os.getpid() + 7 * next(_counter)) % 100 + 1  # 1..100: valid for Fast DDS on Linux
    env = os.environ.copy()
    env.update(ROS_DOMAIN_ID=str(domain), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST", PYTHONUNBUFFERED="1",
               RCUTILS_COLORIZED_OUTPUT="0")
    env.pop("ROS_LOCALHOST_ONLY", None)
    env.pop("ROS_STATIC_PEERS", None)
    return env


@pytest.fixture
def procs(tmp_path, ros_env):
    ps = Procs(tmp_path, ros_env)
    yield ps
    ps.close()


@pytest.fixture
def plain_procs(tmp_path):
    """Child processes without a ROS domain (for the parts that need no rclpy)."""
    env = os.environ.copy()
    env["PYTHONUNBUFFERED"] = "1"
    ps = Procs(tmp_path, env)
    yield ps
    ps.close()
