"""What every result shares, and atomic file writes (a file is either whole or absent)."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write to a temporary file beside ``path``, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def to_jsonable(value: Any) -> Any:
    """Parameters as plain JSON (paths and tensors become strings, tuples lists)."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


@dataclass
class Result:
    """Fields every result has: which model, with which parameters and seed, how long."""

    model: str
    parameters: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def metadata(self) -> dict[str, Any]:
        """The record saved beside every output: enough to make it again."""
        return to_jsonable(
            {
                "model": self.model,
                "seed": self.seed,
                "parameters": self.parameters,
                "timings": self.timings,
            }
        )

    def save_metadata(self, path: str | os.PathLike) -> Path:
        return atomic_write_text(
            path, json.dumps(self.metadata(), indent=2, ensure_ascii=False) + "\n"
        )
