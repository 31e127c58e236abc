"""The manifest: one JSON line per job, written only once the job's files are complete.

Each process appends to its own part, ``manifest.part-<rank>.jsonl``, one fsynced line
per job; the main process merges the parts into ``manifest.jsonl`` (rewritten atomically)
when a run starts (leftovers of a killed run) and when it ends. Later records win, so a
merge can be repeated safely; a merge that cannot read a part or write the manifest
leaves the old manifest and every part as they were. Lines are ASCII JSON (``\\u``
escapes), so any string a job holds, even invalid Unicode, can be recorded. ``runs.jsonl`` keeps one line per run: its number, seed and
settings. Every bookkeeping file ends in ``.jsonl``, a suffix no job's output can have.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..errors import GenaiError, OutputPathError
from ..files import atomic_write_text, to_jsonable

logger = logging.getLogger("genai.batch")

MANIFEST = "manifest.jsonl"
RUNS = "runs.jsonl"
LOCK = ".batch.lock"
_PART = re.compile(r"manifest\.part-(\d+)\.jsonl")


def part_path(folder: Path, rank: int) -> Path:
    return folder / f"manifest.part-{rank}.jsonl"


def part_paths(folder: Path) -> list[Path]:
    parts = [
        (int(m.group(1)), p)
        for p in folder.glob("manifest.part-*.jsonl")
        if (m := _PART.fullmatch(p.name)) and p.is_file()
    ]
    return [path for _, path in sorted(parts)]


def dumps(record: dict[str, Any]) -> str:
    """One manifest line; ASCII, so writing it cannot fail on any string (a lone surrogate)."""
    return json.dumps(to_jsonable(record), ensure_ascii=True, separators=(",", ":"))


def read_lines(path: Path) -> list[dict[str, Any]]:
    """The records of a JSONL file; a line cut short by a killed writer is skipped."""
    if not path.is_file():
        return []
    records = []
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                logger.warning(
                    "%s line %d is incomplete (a killed run); ignored", path.name, number
                )
                continue
            if isinstance(record, dict):
                records.append(record)
    return records


def append_line(path: Path, record: dict[str, Any]) -> None:
    """Append one record and fsync it, so a line on disk is a job that is really done."""
    with PartWriter(path) as writer:
        writer.write(record)


class PartWriter:
    """A JSONL file kept open for appending; each ``write`` is one whole, fsynced line or nothing.

    A write that fails (disk full, a record that cannot be made JSON) raises
    OutputPathError or the encoding error and leaves the file as it was, so the next
    write still starts a line of its own.
    """

    def __init__(self, path: Path):
        self.path = path
        try:
            trim_partial_line(path)
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        except OSError as error:
            raise OutputPathError(f"cannot write {path}: {error.strerror or error}") from error

    def write(self, record: dict[str, Any]) -> None:
        data = (dumps(record) + "\n").encode("ascii")
        end = os.lseek(self._fd, 0, os.SEEK_END)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]
            os.fsync(self._fd)
        except OSError as error:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, end)  # no half line left behind
            raise OutputPathError(f"cannot write {self.path}: {error.strerror or error}") from error

    def close(self) -> None:
        os.close(self._fd)

    def __enter__(self) -> PartWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def trim_partial_line(path: Path) -> None:
    """Cut a last line that a killed writer left without its newline, so appends stay whole lines."""
    if not path.is_file():
        return
    with path.open("rb+") as handle:
        size = handle.seek(0, os.SEEK_END)
        if size == 0:
            return
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return
        handle.seek(0)
        data = handle.read()
        keep = data.rfind(b"\n") + 1
        handle.truncate(keep)
        logger.warning("%s: dropped an incomplete last line (a killed run)", path.name)


def latest(records: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The last record of each job id."""
    by_id: dict[str, dict[str, Any]] = {}
    for record in records:
        if isinstance(record.get("id"), str):
            by_id.pop(record["id"], None)  # keep the order of the latest write
            by_id[record["id"]] = record
    return by_id


def read_manifest(folder: Path, *, parts: bool = True) -> dict[str, dict[str, Any]]:
    """The latest record of every job in ``manifest.jsonl`` (and, by default, the parts)."""
    records = read_lines(folder / MANIFEST)
    if parts:
        for path in part_paths(folder):
            records.extend(read_lines(path))
    return latest(records)


def merge(folder: Path, order: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Fold the parts into ``manifest.jsonl`` (atomic rewrite), then remove them; returns the records.

    Records follow ``order`` (the input's job order), then any others as they came.
    Safe to repeat: if it is killed between the rewrite and the removal, the next merge
    reads the same records again and keeps the same latest ones. A part that cannot be
    read, or a manifest that cannot be written, raises OutputPathError and changes
    nothing: the old manifest stays whole and every part stays for the next merge.
    No records, no manifest: it is never written empty.
    """
    parts = part_paths(folder)
    try:
        by_id = read_manifest(folder)
    except (OSError, ValueError) as error:  # unreadable; ValueError: not text at all
        raise OutputPathError(
            f"cannot merge the manifest parts in {folder} ({error}); manifest.jsonl is "
            "unchanged and the parts are kept: fix the file, then run again"
        ) from error
    if order is not None:
        rank = {job_id: index for index, job_id in enumerate(order)}
        ordered = sorted(by_id.values(), key=lambda r: rank.get(r["id"], len(rank)))
    else:
        ordered = list(by_id.values())
    if ordered and (parts or order is not None):
        atomic_write_text(folder / MANIFEST, "".join(dumps(r) + "\n" for r in ordered))
    for path in parts:
        path.unlink(missing_ok=True)
    return {r["id"]: r for r in ordered}


def file_entry(folder: Path, path: Path) -> dict[str, Any]:
    """A manifest entry for one output file: its path in the folder, size and SHA-256."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {
        "path": path.relative_to(folder).as_posix(),
        "bytes": path.stat().st_size,
        "sha256": digest.hexdigest(),
    }


def outputs_complete(folder: Path, record: dict[str, Any]) -> bool:
    """Every file the record lists is there with the size it had when it was recorded."""
    outputs = record.get("outputs")
    if not isinstance(outputs, list) or not outputs:
        return False
    for entry in outputs:
        try:
            path = folder / entry["path"]
            if not path.is_file() or path.stat().st_size != entry["bytes"]:
                return False
        except (KeyError, TypeError, OSError):
            return False
    return True


def remove_stale_temporaries(folder: Path) -> int:
    """Delete the temporary files a killed run left behind (atomic writes name them ``.name.*.tmp``)."""
    count = 0
    for path in folder.glob(".*.tmp"):
        if path.is_file():
            path.unlink(missing_ok=True)
            count += 1
    return count


def run_history(folder: Path) -> list[dict[str, Any]]:
    return read_lines(folder / RUNS)


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Refuse a second batch run writing to the same folder at the same time (POSIX only)."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; run one batch per folder
        yield
        return
    handle = (folder / LOCK).open("a")
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            raise GenaiError(
                f"another batch run is writing to {folder}; wait for it to end or use another "
                "output folder"
            ) from error
        yield
    finally:
        handle.close()
