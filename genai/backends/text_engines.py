"""Which engine runs a text model: the text families' entry in the registry.

``engine="auto"`` runs GGUF files on llama.cpp and everything else on transformers;
``engine="transformers"`` converts a GGUF once and runs it there. The registry's text rows
name :class:`TextModel`, which hands each load to the engine's class.
"""

from __future__ import annotations

import os
from typing import Any

from ..device import DEVICE_ENV, Placement, resolve_placement
from .text import TextGenerator, choose_engine, entry_options


def engine_class(source, options: dict[str, Any]) -> type[TextGenerator]:
    """The generator class of the engine that runs ``source`` with these load options."""
    wanted = options.get("engine") or entry_options(source).get("engine")
    if choose_engine(source, wanted) == "llama.cpp":
        from .llamacpp import LlamaCppGenerator

        return LlamaCppGenerator
    from .text_transformers import TransformersTextGenerator

    return TransformersTextGenerator


class TextModel:
    """The text families' backend: ``TextModel(source, ...)`` returns the chosen engine's
    generator (a TextGenerator)."""

    modality = TextGenerator.modality
    call_spec = TextGenerator.call_spec
    load_option_names = TextGenerator.load_option_names

    @classmethod
    def placement_for(cls, source, device, dtype, device_map, options: dict[str, Any]):
        """Where the model runs. llama.cpp on the CPU needs no torch (so none is imported:
        start-up stays short); everything else asks genai.device."""
        engine = options.get("engine") or entry_options(source).get("engine")
        cpu = device in (None, "auto", "cpu") and device_map is None
        if cpu and choose_engine(source, engine) == "llama.cpp" and not os.environ.get(DEVICE_ENV):
            return Placement("cpu", "gguf", None, "llama.cpp runs the GGUF's own types on the CPU")
        return resolve_placement(device, dtype, device_map)

    def __new__(cls, source, family, task, placement, **options: Any) -> TextGenerator:  # type: ignore[misc]
        return engine_class(source, options)(source, family, task, placement, **options)
