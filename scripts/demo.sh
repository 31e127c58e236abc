#!/usr/bin/env bash
# Set up (if needed: scripts/setup.sh) and start the web app on http://127.0.0.1:7860 .
# Arguments go to demos/app.py (--host, --port, --share). GENAI_VENV names another venv.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec "${GENAI_VENV:-.venv}/bin/python" demos/app.py "$@"
