"""Batch generation: a file of jobs in, a folder of outputs and a manifest out, resumable.

    from genai.batch import run_batch
    summary = run_batch("jobs.jsonl", "out", batch_size=16, seed=1)
    print(summary.describe())

The same function runs behind ``genai batch`` and ``scripts/batch_generate.py`` (start that
one with ``accelerate launch`` or ``torchrun`` to share the jobs between processes).
Modules, in the order a run uses them: ``jobs`` (reading and checking input), ``runner``
(``run_batch``: the steps across processes), ``plan`` (what to skip, in what order, the dry
run), ``share`` (one process's jobs: load, call), ``record`` (saving a result, its record),
``manifest`` (the record files, merging), ``summary`` (what a run did).
"""

from __future__ import annotations

from .jobs import BatchInputError, Job, read_jobs
from .manifest import MANIFEST, RUNS, read_manifest
from .runner import run_batch
from .summary import BatchSummary

__all__ = [
    "MANIFEST",
    "RUNS",
    "BatchInputError",
    "BatchSummary",
    "Job",
    "read_jobs",
    "read_manifest",
    "run_batch",
]
