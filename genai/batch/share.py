"""Running one process's share of a batch: load each model once, call it, record every job.

Every job ends as exactly one line in this process's manifest part, whatever goes wrong
with it: a model that does not load, invalid text, a failed call, a file that cannot be
saved, even a record that cannot be written (then a shorter failed record is written in
its place). The other jobs go on.

Except when the run is stopped (``stop``, an Event a SIGTERM or Ctrl-C sets): the job in
flight is cancelled through its ``cancel`` event and gets no line at all, so it is not done
and the next run makes it; no further job starts.

Greedy text jobs share a call only on an engine whose batched decoding gives each prompt
the tokens a lone call gives (``batches_reproduce``): transformers does; llama.cpp decodes
a list of prompts in parallel slots that threads race for, so the batch each step decodes
changes from run to run, and with it the rounding (a greedy job came out differently in two
runs of one file, issue 20): there each job is a call of its own.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..errors import GenerationCancelled
from .jobs import Job
from .manifest import PartWriter, part_path
from .plan import chunks, groups
from .record import Recorder

logger = logging.getLogger("genai.batch")


def run_share(
    jobs: list[Job],
    folder: Path,
    run: Mapping[str, Any],
    rank: int,
    *,
    batch_size: int,
    device: str,
    dtype: Any,
    audio_format: str,
    show_progress: bool,
    label: str,
    stop: threading.Event | None = None,
) -> list[dict[str, Any]]:
    """Run this process's jobs, model by model; returns their records (as written). When
    ``stop`` is set the job in flight is cancelled and left unrecorded, and no other starts."""
    stop = stop or threading.Event()
    from ..progress import progress_bar

    recorder = Recorder(folder, run, rank, audio_format)
    records: list[dict[str, Any]] = []
    with (
        PartWriter(part_path(folder, rank)) as writer,
        progress_bar(
            total=len(jobs), desc=label, unit="job", disable=not show_progress, dynamic_ncols=True
        ) as bar,
    ):
        counts = {"failed": 0, "tokens": 0}

        def record(job: Job, entry: dict[str, Any]) -> None:
            entry = _write(writer, recorder, job, entry)
            records.append(entry)
            bar.update(1)
            counts["tokens"] += int((entry.get("result") or {}).get("completion_tokens", 0))
            if entry["status"] == "failed":
                counts["failed"] += 1
                bar.write(f"genai batch: job {job.id} failed: {entry['error']}", file=sys.stderr)
            elapsed = bar.format_dict.get("elapsed") or 0
            rate = (
                {"tok/s": f"{counts['tokens'] / elapsed:.0f}"}
                if counts["tokens"] and elapsed
                else {}
            )
            bar.set_postfix(failed=counts["failed"], **rate)

        for job in jobs:
            if job.problem:  # invalid text: fails without loading its model
                record(job, recorder.failed(job, f"InvalidParameterError: {job.problem}"))
        for _model, model_groups in groups([job for job in jobs if not job.problem]):
            if stop.is_set():
                break
            _run_model(model_groups, recorder, record, batch_size, device, dtype, stop)
    return records


def _write(writer: PartWriter, recorder: Recorder, job: Job, entry: dict[str, Any]) -> dict:
    """Write the record; if it cannot be written, write a failed one saying why (or log it)."""
    try:
        writer.write(entry)
        return entry
    except Exception as error:
        entry = recorder.failed(job, error, stage="writing its manifest line")
    try:
        writer.write(entry)
    except Exception as error:  # the disk itself refuses: the summary still counts the job
        logger.error("job %s failed and could not be recorded: %s", job.id, error)
    return entry


def batches_reproduce(generator) -> bool:
    """Whether a batched call gives each prompt exactly what a lone call gives (module doc)."""
    return bool(getattr(generator, "batch_invariant", generator.engine != "llama.cpp"))


def _run_model(
    model_groups, recorder: Recorder, record, batch_size, device, dtype, stop: threading.Event
) -> None:
    """Load one model once per task, run its groups, then unload it if this run loaded it."""
    from ..loader import load, loaded

    loaded_before = {id(g) for g in loaded()}
    used: dict[str | None, Any] = {}  # task -> generator, or the error loading it
    for group in model_groups:
        if stop.is_set():
            break
        task = group[0].task
        if task not in used:
            try:
                used[task] = load(group[0].model, task=task, device=device, dtype=dtype)
            except Exception as error:  # its jobs fail; the other models go on
                used[task] = error
        generator = used[task]
        if isinstance(generator, Exception):
            for job in group:
                record(job, recorder.failed(job, generator))
            continue
        size = batch_size if batches_reproduce(generator) else 1
        for chunk in chunks(group, generator.modality, generator.defaults, size):
            if stop.is_set():
                break
            for job, entry in generate(generator, chunk, recorder, stop):
                record(job, entry)
    for generator in {id(g): g for g in used.values() if not isinstance(g, Exception)}.values():
        if id(generator) not in loaded_before:
            generator.unload()  # make room for the next model


def generate(
    generator, chunk: list[Job], recorder: Recorder, stop: threading.Event | None = None
) -> Iterable[tuple[Job, dict]]:
    """(job, record) for each job of a chunk: in one batched call if it has several, else alone.

    Once ``stop`` is set nothing more is yielded: a job cut short by it has no record."""
    seed_of = recorder.seed_of
    stop = stop or threading.Event()
    extra = {"cancel": stop} if "cancel" in generator.call_spec else {}
    if len(chunk) > 1:
        try:
            started = time.perf_counter()
            prompts = [job.prompt for job in chunk]
            results = generator(prompts, seed=seed_of(chunk[0]), **chunk[0].parameters, **extra)
            seconds = time.perf_counter() - started
        except Exception as error:  # one bad prompt fails the call: find it by going one by one
            if stop.is_set() and isinstance(error, GenerationCancelled):
                return  # stopped: these jobs are not done, and not failed either
            logger.info(
                "batched call failed (%s); running its %d jobs one by one", error, len(chunk)
            )
        else:
            for job, result in zip(chunk, results, strict=True):
                # Greedy: the batch's seed changed nothing; the job's own seed is the one to record.
                result.seed = seed_of(job)
                timings = {
                    "generate_s": round(seconds / len(chunk), 4),
                    "batch_generate_s": round(seconds, 4),
                    "batch_size": len(chunk),
                }
                yield job, recorder.save(job, result, generator.modality, timings)
            return
    for job in chunk:
        if stop.is_set():
            return
        try:
            started = time.perf_counter()
            if job.prompt is None:
                result = generator(seed=seed_of(job), **job.parameters, **extra)
            else:
                result = generator(job.prompt, seed=seed_of(job), **job.parameters, **extra)
            seconds = time.perf_counter() - started
        except Exception as error:
            if stop.is_set() and isinstance(error, GenerationCancelled):
                return  # stopped: not done, and not failed either; the next run makes it
            yield job, recorder.failed(job, error)
            continue
        timings = {"generate_s": round(seconds, 4), "batch_size": 1}
        yield job, recorder.save(job, result, generator.modality, timings)
