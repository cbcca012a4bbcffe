"""The rclpy runtime (``samstream.ros2.runtime``): lazy import, one clear error without ROS, node lifetime.

No test here imports rclpy into the pytest process: each runs a child process.
"""

from __future__ import annotations

from ros2_testutil import PY


def test_without_ros2_one_clear_error_names_both_ways(plain_procs):
    code = ("import sys; sys.modules['rclpy'] = None\n"
            "import samstream, samstream.ros2, samstream.sinks.mcap, samstream.ros2.conversions\n"
            "from samstream.cli import main\n"
            "sys.exit(main(['run', '--source', 'synthetic', '--ros2', '--max-frames', '2', '-q']))")
    p = plain_procs.start([PY, "-c", code], "no_ros")
    assert plain_procs.wait(p, 60, ok=False) == 2
    log = plain_procs.log(p)
    assert "no ROS 2 was found" in log and "source /opt/ros/$ROS_DISTRO/setup.bash" in log
    assert "pip install 'samstream[ros]'" in log and "A sourced distro wins" in log
    assert log.count("no ROS 2 was found") == 1


def test_importing_samstream_ros2_does_not_import_rclpy(plain_procs):
    code = ("import sys, samstream, samstream.ros2, samstream.sinks.mcap, samstream.ros2.conversions, "
            "samstream.ros2.qos, samstream.ros2.msgdefs, samstream.cli\n"
            "assert 'rclpy' not in sys.modules, 'rclpy imported eagerly'\nprint('LAZY OK')")
    p = plain_procs.start([PY, "-c", code], "lazy")
    plain_procs.wait(p, 60)
    assert "LAZY OK" in plain_procs.log(p)


def test_importing_samstream_and_its_sources_does_not_import_rclpy(plain_procs):
    """The ros2: prefix is registered through an entry point, loaded on first use only."""
    code = ("import sys, samstream, samstream.sources\n"
            "from samstream.sources import open_source\n"
            "import samstream.ros2.runtime, samstream.ros2.sink, samstream.ros2.control, samstream.ros2.source\n"
            "assert 'rclpy' not in sys.modules, 'rclpy imported eagerly'\n"
            "from importlib.metadata import entry_points\n"
            "eps = {e.name: e.value for e in entry_points(group='samstream.sources')}\n"
            "assert eps.get('ros2') == 'samstream.ros2.source:Ros2ImageSource', eps\n"
            "print('LAZY OK')")
    p = plain_procs.start([PY, "-c", code], "lazy_sources")
    plain_procs.wait(p, 60)
    assert "LAZY OK" in plain_procs.log(p)


def test_without_rclpy_the_runtime_and_the_ros2_source_raise_the_one_clear_error(plain_procs):
    code = ("import sys; sys.modules['rclpy'] = None\n"
            "from samstream.ros2 import Ros2NotFoundError\n"
            "from samstream.ros2.runtime import Ros2Runtime\n"
            "from samstream.sources import open_source\n"
            "for make in (lambda: Ros2Runtime(), lambda: open_source('ros2:/cam/image_raw')):\n"
            "    try:\n"
            "        make()\n"
            "    except Ros2NotFoundError as exc:\n"
            "        print('ERR', str(exc).splitlines()[0])\n"
            "        assert \"pip install 'samstream[ros]'\" in str(exc) and 'source /opt/ros' in str(exc)\n"
            "print('DONE')")
    p = plain_procs.start([PY, "-c", code], "no_rclpy")
    plain_procs.wait(p, 60)
    log = plain_procs.log(p)
    assert log.count("ERR samstream's ROS 2 features need rclpy") == 2 and "DONE" in log, log


def test_runtime_spins_callbacks_and_shuts_its_own_context_down(procs):
    code = ("import time\n"
            "from std_msgs.msg import Int32\n"
            "from samstream.ros2.runtime import Ros2Runtime\n"
            "rt = Ros2Runtime('rt_test', '/rt')\n"
            "got = []\n"
            "def boom(m):\n"
            "    got.append(m.data)\n"
            "    if m.data == 2: raise RuntimeError('callback boom')\n"
            "rt.node.create_subscription(Int32, 'n', boom, 10)\n"
            "pub = rt.node.create_publisher(Int32, 'n', 10)\n"
            "end = time.monotonic() + 20\n"
            "while pub.get_subscription_count() < 1 and time.monotonic() < end: time.sleep(0.05)\n"
            "for i in (1, 2, 3):\n"
            "    pub.publish(Int32(data=i)); time.sleep(0.2)\n"
            "end = time.monotonic() + 10\n"
            "while len(got) < 3 and time.monotonic() < end: time.sleep(0.05)\n"
            "assert got == [1, 2, 3], got\n"
            "assert rt.callback_errors == 1 and 'callback boom' in rt.errors[-1], (rt.callback_errors, rt.errors)\n"
            "assert rt.node.get_fully_qualified_name() == '/rt/rt_test'\n"
            "rt.close(); rt.close()\n"
            "assert not rt.ok() and not rt.context.ok() and not rt._spin_thread.is_alive()\n"
            "try:\n"
            "    Ros2Runtime('9bad name', '/rt')\n"
            "except ValueError as exc:\n"
            "    assert 'letters, digits' in str(exc), exc\n"
            "else:\n"
            "    raise AssertionError('a bad node name was accepted')\n"
            "print('RUNTIME OK')")
    p = procs.start([PY, "-c", code], "runtime")
    procs.wait(p, 90)
    assert "RUNTIME OK" in procs.log(p)
