#!/usr/bin/env bash
# Install everything samstream needs into ./.venv (idempotent; safe to re-run).
#   bash scripts/setup.sh            # system packages (when root) + venv + samstream[all]
# Environment:
#   SAMSTREAM_VENV   venv folder (default: .venv next to this repo's pyproject.toml)
#   SAMSTREAM_EXTRAS pip extras to install (default: all; `all` or `serve` also makes .venv-serve,
#                    the model server's own venv, see docs/scaling.md)
#   SAMSTREAM_SERVE_VENV  that venv's folder (default: .venv-serve next to the main venv)
#   TORCH_SPEC       torch requirement installed before the extras (default: torch==2.13.0).
#                    Users elsewhere: install a CPU torch first, e.g. from PyTorch's CPU wheel
#                    index; an installed torch is kept.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
venv=${SAMSTREAM_VENV:-$here/.venv}
extras=${SAMSTREAM_EXTRAS:-all}
torch_spec=${TORCH_SPEC:-torch==2.13.0}

# System packages: cmake/g++ (ROS 2 interface generation), chromium (browser tests).
apt_pkgs=(cmake g++ chromium)
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: apt-get install ${missing[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: note: missing system packages ${missing[*]} (install them with your package manager for ROS/browser tests)" >&2
  fi
fi

if [ ! -x "$venv/bin/python" ]; then
  echo "setup: creating $venv"
  python3 -m venv "$venv"
fi
py="$venv/bin/python"
"$py" -m pip install -q --upgrade pip
if ! "$py" -c "import torch" 2>/dev/null; then
  echo "setup: installing $torch_spec"
  "$py" -m pip install -q "$torch_spec"
fi
echo "setup: pip install -e .[$extras]"
"$py" -m pip install -q -e "$here[$extras]"

# The model server (`samstream serve`): kserve pins protobuf/pandas/fastapi differently from the
# main venv, so it gets its own, .venv-serve next to the main one, with samstream's core deps.
if [ "$extras" = all ] || [[ ",$extras," == *",serve,"* ]]; then
  serve_venv=${SAMSTREAM_SERVE_VENV:-$(dirname "$venv")/.venv-serve}
  if [ ! -x "$serve_venv/bin/python" ]; then
    echo "setup: creating $serve_venv (samstream serve)"
    python3 -m venv "$serve_venv"
  fi
  "$serve_venv/bin/python" -m pip install -q --upgrade pip
  echo "setup: $serve_venv: pip install -e .[serve]"
  "$serve_venv/bin/python" -m pip install -q -e "$here[serve]"
fi

# ROS 2 interfaces: generate vision_msgs into the venv with the [ros] wheels (a no-op when done).
if "$py" -c 'import rclpy' >/dev/null 2>&1; then
  if command -v cmake >/dev/null && command -v c++ >/dev/null; then
    bash "$here/scripts/build_ros_interfaces.sh"
  else
    echo "setup: note: cmake/g++ not found, so vision_msgs (ROS 2 detections topic) is not built;" \
         "install them (apt-get install -y cmake g++) and run scripts/build_ros_interfaces.sh" >&2
  fi
fi
echo "setup: done ($("$py" -c 'import samstream; print("samstream", samstream.__version__)'))"
