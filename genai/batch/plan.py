"""Planning a run: which jobs to skip, in what order the rest run, and how they share calls.

Jobs already done (same inputs, files complete) are skipped; failed ones are left alone
unless retried. The rest are grouped by model, then by settings, in input order within,
so each model loads once. A dry run stops here: it checks the models (found, right task)
and the jobs' text without loading or generating anything.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..catalog import MODALITY_OF_TASK, find_entry
from ..errors import GenaiError
from ..files import to_jsonable
from .jobs import Job
from .manifest import outputs_complete, read_manifest, run_history
from .summary import BatchSummary

logger = logging.getLogger("genai.batch")


def same_inputs(job: Job, record: Mapping[str, Any]) -> bool:
    """The record was made from exactly this job (and, if the job fixes its seed, that seed)."""
    wanted = json.loads(json.dumps(to_jsonable(job.inputs())))
    if record.get("inputs") != wanted:
        return False
    return job.seed is None or record.get("seed") == job.seed


def plan(
    jobs: list[Job], records: Mapping[str, dict], folder: Path, retry_failed: bool
) -> tuple[list[Job], int, int]:
    """The jobs to run (grouped by model, then settings, input order within), skipped, not retried."""
    todo: list[Job] = []
    skipped = not_retried = 0
    for job in jobs:
        record = records.get(job.id)
        if record is not None and same_inputs(job, record):
            if record.get("status") == "done" and outputs_complete(folder, record):
                skipped += 1
                continue
            if record.get("status") == "failed" and not retry_failed:
                not_retried += 1
                continue
        elif record is not None:
            logger.warning("job %s changed since it was recorded: running it again", job.id)
        todo.append(job)
    first_model: dict[tuple, int] = {}
    first_group: dict[tuple, int] = {}
    for index, job in enumerate(todo):
        first_model.setdefault(job.group_key[:1], index)
        first_group.setdefault(job.group_key, index)
    order = {id(job): index for index, job in enumerate(todo)}
    todo.sort(key=lambda j: (first_model[j.group_key[:1]], first_group[j.group_key], order[id(j)]))
    return todo, skipped, not_retried


def _is_greedy(parameters: Mapping[str, Any], defaults: Mapping[str, Any]) -> bool:
    temperature = parameters.get("temperature", defaults.get("temperature"))
    return isinstance(temperature, (int, float)) and temperature == 0


def _prompt_length(prompt: Any) -> int:
    if isinstance(prompt, str):
        return len(prompt)
    return sum(len(str(m.get("content", ""))) for m in prompt or [])


def chunks(
    jobs: list[Job], modality: str | None, defaults: Mapping, batch_size: int
) -> list[list[Job]]:
    """Micro-batches: greedy text jobs together (similar lengths side by side), the rest alone."""
    if modality == "text" and batch_size > 1 and _is_greedy(jobs[0].parameters, defaults):
        ordered = sorted(jobs, key=lambda j: _prompt_length(j.prompt))  # less padding
        return [ordered[i : i + batch_size] for i in range(0, len(ordered), batch_size)]
    return [[job] for job in jobs]


def groups(jobs: list[Job]) -> list[tuple[str, list[list[Job]]]]:
    """[(model, [jobs of one task and setting, ...]), ...] in the planned order."""
    by_model: dict[str, dict[tuple, list[Job]]] = {}
    for job in jobs:
        by_model.setdefault(job.model, {}).setdefault(job.group_key, []).append(job)
    return [(model, list(groups.values())) for model, groups in by_model.items()]


def dry_run(
    jobs: list[Job], folder: Path, seed: int | None, batch_size: int, retry_failed: bool
) -> BatchSummary:
    """Check the jobs' text and the models (found, right task) without loading or generating."""
    records = read_manifest(folder) if folder.is_dir() else {}
    todo, skipped, not_retried = plan(jobs, records, folder, retry_failed)
    history = run_history(folder) if folder.is_dir() else []
    summary = BatchSummary(
        output_dir=folder,
        run=len(history) + 1,
        run_seed=seed if seed is not None else (history[-1]["run_seed"] if history else -1),
        total=len(jobs),
        skipped=skipped,
        not_retried=not_retried,
        to_run=len(todo),
        dry_run=True,
    )
    for job in todo:
        if job.problem:
            summary.problems.append(f"line {job.line}: job {job.id!r} would fail: {job.problem}")
    for model, model_groups in groups([job for job in todo if not job.problem]):
        entry = find_entry(model)
        defaults = entry.defaults if entry else {}
        tasks: dict[str | None, str | None] = {}  # the job's task -> the task it will run
        batched: dict[str | None, bool] = {}  # whether that task's calls may batch jobs
        calls = 0
        for group in model_groups:
            task = group[0].task
            if task not in tasks:
                problem, tasks[task], batched[task] = _inspect_model(model, task)
                if problem:
                    count = sum(len(g) for g in model_groups if g[0].task == task)
                    summary.problems.append(f"{model}: {problem} ({count} jobs would fail)")
            size = batch_size if batched[task] else 1
            calls += len(chunks(group, MODALITY_OF_TASK.get(tasks[task] or ""), defaults, size))
        count = sum(len(g) for g in model_groups)
        kinds = ", ".join(sorted({t or "unknown task" for t in tasks.values()}))
        summary.plan.append(
            f"{model} ({kinds}): {count} jobs in {calls} call{'s' if calls != 1 else ''}"
        )
    return summary


def _inspect_model(name: str, task: str | None) -> tuple[str | None, str | None, bool]:
    """(why ``name`` cannot run ``task`` or None, the task it would run, whether its calls may
    batch jobs: not on llama.cpp, see share.batches_reproduce); reads configs, loads no weights."""
    from ..resolve import resolve

    try:
        resolved = resolve(name, task)
    except GenaiError as error:
        return str(error), task, True
    if not resolved.available:
        return resolved.message, task, True
    batched = True
    if MODALITY_OF_TASK.get(resolved.task or "") == "text":
        from ..backends.text import choose_engine, entry_options

        try:
            engine = choose_engine(resolved.source, entry_options(resolved.source).get("engine"))
            batched = engine != "llama.cpp"
        except GenaiError:
            pass
    return None, resolved.task, batched
