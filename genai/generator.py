"""What every generator shares: where it came from, where it runs, and how to let it go."""

from __future__ import annotations

from typing import Any

from .device import Placement, free_memory
from .hub import Source


class Generator:
    """A loaded model, ready to be called. Subclasses load in ``__init__`` and generate in ``__call__``."""

    modality: str = ""

    def __init__(
        self, source: Source, family: str, task: str, placement: Placement, **options: Any
    ):
        self.source = source
        self.family = family
        self.task = task
        self.placement = placement
        self.options = options
        self.loaded = True

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def defaults(self) -> dict[str, Any]:
        return dict(self.source.entry.defaults) if self.source.entry else {}

    def info(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source.location,
            "family": self.family,
            "task": self.task,
            "device": self.placement.device,
            "dtype": self.placement.dtype_name,
            "device_map": self.placement.device_map,
            "loaded": self.loaded,
        }

    def _release(self) -> None:
        """Drop references to model objects; subclasses set their attributes to None."""

    def unload(self) -> None:
        """Free the model's memory; the generator cannot be called afterwards."""
        from . import loader

        self._release()
        self.loaded = False
        loader.forget(self)
        free_memory(self.placement.device)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} on {self.placement.describe()}>"
