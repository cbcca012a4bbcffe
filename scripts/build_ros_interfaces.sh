#!/usr/bin/env bash
# Generate and install the vision_msgs interface package (ros2_interfaces/vision_msgs) into the
# venv, with the ROS 2 Kilted rosidl generator wheels of `pip install samstream[ros]`.
#   bash scripts/build_ros_interfaces.sh          # idempotent: a fast no-op when already installed
#   bash scripts/build_ros_interfaces.sh --force  # rebuild anyway
# Needs cmake and a C/C++ compiler (apt-get install cmake g++), Python 3.11 (the wheels are cp311).
# Nothing to do when vision_msgs already comes from a sourced ROS 2 distro.
# Environment: SAMSTREAM_VENV (default .venv next to pyproject.toml), SAMSTREAM_ROS_BUILD (build dir).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
venv=${SAMSTREAM_VENV:-$here/.venv}
py="$venv/bin/python"
src="$here/ros2_interfaces/vision_msgs"
stamp="$venv/share/vision_msgs/samstream-source.sha256"
force=0
[ "${1:-}" = "--force" ] && force=1

if [ ! -x "$py" ]; then
  echo "build_ros_interfaces: no venv at $venv: run scripts/setup.sh first" >&2
  exit 1
fi
want=$(cd "$src" && cat CMakeLists.txt package.xml msg/*.msg | sha256sum | cut -d' ' -f1)

# Where would `import vision_msgs` come from now? (a sourced distro's wins: its PYTHONPATH is first)
where=$("$py" -c 'import vision_msgs.msg as m, os; m.Detection2DArray; m.Detection3DArray; print(os.path.realpath(m.__file__))' 2>/dev/null || true)
if [ $force = 0 ] && [ -n "$where" ]; then
  case "$where" in
    "$(cd "$venv" && pwd -P)"/*)
      if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        echo "build_ros_interfaces: vision_msgs is installed and up to date ($where)"
        exit 0
      fi ;;
    *)
      echo "build_ros_interfaces: vision_msgs comes from elsewhere ($where; a sourced ROS 2 distro?): nothing to build"
      exit 0 ;;
  esac
fi

if ! "$py" -c 'import rclpy, rosidl_generator_py' >/dev/null 2>&1; then
  pyver=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  echo "build_ros_interfaces: no ROS 2 wheels in $venv (Python $pyver): install them with" \
       "\`pip install 'samstream[ros]'\` (Python 3.11 only), or source a ROS 2 distro that has vision_msgs" \
       "(apt install ros-\$ROS_DISTRO-vision-msgs)" >&2
  exit 1
fi
for tool in cmake c++; do
  if ! command -v "$tool" >/dev/null; then
    echo "build_ros_interfaces: '$tool' not found: install it (Debian/Ubuntu: apt-get install -y cmake g++)" >&2
    exit 1
  fi
done

build=${SAMSTREAM_ROS_BUILD:-$venv/.samstream-build/vision_msgs}
echo "build_ros_interfaces: building vision_msgs into $venv (about 1 minute on 2 cores)"
export PATH="$venv/bin:$PATH" VIRTUAL_ENV="$venv"
rm -rf "$build"
mkdir -p "$build"
log="$build/build.log"
if ! { cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
         -DCMAKE_PREFIX_PATH="$venv" -DCMAKE_INSTALL_PREFIX="$venv" -DPython3_EXECUTABLE="$py" &&
       cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" &&
       cmake --install "$build"; } >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  echo "build_ros_interfaces: the build failed; full log: $log" >&2
  exit 1
fi
if ! "$py" -c 'from vision_msgs.msg import Detection2DArray, Detection3DArray; Detection2DArray(); Detection3DArray()' ; then
  echo "build_ros_interfaces: built, but 'from vision_msgs.msg import Detection2DArray, Detection3DArray' fails; log: $log" >&2
  exit 1
fi
echo "$want" > "$stamp"
rm -rf "$build"
echo "build_ros_interfaces: vision_msgs installed into $venv"
