"""Threads for the llama.cpp engine: how many, and how idle ones wait.

ggml's CPU backend in the xllamacpp wheel runs its threads with OpenMP (libgomp): between
the steps of one token's computation they meet at OpenMP barriers, and libgomp decides how a
thread waits there from ``OMP_WAIT_POLICY`` / ``GOMP_SPINCOUNT``, read once when the library
loads (torch links the same libgomp.so.1, so whichever of the two loads first fixes it for
both). Spinning is fast on an idle machine and collapses when another process holds the
cores. Measured with ``scripts/bench_text.py --only threading`` (SmolLM2 F16, 2 threads, no
torch, tokens/s of one stream / of 4 streams; a quiet 2-core machine, then the same with 2 and
with 4 busy loops beside it, loads 1.8, 2.5-3.3 and 5.0-5.6):

                            as is          2 busy loops   4 busy loops
    libgomp's default       71.3 / 108.5   15.2 / 18.4     2.9 /  8.8
    OMP_WAIT_POLICY=PASSIVE 34.4 /  58.1   20.6 / 23.2    14.1 / 25.9
    GOMP_SPINCOUNT=1000     69.1 /  89.0   32.0 / 38.8    15.1 / 22.8
    GOMP_SPINCOUNT=10000    69.3 /  89.7   29.1 / 30.5     3.5 /  9.1
    GOMP_SPINCOUNT=30000    68.2 /  87.1   19.1 / 12.2     6.7 / 13.5

    1 thread (no barriers to wait at): 49-50 / 59-60 whatever the setting (as is)

Spinning long collapses as soon as the cores are shared; sleeping at once (PASSIVE) halves the
speed of a quiet machine, each barrier paying a wake-up. A short spin (1000) keeps the quiet
speed of one stream and holds up as well as sleeping when the CPU is shared. So genai sets
``GOMP_SPINCOUNT=1000`` when the user set neither it nor ``OMP_WAIT_POLICY``, at ``import genai``
(before torch or llama.cpp loads the runtime) and again before a GGUF loads (in case genai was
imported late). An earlier run on a machine loaded 3-10 by other work had chosen PASSIVE; it
did not try a spin as short as 1000. llama.cpp's own ``poll`` setting only applies to its
non-OpenMP thread pool; it stays 0. Threads default to the physical cores (hyper-threads slow
llama.cpp down); on a heavily shared machine 1 thread (GENAI_THREADS=1 or ``threads=1``) is
steadier still.
"""

from __future__ import annotations

import os
from typing import Any

from ..params import check_int

THREADS_ENV = "GENAI_THREADS"
OPENMP_DEFAULTS = {"GOMP_SPINCOUNT": "1000"}


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
