"""``ros2_pkg/`` (ament_python package ``samstream_ros``) and ``launch/samstream.launch.py``.

* ``colcon build`` of ros2_pkg succeeds, and installs the executable, params.yaml and the launch file;
* the built node runs (started through the workspace's ``install/setup.bash``, remapped to another
  name and namespace), a separate process reads its parameters' descriptions through the node's
  parameter services and receives its mask topic, and SIGINT shuts it down cleanly;
* package.xml is a valid format-3 manifest (catkin_pkg) with the real dependencies; params.yaml and
  the node's declared parameters agree;
* the launch file is checked statically (``launch``/``launch_ros`` have no wheels): its structure with
  ``ast``, and its override logic by running it against minimal stand-ins of the launch API.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import shutil
import sys
import types
from pathlib import Path

import pytest
import yaml

from ros2_testutil import HELPERS, ROOT, ros2_missing

PKG = ROOT / "ros2_pkg"
LAUNCH = ROOT / "launch" / "samstream.launch.py"


def _node_module():
    spec = importlib.util.spec_from_file_location("samstream_ros_node", PKG / "samstream_ros" / "node.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # imports no rclpy at module level
    return mod


def _colcon() -> str:
    exe = shutil.which("colcon") or str(Path(sys.prefix) / "bin" / "colcon")
    if not Path(exe).exists():
        pytest.skip("colcon is not installed here: `pip install colcon-common-extensions` (part of samstream[ros]) "
                    "installs it on any Python; the [ros] extra was not installed")
    return exe


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """colcon build of ros2_pkg into a temporary workspace (once for this module)."""
    import subprocess

    ws = tmp_path_factory.mktemp("colcon_ws")
    cmd = [_colcon(), "--log-base", str(ws / "log"), "build", "--base-paths", str(PKG),
           "--build-base", str(ws / "build"), "--install-base", str(ws / "install")]
    r = subprocess.run(cmd, cwd=ws, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"colcon build failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    assert "Summary: 1 package finished" in r.stdout
    return ws / "install"


def test_colcon_build_installs_the_node_params_and_launch_file(built):
    share = built / "samstream_ros" / "share" / "samstream_ros"
    assert (built / "samstream_ros" / "lib" / "samstream_ros" / "samstream_node").is_file()
    assert (share / "package.xml").is_file()
    assert (share / "config" / "params.yaml").read_text() == (PKG / "config" / "params.yaml").read_text()
    assert (share / "launch" / "samstream.launch.py").read_text() == LAUNCH.read_text()
    assert (built / "samstream_ros" / "share" / "ament_index" / "resource_index" / "packages" / "samstream_ros").is_file()
    assert (built / "setup.bash").is_file()


def test_the_built_node_runs_declares_described_parameters_and_shuts_down_cleanly(built, procs, tmp_path):
    if ros2_missing():
        pytest.skip(ros2_missing())
    share = built / "samstream_ros" / "share" / "samstream_ros"
    cmd = (f"source {built}/setup.bash && exec samstream_node_placeholder --ros-args "
           f"--params-file {share}/config/params.yaml -p source:=synthetic:320x240@15 -p auto_objects:=2 "
           f"-r __node:=seg -r __ns:=/robot")
    exe = built / "samstream_ros" / "lib" / "samstream_ros" / "samstream_node"
    node = procs.start(["bash", "-c", cmd.replace("samstream_node_placeholder", str(exe))], "built_node")
    probe = procs.python(HELPERS / "ros_params_probe.py", "--node", "/robot/seg", "--mask", "/robot/mask",
                         "--out", tmp_path / "probe.json", name="probe")
    procs.wait(probe, 120)
    res = json.loads((tmp_path / "probe.json").read_text())
    params = _node_module().PARAMETERS
    for name in params:
        assert name in res["parameters"], f"parameter {name} not declared"
        assert len(res["parameters"][name]["description"]) > 20, name
    assert res["values"]["source"] == "synthetic:320x240@15" and res["values"]["auto_objects"] == 2
    assert res["values"]["model"] == "classic" and res["values"]["qos"] == "default"  # from params.yaml
    assert res["masks"] >= 3 and res["mask_size"] == [320, 240]
    procs.kill(node)  # SIGINT
    assert node.returncode == 0, procs.log(node)[-2000:]
    log = procs.log(node)
    assert "publishing /robot/mask, /robot/mask/compressed, /robot/detections" in log
    assert "shutting down" in log and "Traceback" not in log


def test_package_xml_is_a_valid_format3_manifest_with_real_dependencies():
    from catkin_pkg.package import parse_package

    pkg = parse_package(str(PKG / "package.xml"))
    pkg.validate()
    assert pkg.package_format == 3 and pkg.name == "samstream_ros"
    assert [e.content for e in pkg.exports if e.tagname == "build_type"] == ["ament_python"]
    deps = {d.name for d in pkg.exec_depends}
    assert {"rclpy", "sensor_msgs", "std_msgs", "geometry_msgs", "vision_msgs", "launch", "launch_ros"} <= deps
    assert (PKG / "resource" / "samstream_ros").is_file()
    setup = (PKG / "setup.py").read_text()
    assert "samstream_node = samstream_ros.node:main" in setup
    iface = parse_package(str(ROOT / "ros2_interfaces" / "vision_msgs" / "package.xml"))
    iface.validate()
    assert iface.name == "vision_msgs" and "rosidl_interface_packages" in [g.name for g in iface.member_of_groups]


def test_params_yaml_matches_the_declared_parameters():
    params = _node_module().PARAMETERS
    doc = yaml.safe_load((PKG / "config" / "params.yaml").read_text())
    values = doc["/**"]["ros__parameters"]
    assert set(values) == set(params)
    for name, (default, text) in params.items():
        assert type(values[name]) is type(default), name
        assert values[name] == default, f"params.yaml and the node disagree on {name}"
        assert text.strip()


def _launch_tree():
    return ast.parse(LAUNCH.read_text())


def _assigned(tree, name):
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return node.value
    raise AssertionError(f"{name} is not assigned at the top of the launch file")


def test_launch_file_structure():
    tree = _launch_tree()
    funcs = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert "generate_launch_description" in funcs
    assert ast.literal_eval(_assigned(tree, "PACKAGE")) == "samstream_ros"
    assert ast.literal_eval(_assigned(tree, "EXECUTABLE")) == "samstream_node"
    args = ast.literal_eval(_assigned(tree, "ARGUMENTS"))
    names = [a[0] for a in args]
    assert len(names) == len(set(names))
    assert {"params_file", "namespace", "node_name", "image_topic", "model"} <= set(names)
    for name, default, text in args:
        assert isinstance(default, str) and len(text) > 10, name
    types_node = _assigned(tree, "PARAMETER_TYPES")
    kinds = {ast.literal_eval(k): v.id for k, v in zip(types_node.keys, types_node.values)}
    params = _node_module().PARAMETERS
    for name, kind in kinds.items():
        assert name in names, f"{name} has a type but no launch argument"
        assert name in params, f"launch argument {name} is not a node parameter"
        assert type(params[name][0]).__name__ == kind, name
    imported = {a.name for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    assert {"LaunchDescription", "DeclareLaunchArgument", "LaunchConfiguration", "Node"} <= imported
    doc = ast.get_docstring(tree)
    assert "ros2 launch samstream_ros samstream.launch.py" in doc and "params_file" in doc


def test_launch_file_logic_with_stand_ins_for_the_launch_api(monkeypatch):
    """Run generate_launch_description and the node factory against minimal fakes of launch/launch_ros."""
    made = {}

    class Rec:
        def __init__(self, *a, **kw):
            self.a, self.kw = a, kw

    class LaunchConfiguration:
        def __init__(self, name):
            self.name = name

        def perform(self, context):
            return context[self.name]

    class Node(Rec):
        def __init__(self, **kw):
            super().__init__(**kw)
            made["node"] = kw

    fakes = {
        "launch": types.SimpleNamespace(LaunchDescription=lambda items: list(items)),
        "launch.actions": types.SimpleNamespace(DeclareLaunchArgument=Rec, OpaqueFunction=Rec),
        "launch.substitutions": types.SimpleNamespace(LaunchConfiguration=LaunchConfiguration),
        "launch_ros": types.SimpleNamespace(),
        "launch_ros.actions": types.SimpleNamespace(Node=Node),
        "ament_index_python": types.SimpleNamespace(),
        "ament_index_python.packages": types.SimpleNamespace(get_package_share_directory=lambda p: f"/opt/share/{p}"),
    }
    for name, mod in fakes.items():
        monkeypatch.setitem(sys.modules, name, mod)
    spec = importlib.util.spec_from_file_location("samstream_launch", LAUNCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    items = mod.generate_launch_description()
    declared = [i for i in items if "default_value" in i.kw]
    assert [d.a[0] for d in declared] == [a[0] for a in mod.ARGUMENTS]
    assert all(d.kw["description"] for d in declared)
    factory = items[-1].kw["function"]

    ctx = {name: default for name, default, _ in mod.ARGUMENTS}
    factory(ctx)
    n = made["node"]
    assert (n["package"], n["executable"], n["name"], n["namespace"]) == ("samstream_ros", "samstream_node",
                                                                         "samstream", "/samstream")
    assert n["parameters"] == ["/opt/share/samstream_ros/config/params.yaml", {}]  # nothing overridden
    ctx.update(params_file="/my/params.yaml", image_topic="/cam/image_raw", auto_objects="0", publish_overlay="true",
               namespace="/robot")
    factory(ctx)
    n = made["node"]
    assert n["namespace"] == "/robot"
    assert n["parameters"] == ["/my/params.yaml", {"image_topic": "/cam/image_raw", "auto_objects": 0,
                                                   "publish_overlay": True}]
    ctx["auto_objects"] = "many"
    with pytest.raises(ValueError, match="auto_objects:='many': use an integer"):
        factory(ctx)
