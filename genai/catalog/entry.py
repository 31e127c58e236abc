"""One curated model, as plain data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .tasks import MODALITY_OF_TASK


@dataclass(frozen=True)
class ModelEntry:
    """One curated model."""

    alias: str
    hub_id: str
    task: str
    family: str
    params: str
    license: str
    description: str
    defaults: dict[str, Any] = field(default_factory=dict)
    # Files that ship inside a PyPI wheel: "distribution:path/inside/it".
    embedded: str | None = None
    # Another alias to use, with a warning, when this one cannot be had from the hub.
    offline_fallback: str | None = None
    # Further hub repos this model needs (a vocoder, a tiny autoencoder).
    extra_repos: tuple[str, ...] = ()
    # Extra keyword arguments for the backend's loader (a GGUF file name, a subfolder).
    load_options: dict[str, Any] = field(default_factory=dict)

    @property
    def modality(self) -> str:
        return MODALITY_OF_TASK[self.task]
