"""Threads for the llama.cpp engine: how many, and how idle ones wait.

ggml's CPU backend in the xllamacpp wheel runs its threads with OpenMP (libgomp): between
the steps of one token's computation they meet at OpenMP barriers, and libgomp decides how a
thread waits there from ``OMP_WAIT_POLICY`` / ``GOMP_SPINCOUNT``, read once when the library
loads (torch links the same libgomp.so.1, so whichever of the two loads first fixes it for
both). Spinning is fast on an idle machine and collapses when another process holds the
cores. Measured with ``scripts/bench_text.py --only threading`` (SmolLM2 F16, tokens/s of one
stream and of 4 streams; a 2-core machine shared with other work, load 3-10, so compare
within a line group only):

    2 threads, no torch, machine as is:  libgomp default 2.1 / 3.5    PASSIVE 14.4 / 38.4
                                         GOMP_SPINCOUNT=10000 2.5 / 5.2
    2 threads, no torch, 2 busy loops:   libgomp default 0.4 / 1.0    PASSIVE 17.4 / 23.0
                                         GOMP_SPINCOUNT=10000 1.8 / 4.9
    2 threads, torch loaded first:       default 19.3 / 49.8 (as is), 17.0 / 18.3 (busy)
                                         PASSIVE 22.0 / 25.6 (as is), 10.6 / 26.0 (busy)
    1 thread (no barriers to wait at):   46-50 / 56-57 whatever the setting (as is)

Spinning threads collapse as soon as the two cores are shared (0.4 tok/s); sleeping ones hold.
torch's own copy of libgomp, loaded first, spins less by default, which is why a process with
torch held up before. So genai sets ``OMP_WAIT_POLICY=PASSIVE`` when the user set neither it nor
``GOMP_SPINCOUNT``, at ``import genai`` (before torch or llama.cpp loads the runtime) and again
before a GGUF loads (in case genai was imported late). llama.cpp's own ``poll`` setting only
applies to its non-OpenMP thread pool; it stays 0. Threads default to the physical cores
(hyper-threads slow llama.cpp down); on a machine as busy as this one 1 thread was faster
still, which GENAI_THREADS=1 or ``threads=1`` gives.
"""

from __future__ import annotations

import os
from typing import Any

from ..params import check_int

THREADS_ENV = "GENAI_THREADS"
OPENMP_DEFAULTS = {"OMP_WAIT_POLICY": "PASSIVE"}


def default_threads() -> int:
    """GENAI_THREADS, else the machine's physical cores (hyper-threads slow llama.cpp down)."""
    if os.environ.get(THREADS_ENV):
        return check_int(THREADS_ENV, _as_int(os.environ[THREADS_ENV]), low=1, high=512)
    try:
        import psutil

        cores = psutil.cpu_count(logical=False)
    except ImportError:
        cores = None
    return cores or os.cpu_count() or 1


def _as_int(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        return text


def prepare_openmp() -> None:
    """Set genai's OpenMP waiting unless the user chose one; effective only before the
    OpenMP runtime loads (``import genai`` calls it; so does loading a GGUF)."""
    if any(name in os.environ for name in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")):
        return  # the user's explicit choice stands
    for name, value in OPENMP_DEFAULTS.items():
        os.environ[name] = value


prepare_openmp()  # on import: ``import genai`` imports this module first
