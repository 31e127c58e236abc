"""Running a batch: check, plan (skip what is done), split between processes, run, merge.

``run_batch`` reads top to bottom as the order of steps across processes; planning is in
``plan``, one process's share in ``share``, saving and records in ``record``.

Seeds: a job's seed is its own ``seed``, else ``derive_seed(run_seed, id)``; either way it
is recorded, and calling the model alone with that seed makes the same output. That
holds for batched text because only greedy text jobs (temperature 0) share a batch, and
only on transformers (llama.cpp's parallel slots gave a greedy prompt other tokens in a
batch than alone, so there each job is a call of its own; see ``share``):
greedy decoding uses no random numbers, so the seed changes nothing and a job's tokens
do not depend on its batch-mates (checked token for token against lone calls on tiny
Llama, GPT-2 and T5 models and on SmolLM2-135M, float32 on CPU; in half precision on a
GPU, other batch shapes may round differently and flip a late token now and then:
``batch_size=1`` rules that out). Sampled text jobs, pictures and audio run one call per
job, seeded with the job's seed (a sampled batch draws its random numbers for all rows
at once, so no row of it could be remade alone). The image backend makes each picture
in its own pipeline call for the same reason, so grouping image jobs would not be
faster; a job's ``num_images`` pictures come from one call, seeds ``seed, seed + 1, ...``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..errors import InvalidParameterError, OutputPathError
from ..params import check_int
from ..seeding import resolve_seed
from .jobs import Job, read_jobs
from .manifest import (
    RUNS,
    append_line,
    folder_lock,
    merge,
    read_manifest,
    remove_stale_temporaries,
    run_history,
)
from .plan import dry_run as plan_dry_run
from .plan import plan
from .record import now
from .share import run_share
from .summary import BatchSummary

logger = logging.getLogger("genai.batch")

AUDIO_FORMATS = ("wav", "flac")


def _partial_state(cpu: bool):
    """accelerate's process state, made before any model loads so genai.device sees the same one."""
    from accelerate import PartialState

    return PartialState(cpu=cpu)


def run_batch(
    source: str | Path | Iterable[Mapping[str, Any]],
    output_dir: str | Path,
    *,
    model: str | None = None,
    task: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    input_format: str | None = None,
    batch_size: int = 8,
    seed: int | None = None,
    retry_failed: bool = False,
    dry_run: bool = False,
    cpu: bool = False,
    device: str = "auto",
    dtype: Any = "auto",
    audio_format: str = "wav",
    progress: bool = True,
    stop: threading.Event | None = None,
) -> BatchSummary:
    """Generate every job of ``source`` into ``output_dir``; see the module docstring for seeds.

    ``source`` is a JSONL, CSV or text file (one prompt per line), or a list of job dicts.
    ``model``/``task``/``parameters`` fill in what jobs leave out. Jobs already done (their
    record says done and their files are complete) are skipped; failed ones are redone with
    ``retry_failed``. Under ``accelerate launch`` or ``torchrun`` each process takes its
    share; ``cpu=True`` keeps every process on the CPU (gloo). Raises BatchInputError for
    malformed input and OutputPathError for an output folder that cannot be written,
    before anything is generated. A job that fails (invalid text included) is recorded as
    failed with its reason; the others go on. Setting ``stop`` (a threading.Event; `genai
    batch` sets it on SIGTERM and Ctrl-C) cancels the job in flight, which is left unrecorded
    so that the next run makes it, starts no other, and ends the run with what is done
    merged (``summary.stopped``).
    """
    batch_size = check_int("batch_size", batch_size, low=1, fix="use 1 to turn batching off")
    if seed is not None:
        resolve_seed(seed)
    if audio_format not in AUDIO_FORMATS:
        raise InvalidParameterError(
            f"audio_format={audio_format!r} is not known; use one of {', '.join(AUDIO_FORMATS)}"
        )
    jobs = read_jobs(source, model=model, task=task, parameters=parameters, format=input_format)
    folder = check_output_folder(Path(output_dir).expanduser())
    if dry_run:
        return plan_dry_run(jobs, folder, seed, batch_size, retry_failed)

    state = _partial_state(cpu)
    if state.num_processes > 1 and device == "cuda":
        device = str(state.device)  # each process its own GPU, not all on cuda:0
    started = time.perf_counter()
    main = state.is_main_process
    order = [job.id for job in jobs]
    if main:
        folder.mkdir(parents=True, exist_ok=True)
    with folder_lock(folder) if main else contextlib.nullcontext():
        if main:
            merge(folder)  # parts a killed run left behind
            removed = remove_stale_temporaries(folder)
            if removed:
                logger.warning("removed %d unfinished temporary files of a killed run", removed)
            _start_run(folder, source, jobs, seed, state.num_processes, batch_size, retry_failed)
        state.wait_for_everyone()
        run = run_history(folder)[-1]
        records = read_manifest(folder, parts=False)
        todo, skipped, not_retried = plan(jobs, records, folder, retry_failed)
        state.wait_for_everyone()  # everyone has planned before anyone writes a file

        with state.split_between_processes(todo) as share:
            mine = list(share)
        try:
            local = run_share(
                mine,
                folder,
                run,
                state.process_index,
                batch_size=batch_size,
                device=device,
                dtype=dtype,
                audio_format=audio_format,
                show_progress=progress and state.is_local_main_process,
                label=f"rank {state.process_index}/{state.num_processes}"
                if state.num_processes > 1
                else "batch",
                stop=stop,
            )
        except BaseException:
            if state.num_processes == 1:  # interrupted: what is done reaches manifest.jsonl now
                with contextlib.suppress(Exception):
                    merge(folder, order)
            raise
        state.wait_for_everyone()
        summary = BatchSummary(
            output_dir=folder,
            run=run["run"],
            run_seed=run["run_seed"],
            total=len(jobs),
            skipped=skipped,
            not_retried=not_retried,
            to_run=len(todo),
            processes=state.num_processes,
        )
        this_run = _merge_and_collect(folder, order, run["run"], local, summary) if main else local
        # Nobody leaves before the merge is done: a launcher stops every process once one exits.
        state.wait_for_everyone()
        summary.done = sum(r["status"] == "done" for r in this_run)
        summary.failed_ids = [r["id"] for r in this_run if r["status"] == "failed"]
        summary.failed = len(summary.failed_ids)
        summary.tokens = sum(
            int((r.get("result") or {}).get("completion_tokens", 0)) for r in this_run
        )
        summary.seconds = time.perf_counter() - started
        summary.stopped = stop is not None and stop.is_set()
    return summary


