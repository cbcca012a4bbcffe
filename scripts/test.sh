#!/usr/bin/env bash
# Run the test suite; "no tests collected" (pytest exit 5) counts as a failure.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
py=${SAMSTREAM_VENV:-$here/.venv}/bin/python
cd "$here"
mkdir -p artifacts
"$py" -m pytest -q -ra "$@"
rc=$?
if [ $rc -eq 5 ]; then
  echo "test: pytest collected no tests: that is a failure of the suite" >&2
  exit 1
fi
exit $rc
