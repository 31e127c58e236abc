"""Batch jobs: read from JSONL, CSV or a plain list of prompts, and checked line by line.

Every problem in the file is found before any model loads, and reported with its line
number in one :class:`BatchInputError`. A job's id names its output files, so ids are
restricted to letters, digits, ``_``, ``.`` and ``-`` (no path can be smuggled in), and
two jobs that would write the same file are refused.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..catalog import TEXT_GENERATION, UNCONDITIONAL_IMAGE, find_entry, normalize_task
from ..errors import InvalidParameterError
from ..seeding import MAX_SEED

FIELDS = ("id", "task", "model", "prompt", "parameters", "seed", "meta")
FORMATS = ("jsonl", "csv", "txt")
MAX_ID_LENGTH = 100
# Starts with a letter or digit (so never "." or ".."), then letters, digits, "_", "." or "-".
_ID_PATTERN = re.compile(r"[^\W_][\w.-]*")
# Keys a job's parameters may not hold: the batch runner passes these itself.
_RESERVED_PARAMETERS = ("prompt", "progress")
_MAX_REPORTED = 50


class BatchInputError(InvalidParameterError):
    """The jobs file has malformed lines; ``problems`` lists (line, message) for each."""

    def __init__(self, source: str, problems: list[tuple[int, str]]):
        self.source = source
        self.problems = problems
        lines = [f"  line {line}: {message}" for line, message in problems[:_MAX_REPORTED]]
        if len(problems) > _MAX_REPORTED:
            lines.append(f"  ... and {len(problems) - _MAX_REPORTED} more")
        count = len(problems)
        super().__init__(
            f"{source}: {count} malformed line{'s' if count != 1 else ''}; nothing was generated\n"
            + "\n".join(lines)
        )


@dataclass
class Job:
    """One thing to generate: a prompt for a model, with its parameters and (maybe) its seed."""

    id: str
    model: str
    task: str | None  # the full task name, or None for the model's own task
    prompt: Any  # a string, chat messages (text), or None (unconditional images)
    parameters: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None  # None: derived from the run seed and the id
    line: int = 0
    meta: Any = None

    def inputs(self) -> dict[str, Any]:
        """What the job asks for, as the manifest records it (the seed is recorded apart)."""
        return {
            "task": self.task,
            "model": self.model,
            "prompt": self.prompt,
            "parameters": self.parameters,
        }

    @property
    def group_key(self) -> tuple[str, str, str]:
        """Jobs with the same key run on one loaded model with the same settings."""
        return (self.model, self.task or "", canonical_json(self.parameters))

    def planned_files(self, audio_format: str = "wav") -> list[str]:
        """The file names this job will write (known before it runs, to catch collisions)."""
        count = self.parameters.get("num_images", 1)
        count = count if isinstance(count, int) and count > 1 else 1
        by_modality = {
            "text": [f"{self.id}.txt", f"{self.id}.json"],
            "image": [f"{self.id}.png"]
            if count == 1
            else [f"{self.id}-{i + 1}.png" for i in range(count)],
            "audio": [f"{self.id}.{audio_format}", f"{self.id}.json"],
        }
        modality = _modality(self)
        if modality in by_modality:
            return by_modality[modality]
        # Not known until the model loads: claim every name the job could use.
        return list(dict.fromkeys(name for names in by_modality.values() for name in names))


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _modality(job: Job) -> str | None:
    from ..catalog import MODALITY_OF_TASK

    return MODALITY_OF_TASK.get(job.task) if job.task else None


def parse_value(text: str) -> Any:
    """A command-line parameter value: JSON where it parses (numbers, lists, true), else the string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def check_id(job_id: Any) -> str:
    """The id, if it is safe as a file name; InvalidParameterError otherwise."""
    if isinstance(job_id, int) and not isinstance(job_id, bool):
        job_id = str(job_id)
    if not isinstance(job_id, str):
        raise InvalidParameterError(f"id={job_id!r} must be a string")
    if len(job_id) > MAX_ID_LENGTH or not _ID_PATTERN.fullmatch(job_id) or job_id.endswith("."):
        raise InvalidParameterError(
            f"id={job_id!r} is not allowed: it names the output files, so it must start with a "
            f"letter or digit and hold only letters, digits, '_', '.' and '-' (at most "
            f"{MAX_ID_LENGTH} characters, not ending in '.')"
        )
    return job_id


