"""ament_python package samstream_ros: the samstream node, its parameters and launch file."""

import os
from glob import glob

from setuptools import find_packages, setup

package_name = "samstream_ros"
here = os.path.dirname(os.path.abspath(__file__))
# launch/ is the repository's top-level launch folder (ros2_pkg/launch links to it).
launch_dir = "launch" if os.path.isdir(os.path.join(here, "launch")) else os.path.join("..", "launch")

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
        ("share/" + package_name + "/config", glob("config/*.yaml")),
        ("share/" + package_name + "/launch", glob(os.path.join(launch_dir, "*.launch.py"))),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="samstream developers",
    maintainer_email="samstream@example.invalid",
    description="samstream as a ROS 2 node: promptable Segment-Anything masks and detections on a camera topic.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "samstream_node = samstream_ros.node:main",
        ],
    },
)
