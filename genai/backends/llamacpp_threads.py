"""Threads for the llama.cpp engine: how many, and how idle ones wait.

ggml's CPU backend in the xllamacpp wheel runs its threads with OpenMP (libgomp): between
the steps of one token's computation they meet at OpenMP barriers, and libgomp decides how a
thread waits there from ``OMP_WAIT_POLICY`` / ``GOMP_SPINCOUNT``, read once when the library
loads (torch links the same libgomp.so.1, so whichever of the two loads first fixes it for
both). Spinning is fast on an idle machine and collapses when another process holds the
cores. Measured with scripts/bench_text.py --threading (see the numbers there):
PLACEHOLDER
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
