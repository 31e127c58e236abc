"""Saving a job's result and making its manifest record, for one process of one run.

The result saves itself (``result.save_files(stem, suffix=...)``: every output plus its
JSON record, each file written atomically) and says what the manifest should hold about
it (``result.summary()``); this module names the stem, hashes the files and builds the
record. Any failure while saving becomes the job's failed record, never the run's end.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import InvalidParameterError
from ..seeding import derive_seed
from .jobs import Job
from .manifest import file_entry


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class Recorder:
    """Saves and records the jobs of one process of one run."""

    def __init__(self, folder: Path, run: Mapping[str, Any], rank: int, audio_format: str):
        self.folder = folder
        self.run = run
        self.rank = rank
        self.audio_suffix = f".{audio_format}"

    def seed_of(self, job: Job) -> int:
        return job.seed if job.seed is not None else derive_seed(self.run["run_seed"], job.id)

    def save(self, job: Job, result: Any, modality: str, timings: dict[str, Any]) -> dict[str, Any]:
        """Write the job's files, then return its record (a failed one if saving went wrong)."""
        try:
            started = time.perf_counter()
            stem = self.folder / job.id
            if not stem.resolve().is_relative_to(self.folder.resolve()):
                raise InvalidParameterError(f"id={job.id!r} would write outside {self.folder}")
            # --audio-format picks the audio container; every other result saves in its own.
            suffix = self.audio_suffix if modality == "audio" else None
            paths, summary = _save_files(result, stem, suffix)
            timings["save_s"] = round(time.perf_counter() - started, 4)
            outputs = [file_entry(self.folder, Path(path)) for path in paths]
        except Exception as error:
            return self.failed(job, error)
        return self._record(job, "done", outputs=outputs, timings=timings, result=summary)

    def failed(self, job: Job, error: BaseException | str, stage: str = "") -> dict[str, Any]:
        """The record of a job that failed; ``stage`` says where, when it is not generating."""
        reason = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        return self._record(job, "failed", error=f"{stage}: {reason}" if stage else reason)

    def _record(self, job: Job, status: str, **fields: Any) -> dict[str, Any]:
        record: dict[str, Any] = {
            "id": job.id,
            "status": status,
            "line": job.line,
            "inputs": job.inputs(),
            "seed": self.seed_of(job),
            "seed_from": "job" if job.seed is not None else "run",
            "outputs": fields.get("outputs", []),
            "timings": fields.get("timings", {}),
            "result": fields.get("result"),
            "error": fields.get("error"),
            "run": self.run["run"],
            "run_seed": self.run["run_seed"],
            "rank": self.rank,
            "finished_at": now(),
        }
        if job.meta is not None:
            record["meta"] = job.meta
        return record


def _save_files(result: Any, stem: Path, suffix: str | None) -> tuple[list[Path], dict[str, Any]]:
    return result.save_files(stem, suffix=suffix), result.summary()
