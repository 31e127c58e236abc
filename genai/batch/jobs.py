"""Batch jobs: read from JSONL, CSV or a plain list of prompts, and checked line by line.

Every problem in the file is found before any model loads, and reported with its line
number in one :class:`BatchInputError`. A job's id names its output files, so ids are
restricted to letters, digits, ``_``, ``.`` and ``-`` (no path can be smuggled in), and
two jobs that would write the same file are refused.

Text that no model can take (a lone surrogate, a NUL) is found here too, but it does not
stop the other jobs: the job keeps it as its ``problem``, a dry run lists it with its line
number, and a run records that job as failed, with the reason, and goes on.
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
from ..params import check_text, show_value
from ..seeding import MAX_SEED

FIELDS = ("id", "task", "model", "prompt", "parameters", "seed", "meta")
FORMATS = ("jsonl", "csv", "txt")
MAX_ID_LENGTH = 100
# Starts with a letter or digit (so never "." or ".."), then letters, digits, "_", "." or "-".
_ID_PATTERN = re.compile(r"[^\W_][\w.-]*")
# Keys a job's parameters may not hold: the batch runner passes these itself.
_RESERVED_PARAMETERS = ("prompt", "progress", "cancel")
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
    problem: str | None = None  # why it cannot run (invalid text); recorded as its failure

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


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


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
        raise InvalidParameterError(
            f"seed={show_value(seed)} must be a whole number from 0 to {MAX_SEED}"
        )

    prompt = _check_prompt(raw.get("prompt"), task)
    return Job(
        id=job_id,
        model=model,
        task=task,
        prompt=prompt,
        parameters=parameters,
        seed=seed,
        line=line,
        meta=raw.get("meta"),
        problem=_text_problem({"model": model, "prompt": prompt, "parameters": parameters}),
    )


def _strings(value: Any, name: str) -> Iterable[tuple[str, str]]:
    """Every string in a JSON-like value (keys too), with where it is: ``parameters.stop[0]``."""
    if isinstance(value, str):
        yield name, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield f"{name} key", str(key)
            yield from _strings(item, f"{name}.{key}")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _strings(item, f"{name}[{index}]")


def _text_problem(fields: Mapping[str, Any]) -> str | None:
    """Why some text of a job is not valid (a lone surrogate, a NUL), or None."""
    for field_name, value in fields.items():
        for name, text in _strings(value, field_name):
            try:
                check_text(text, name)
            except InvalidParameterError as error:
                return str(error)
    return None


def read_jobs(
    source: str | Path | Iterable[Mapping[str, Any]],
    *,
    model: str | None = None,
    task: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    format: str | None = None,
) -> list[Job]:
    """The jobs of a JSONL, CSV or text file (or of a list of dicts), all checked.

    ``model``, ``task`` and ``parameters`` fill in what a job leaves out (a job's own
    parameters win key by key); a text file is one prompt per line, its ids the line
    numbers (``00001``). Raises BatchInputError listing every malformed line. A job whose
    text is invalid Unicode is kept, with its ``problem`` (see the module docstring).
    """
    defaults: dict[str, Any] = {"model": model, "task": task, "parameters": dict(parameters or {})}
    problem = _text_problem(defaults)  # bad text from the command line is one error, before work
    if problem:
        raise InvalidParameterError(problem)
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
    problems.extend(_collisions(jobs))
    if problems:
        raise BatchInputError(label, sorted(problems))
    if not jobs:
        raise BatchInputError(label, [(1, "no jobs in the input")])
    return jobs


def _collisions(jobs: list[Job]) -> list[tuple[int, str]]:
    """Duplicate ids (case-insensitively), and ids whose files another job's could overwrite.

    A job writes ``id.<suffix>`` files and, for several outputs, ``id-<n>.<suffix>``; so
    ``pic-2`` is refused beside ``pic`` (whose second picture is ``pic-2.png``).
    """
    problems = []
    ids: dict[str, Job] = {}
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
    for job in ids.values():
        base, dash, number = job.id.casefold().rpartition("-")
        owner = ids.get(base) if dash and number.isdigit() else None
        if owner is not None:
            problems.append(
                (
                    job.line,
                    f"id {job.id!r} would write {job.id}.*, which job {owner.id!r} (line "
                    f"{owner.line}) writes too when it makes several outputs "
                    f"({owner.id}-<n>.*); rename one",
                )
            )
    return problems