def check_output_folder(folder: Path) -> Path:
    """Refuse, before any work, an output folder that is a file, lies under one, or is read-only."""
    if folder.exists() and not folder.is_dir():
        raise OutputPathError(
            f"output={str(folder)!r} is a file; a batch writes a folder of outputs: give a "
            "folder name (it is created if needed)"
        )
    parent = folder
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise OutputPathError(
            f"output={str(folder)!r} cannot be made: {parent} is a file, not a folder"
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputPathError(
            f"output={str(folder)!r}: no permission to write in {parent}; choose another folder"
        )
    return folder


def _merge_and_collect(
    folder: Path, order: list[str], run: int, local: list[dict], summary: BatchSummary
) -> list[dict[str, Any]]:
    """Merge every process's part; the records of this run (those only in memory included)."""
    try:
        merged = merge(folder, order)
    except OutputPathError as error:  # the old manifest and the parts are left as they were
        summary.problems.append(str(error))
        merged = {}
    by_id = {r["id"]: r for r in merged.values() if r.get("run") == run}
    for record in local:  # a record the disk refused is still counted
        by_id.setdefault(record["id"], record)
    return list(by_id.values())


def _start_run(
    folder: Path,
    source: Any,
    jobs: list[Job],
    seed: int | None,
    processes: int,
    batch_size: int,
    retry_failed: bool,
) -> None:
    """Number this run and fix its seed: --seed, else the folder's last run seed, else a new one."""
    from .. import __version__

    history = run_history(folder)
    previous = history[-1].get("run_seed") if history else None
    run_seed = (
        seed if seed is not None else previous if previous is not None else resolve_seed(None)
    )
    if seed is not None and previous is not None and seed != previous:
        logger.warning(
            "run seed %d differs from the folder's earlier run seed %d: jobs already done keep "
            "their recorded seeds, the others get seeds from %d",
            seed,
            previous,
            seed,
        )
    append_line(
        folder / RUNS,
        {
            "run": len(history) + 1,
            "run_seed": run_seed,
            "started_at": now(),
            "input": str(source) if isinstance(source, (str, Path)) else "<jobs>",
            "jobs": len(jobs),
            "processes": processes,
            "batch_size": batch_size,
            "retry_failed": retry_failed,
            "argv": sys.argv,
            "genai_version": __version__,
        },
    )
