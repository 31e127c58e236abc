"""What suits a model on the page: the examples it is offered with, and its controls' bounds.

Examples come from the catalog entry of the model that runs (a stand-in's own, offline:
faces-64 gets seeds and an interpolation strip, not prompts); a model outside the catalog
gets its kind's (a completion model: beginnings to continue; a chat model: questions).
Bounds come from the model's own call spec (a 64x64 GAN resizes to at most 1024, not
8192) and, for text, its context length (read from a loaded model or a GGUF header).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import genai

from ..catalog import text as text_catalog
from ..catalog.image import PROMPT_EXAMPLES
from ..params import ParamSpec
from .models import entry_of, find_loaded, resolve_for, slot_task, takes_prompt

SPEECH_EXAMPLES = (
    "Hello! This voice runs entirely on this computer.",
    "The quick brown fox jumps over the lazy dog.",
)
# Draws without a prompt: example settings instead (a seed; a walk between two seeds).
SEED_EXAMPLES = ({"seed": 7}, {"seed": 3, "interpolate_to": 11, "frames": 8})


def is_completion_model(name: str | None) -> bool:
    """A base model that continues text (no chat): its catalog entry says so, or, loaded,
    it has no chat template."""
    entry = entry_of(name)
    if entry is not None:
        return entry.completion
    generator = find_loaded(name or "")
    return generator is not None and getattr(generator, "has_chat_template", True) is False


def examples_for(slot: str, name: str | None) -> list[Any]:
    """The examples the page offers for the model ``name`` in a slot."""
    entry = entry_of(name)
    if entry is not None and entry.examples:
        return list(entry.examples)
    if slot == "text":
        completion = is_completion_model(name)
        return list(text_catalog.COMPLETION_EXAMPLES if completion else text_catalog.CHAT_EXAMPLES)
    if slot == "image":
        return list(PROMPT_EXAMPLES if takes_prompt(slot_task(slot, name)) else SEED_EXAMPLES)
    if slot == "speech":
        return list(SPEECH_EXAMPLES)
    return ["calm piano with soft drums"]


def call_spec_of(slot: str, name: str | None) -> ParamSpec | None:
    """The model's own call spec (its backend's), known without loading; None if not."""
    generator = find_loaded(name or "")
    if generator is not None:
        return generator.call_spec
    try:
        resolved = resolve_for(slot, (name or "").strip())
        if resolved.available and resolved.family is not None:
            spec = resolved.family.backend_class().call_spec
            return spec if spec.params else None
    except (genai.GenaiError, ImportError):
        pass
    return None


def can_walk(name: str | None) -> bool:
    """Whether an image model walks between two seeds (its backend has ``interpolate``)."""
    try:
        resolved = resolve_for("image", (name or "").strip())
        return resolved.available and hasattr(resolved.family.backend_class(), "interpolate")
    except (genai.GenaiError, ImportError):
        return False


def context_length(name: str | None) -> int | None:
    """A text model's context (tokens): the loaded model's, else its GGUF header's."""
    generator = find_loaded(name or "")
    if generator is not None and getattr(generator, "context_length", None):
        return int(generator.context_length)
    try:
        resolved = resolve_for("text", (name or "").strip())
    except genai.GenaiError:
        return None
    source = resolved.source
    if source is None or source.kind != "file" or not source.location.endswith(".gguf"):
        return None
    path = Path(source.location)
    return gguf_context(str(path), path.stat().st_mtime) if path.is_file() else None


@functools.lru_cache(maxsize=32)
def gguf_context(path: str, mtime: float) -> int | None:
    """The context llama.cpp gives a GGUF file: its header's, up to the engine's default cap
    (read once per file and version)."""
    from ..backends.llamacpp import DEFAULT_MAX_CONTEXT
    from ..backends.text_gguf import model_facts, read_metadata

    try:
        found = model_facts(read_metadata(path)).get("context_length")
    except genai.GenaiError:
        return None
    return min(int(found), DEFAULT_MAX_CONTEXT) if isinstance(found, int) else None


def bounds(slot: str, name: str | None, param: str, low: float, high: float) -> tuple[float, float]:
    """A control's range: the page's own (``low``..``high``) within the model's limits."""
    spec = call_spec_of(slot, name)
    if spec is not None and param in spec:
        found = spec[param]
        low = max(low, found.low) if found.low is not None and low > 0 else low
        high = min(high, found.high) if found.high is not None else high
    if slot == "text" and param == "max_new_tokens":
        context = context_length(name)
        high = min(high, context) if context else high
    return low, high
