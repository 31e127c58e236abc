#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
status=0
.venv/bin/python -m pytest "$@" || status=$?
# pytest exits 5 when no test was collected (e.g. a -k that matches nothing): not a failure.
if [ "$status" = 5 ]; then
  echo "no tests collected"
  exit 0
fi
exit "$status"
