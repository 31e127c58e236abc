"""What every result shares (the file helpers it saves with are in genai.files)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from ..files import atomic_write_bytes, to_jsonable

# Timing keys every result uses (seconds): ``load_s`` (the model's load, 0 when it was already
# loaded), ``generate_s`` (the generation itself), ``total_s`` (the whole call). A modality may
# add its own (``first_token_s``, ``save_s``), never rename these.
TIMING_KEYS = ("load_s", "generate_s", "total_s")


@dataclass
class Result:
    """Fields every result has: which model, with which parameters and seed, how long.

    ``model`` is the name asked for (catalog alias, hub id or path as given); ``source`` is
    where it came from, safe to share (alias, hub id or file name, never a local folder
    path); ``engine`` the library that ran it.
    """

    model: str
    parameters: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    timings: dict[str, float] = field(default_factory=dict)
    source: str = ""
    engine: str = ""
    # generator.provenance(): model, source, family, engine, device, dtype, weights fingerprint.
    origin: dict[str, Any] = field(default_factory=dict)

    # The suffix ``save_files`` uses when the caller names no format.
    default_suffix: ClassVar[str] = ".json"

    def metadata(self) -> dict[str, Any]:
        """The record saved beside every output: enough to make it again, with the provenance
        record (docs/provenance.md) under "provenance". No local paths: outputs are shared."""
        from .. import provenance

        record = to_jsonable(
            {
                "model": provenance.shared_model_name(self.model, self.source),
                "source": self.source,
                "engine": self.engine,
                "seed": self.seed,
                "parameters": self.parameters,
                "timings": self.timings,
            }
        )
        record[provenance.KEY] = provenance.build_record(self)
        return record

    def attributes(self, *names: str) -> dict[str, Any]:
        """These attributes by name, in this order: a subclass's own part of ``metadata()``."""
        return {name: getattr(self, name) for name in names}

    def metadata_bytes(self) -> bytes:
        """The JSON record saved beside the output (``metadata()`` as UTF-8 JSON)."""
        return (json.dumps(self.metadata(), indent=2, ensure_ascii=False) + "\n").encode("utf-8")

    def save_metadata(self, path: str | os.PathLike, *, overwrite: bool = True) -> Path:
        return atomic_write_bytes(path, self.metadata_bytes(), overwrite=overwrite)

    def save_files(self, stem: str | os.PathLike, *, suffix: str | None = None) -> list[Path]:
        """Write every output of this result as ``stem`` + suffix (``stem-2`` ... for several)
        with its JSON record, and return every file written. Batch runs call this."""
        raise NotImplementedError

    def summary(self) -> dict[str, Any]:
        """A few facts about the output for a batch manifest line (counts, duration)."""
        return {}
