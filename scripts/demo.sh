#!/usr/bin/env bash
# Set up (if needed) and start the web app on http://127.0.0.1:7860 . Arguments go to demos/app.py
# (--host, --port, --share).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python demos/app.py "$@"