# --- reading files ------------------------------------------------------------------------


def _format_of(path: Path, given: str | None) -> str:
    if given:
        if given not in FORMATS:
            raise InvalidParameterError(
                f"format={given!r} is not known; use one of {', '.join(FORMATS)}"
            )
        return given
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    return "txt"


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise InvalidParameterError(f"input={str(path)!r}: no such file")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidParameterError(
            f"input={str(path)!r} is not UTF-8 text ({error}); save it as UTF-8"
        ) from error


def _rows_jsonl(text: str) -> Iterable[tuple[int, Any]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as error:
            yield number, ValueError(f"not valid JSON ({error.msg} at column {error.colno})")


def _rows_csv(text: str) -> Iterable[tuple[int, Any]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    unknown = [name for name in header if name not in FIELDS]
    if not header or unknown:
        yield (
            1,
            ValueError(
                f"the CSV header must name columns from {', '.join(FIELDS)}"
                + (f"; unknown column(s): {', '.join(map(repr, unknown))}" if unknown else "")
            ),
        )
        return
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield start, ValueError(f"not valid CSV ({error})")
            return
        if None in row:
            yield start, ValueError(f"more values than the header has columns: {row[None]!r}")
            continue
        record: dict[str, Any] = {}
        for key, value in row.items():
            if value is None or value == "":
                continue
            if key in ("parameters", "meta"):
                try:
                    value = json.loads(value)
                except json.JSONDecodeError as error:
                    yield start, ValueError(f"{key} is not valid JSON ({error.msg}): {value!r}")
                    break
            elif key == "seed":
                try:
                    value = int(value)
                except ValueError:
                    pass  # reported by the seed check with the value
            record[key] = value
        else:
            yield start, record


def _rows_txt(text: str) -> Iterable[tuple[int, Any]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            yield number, {"prompt": line.strip()}


# --- checking -----------------------------------------------------------------------------


def _check_prompt(prompt: Any, task: str | None) -> Any:
    if task == UNCONDITIONAL_IMAGE:
        if prompt not in (None, ""):
            raise InvalidParameterError(
                "an unconditional image model takes no prompt; leave it out"
            )
        return None
    if prompt is None:
        raise InvalidParameterError("missing prompt")
    if isinstance(prompt, str):
        if not prompt.strip():
            raise InvalidParameterError("prompt is empty")
        return prompt
    if task in (None, TEXT_GENERATION) and isinstance(prompt, list) and prompt:
        if all(isinstance(m, dict) and {"role", "content"} <= set(m) for m in prompt):
            return prompt
    raise InvalidParameterError(
        "prompt must be a non-empty string (or, for text, a list of chat messages with "
        "'role' and 'content')"
    )


def _make_job(raw: Any, line: int, defaults: Mapping[str, Any]) -> Job:
    if not isinstance(raw, dict):
        raise InvalidParameterError(f"a job must be a JSON object, not {type(raw).__name__}")
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise InvalidParameterError(
            f"unknown field(s) {', '.join(map(repr, unknown))}; a job has {', '.join(FIELDS)}"
        )
    job_id = check_id(raw["id"]) if raw.get("id") is not None else f"{line:05d}"

    model = raw.get("model") or defaults.get("model")
    if not model:
        raise InvalidParameterError('missing model; add "model" or pass --model')
    if not isinstance(model, str):
        raise InvalidParameterError(f"model={model!r} must be a string")

    task = raw.get("task") or defaults.get("task")
    if task is not None:
        if not isinstance(task, str):
            raise InvalidParameterError(f"task={task!r} must be a string")
        task = normalize_task(task)
    else:
        entry = find_entry(model)
        task = entry.task if entry else None

    parameters = raw.get("parameters")
    if parameters is None:
        parameters = {}
    if not isinstance(parameters, dict):
        raise InvalidParameterError(f"parameters must be a JSON object, not {parameters!r}")
    parameters = {**defaults.get("parameters", {}), **parameters}
    bad = [key for key in _RESERVED_PARAMETERS if key in parameters]
    if bad:
        raise InvalidParameterError(
            f'parameters may not hold {", ".join(map(repr, bad))}; give the prompt as "prompt"'
        )

    seed = raw.get("seed")
    if "seed" in parameters:
        inner = parameters.pop("seed")
        if seed is not None and inner is not None and inner != seed:
            raise InvalidParameterError(
                f"seed={seed!r} and parameters.seed={inner!r} disagree; give one"
            )
        seed = seed if seed is not None else inner
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED
    ):
        raise InvalidParameterError(f"seed={seed!r} must be a whole number from 0 to {MAX_SEED}")

    return Job(
        id=job_id,
        model=model,
        task=task,
        prompt=_check_prompt(raw.get("prompt"), task),
        parameters=parameters,
        seed=seed,
        line=line,
        meta=raw.get("meta"),
    )


def read_jobs(
    source: str | Path | Iterable[Mapping[str, Any]],
    *,
    model: str | None = None,
    task: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    format: str | None = None,
    audio_format: str = "wav",
) -> list[Job]:
    """The jobs of a JSONL, CSV or text file (or of a list of dicts), all checked.

    ``model``, ``task`` and ``parameters`` fill in what a job leaves out (a job's own
    parameters win key by key); a text file is one prompt per line, its ids the line
    numbers (``00001``). Raises BatchInputError listing every malformed line.
    """
    defaults: dict[str, Any] = {"model": model, "task": task, "parameters": dict(parameters or {})}
    if task is not None:
        normalize_task(task)  # a bad --task is one error, not one per line
    if isinstance(source, (str, Path)):
        path = Path(source)
        kind = _format_of(path, format)
        text = _read_text(path)
        rows = {"jsonl": _rows_jsonl, "csv": _rows_csv, "txt": _rows_txt}[kind](text)
        label = str(path)
    else:
        rows = ((number, dict(item)) for number, item in enumerate(source, start=1))
        label = "jobs"

    jobs: list[Job] = []
    problems: list[tuple[int, str]] = []
    for line, raw in rows:
        if isinstance(raw, Exception):
            problems.append((line, str(raw)))
            continue
        try:
            jobs.append(_make_job(raw, line, defaults))
        except InvalidParameterError as error:
            problems.append((line, str(error)))
    problems.extend(_collisions(jobs, audio_format))
    if problems:
        raise BatchInputError(label, sorted(problems))
    if not jobs:
        raise BatchInputError(label, [(1, "no jobs in the input")])
    return jobs


def _collisions(jobs: list[Job], audio_format: str) -> list[tuple[int, str]]:
    """Duplicate ids, and ids whose files would overwrite another job's (case-insensitively)."""
    problems = []
    ids: dict[str, Job] = {}
    files: dict[str, Job] = {}
    for job in jobs:
        key = job.id.casefold()
        if key in ids:
            first = ids[key]
            same = (
                "the same id" if first.id == job.id else f"id {first.id!r} (differs only in case)"
            )
            problems.append((job.line, f"duplicate id {job.id!r}: line {first.line} has {same}"))
            continue
        ids[key] = job
        for name in job.planned_files(audio_format):
            owner = files.setdefault(name.casefold(), job)
            if owner is not job:
                problems.append(
                    (
                        job.line,
                        f"id {job.id!r} would write {name}, which job {owner.id!r} "
                        f"(line {owner.line}) writes too; rename one",
                    )
                )
                break
    return problems
