"""scripts/setup.sh: a second run only checks (and says so, timed); --check installs nothing
and names what is missing; apt waits for a package lock another program holds, saying for
what, instead of stopping at once."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SETUP = ROOT / "scripts" / "setup.sh"


def run_setup(*args: str, env: dict[str, str] | None = None, timeout: int = 300):
    return subprocess.run(
        ["bash", str(SETUP), *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_the_script_parses():
    done = subprocess.run(["bash", "-n", str(SETUP)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_a_ready_venv_is_only_checked(tmp_path):
    """This test's own environment has everything: the check passes, says so with its time,
    and installs nothing (--check never does)."""
    done = run_setup("--check", env={"GENAI_VENV": sys.prefix})
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[-1].startswith(f"setup: {sys.prefix} is ready (checked in "), lines
    assert lines[-1].endswith(" s)")


def test_a_missing_venv_is_named_and_nothing_is_installed(tmp_path):
    empty = tmp_path / "no-venv"
    done = run_setup("--check", env={"GENAI_VENV": str(empty)})
    assert done.returncode == 1
    assert f"setup: {empty} is not ready: no {empty}" in done.stdout, done.stdout
    assert not empty.exists()


def test_an_unknown_option_is_refused():
    done = run_setup("--tset")
    assert done.returncode == 2 and "unknown option --tset" in done.stderr


def hold_lock(path: str, seconds: float, held: threading.Event) -> None:
    """Hold ``path`` the way apt and dpkg do (an fcntl write lock) for ``seconds``."""
    with open(path, "r+") as handle:
        fcntl.lockf(handle, fcntl.LOCK_EX)
        held.set()
        time.sleep(seconds)
        fcntl.lockf(handle, fcntl.LOCK_UN)


def call_setup_function(function: str, *arguments: str, wait: int) -> subprocess.CompletedProcess:
    script = f'source "{SETUP}"; GENAI_APT_WAIT={wait}; APT_WAIT={wait}; {function} {" ".join(arguments)}'
    return subprocess.run(
        ["bash", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


needs_root_apt = pytest.mark.skipif(
    os.geteuid() != 0 or not Path("/var/lib/dpkg/lock-frontend").exists(),
    reason="holding apt's locks needs root on a Debian system",
)


@needs_root_apt
@pytest.mark.slow
def test_installing_waits_for_the_dpkg_lock_another_program_holds():
    """While another program holds dpkg's lock, set-up waits (apt's DPkg::Lock::Timeout)
    instead of failing with "Could not get lock"; it goes on once the lock is free. The
    package asked for is one that is installed already, so nothing changes."""
    held = threading.Event()
    holder = threading.Thread(
        target=hold_lock, args=("/var/lib/dpkg/lock-frontend", 8, held), daemon=True
    )
    holder.start()
    held.wait(10)
    started = time.monotonic()
    done = call_setup_function("apt_install", "coreutils", wait=120)
    waited = time.monotonic() - started
    holder.join()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "apt waits up to 120 s if another package manager holds the dpkg lock" in done.stdout
    assert "Could not get lock" not in done.stderr or "Waiting for cache lock" in done.stderr
    assert waited >= 5  # it did wait for the holder (which let go after 8 s)


@needs_root_apt
@pytest.mark.slow
def test_updating_the_lists_waits_for_their_lock_and_says_who_holds_it():
    held = threading.Event()
    holder = threading.Thread(
        target=hold_lock, args=("/var/lib/apt/lists/lock", 12, held), daemon=True
    )
    holder.start()
    held.wait(10)
    done = call_setup_function("apt_update", wait=240)
    holder.join()
    said = done.stdout + done.stderr
    assert "setup: waiting for the package lists lock (held by process" in said, said
    # After the wait apt-get update ran; offline it fails on the network, never on the lock.
    assert "Could not get lock" not in done.stderr, said
