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
    # For a model its own library downloads (a torchaudio bundle): the files that library
    # keeps in torch.hub's cache, so genai can tell whether it works offline.
    cache_files: tuple[str, ...] = ()
    # Extra keyword arguments for the backend's loader (a GGUF file name, a subfolder).
    load_options: dict[str, Any] = field(default_factory=dict)
    # A text model's sampling for long outputs (a story of a hundred words or more), where
    # its ``defaults`` (tuned for short answers) would loop: merged over ``defaults``.
    long_output: dict[str, Any] = field(default_factory=dict)
    # How a page shows the model at its best, over ``defaults``: pictures per call and, for
    # a model that resizes its small pictures, a display size and a crisp filter (a grid of
    # 64x64 faces at 2x).
    display: dict[str, Any] = field(default_factory=dict)
    # True for a base model that continues text (no chat): offered with completion prompts.
    completion: bool = False
    # Inputs that show the model at its best (prompts, or for a model without a prompt the
    # settings of an example, e.g. {"seed": 7}); front ends offer them as its examples.
    examples: tuple[Any, ...] = ()

    @property
    def modality(self) -> str:
        return MODALITY_OF_TASK[self.task]

    def sampling(self, *, long: bool = False) -> dict[str, Any]:
        """The recommended call settings: ``defaults``, with ``long_output`` over them for a
        long text."""
        return {**self.defaults, **(self.long_output if long else {})}
