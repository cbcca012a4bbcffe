"""Launch the samstream node (package samstream_ros).

    ros2 launch samstream_ros samstream.launch.py
    ros2 launch samstream_ros samstream.launch.py image_topic:=/camera/image_raw auto_objects:=0
    ros2 launch samstream_ros samstream.launch.py params_file:=/path/to/my_params.yaml
    ros2 launch samstream_ros samstream.launch.py --show-args      # every argument, documented

Parameters come from ``params_file`` (default: the package's ``config/params.yaml``); each launch
argument below that is given on the command line overrides the same-named parameter of that file.
An argument left at its empty default leaves the file's value alone. Results are published under
``namespace`` (default ``/samstream``): ``mask``, ``mask/compressed``, ``detections`` (and ``overlay``);
with ``depth_topic`` also ``objects`` (Detection3DArray) and ``objects/points`` (PointCloud2):

    ros2 launch samstream_ros samstream.launch.py image_topic:=/camera/color/image_raw \
        depth_topic:=/camera/aligned_depth_to_color/image_raw
"""

import os

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration

PACKAGE = "samstream_ros"
EXECUTABLE = "samstream_node"

# (name, default, description). Parameter overrides default to "" = "keep the params file's value".
ARGUMENTS = [
    ("params_file", "", "YAML parameters file (default: samstream_ros/config/params.yaml)."),
    ("node_name", "samstream", "name of the node."),
    ("namespace", "/samstream", "namespace of the node and of its topics (/samstream/mask, ...)."),
    ("image_topic", "", "camera topic to segment (sensor_msgs/Image, or .../compressed); overrides the params file."),
    ("source", "", "samstream source when image_topic is empty (synthetic, a video file, a camera index)."),
    ("model", "", "classic (no weights) or an exported SAM model such as mobilesam."),
    ("encoder", "", "model-server URL that encodes the keyframes, e.g. grpc://server:9000/mobilesam (docs/scaling.md)."),
    ("prompts", "", "first-frame prompts separated by ';', e.g. 'box:100,80,300,260@1;point:400,200@2'."),
    ("auto_objects", "", "with no prompts: track this many of the largest objects on the first frame (0: none)."),
    ("qos", "", "publisher QoS: default, reliable, sensor or transient_local (optionally :DEPTH)."),
    ("publish_overlay", "", "true to also publish the bgr8 overlay topic."),
    ("depth_topic", "", "colour-aligned depth image (16UC1 mm or 32FC1 m): also publish objects (Detection3DArray) "
                        "and objects/points (PointCloud2)."),
    ("camera_info_topic", "", "CameraInfo of the depth image (default: camera_info next to depth_topic)."),
    ("depth_tolerance", "", "largest colour/depth stamp difference matched, in seconds (default 0.02)."),
    ("max_points", "", "points in objects/points at most (0: no point cloud)."),
    ("record", "", "also record the topics into this .mcap file."),
    ("log_level", "info", "node log level: debug, info, warn, error."),
]

# launch arguments that are node parameters, with the parameter's type
PARAMETER_TYPES = {
    "image_topic": str, "source": str, "model": str, "encoder": str, "prompts": str, "auto_objects": int, "qos": str,
    "publish_overlay": bool, "record": str, "depth_topic": str, "camera_info_topic": str, "depth_tolerance": float,
    "max_points": int,
}


def _typed(name: str, text: str):
    kind = PARAMETER_TYPES[name]
    if kind is bool:
        if text.strip().lower() not in ("true", "false", "1", "0"):
            raise ValueError(f"launch argument {name}:={text!r}: use true or false.")
        return text.strip().lower() in ("true", "1")
    if kind is int:
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"launch argument {name}:={text!r}: use an integer.") from None
    if kind is float:
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"launch argument {name}:={text!r}: use a number.") from None
    return text


def _node(context, *args, **kwargs):
    from ament_index_python.packages import get_package_share_directory
    from launch_ros.actions import Node

    value = {name: LaunchConfiguration(name).perform(context) for name, _, _ in ARGUMENTS}
    params_file = value["params_file"] or os.path.join(get_package_share_directory(PACKAGE), "config", "params.yaml")
    overrides = {name: _typed(name, value[name]) for name in PARAMETER_TYPES if value[name] != ""}
    return [Node(
        package=PACKAGE,
        executable=EXECUTABLE,
        name=value["node_name"],
        namespace=value["namespace"],
        parameters=[params_file, overrides],
        arguments=["--ros-args", "--log-level", value["log_level"]],
        output="screen",
        emulate_tty=True,
    )]


def generate_launch_description():
    declared = [DeclareLaunchArgument(name, default_value=default, description=text)
                for name, default, text in ARGUMENTS]
    return LaunchDescription(declared + [OpaqueFunction(function=_node)])
