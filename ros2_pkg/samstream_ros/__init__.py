"""samstream_ros: the ROS 2 node wrapping samstream's Pipeline and ROS 2 code (samstream.ros2)."""
