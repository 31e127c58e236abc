"""genai: small public generative models for text, images and audio behind one interface.

    >>> import genai
    >>> gen = genai.load("smollm2-135m")
    >>> print(gen("What is the capital of France?").text)

Heavy libraries (torch, transformers, diffusers) are imported only when a model loads.
"""

from __future__ import annotations

from typing import Any

from . import lifecycle as lifecycle

# First: sets how idle OpenMP threads wait, before torch or llama.cpp loads OpenMP.
from .backends import llamacpp_threads as _openmp  # noqa: F401
from .catalog import CATALOG, TASKS, ModelEntry, default_model
from .errors import (
    GenaiError,
    GenaiMemoryError,
    InvalidParameterError,
    MissingDependencyError,
    ModelNotAvailableError,
    UnknownModelError,
    UnsupportedModelError,
    WrongTaskError,
)
from .loader import load, loaded, unload
from .results import Result
from .results.image import read_image_parameters as read_image_parameters

__version__ = "0.1.0"

__all__ = [
    "CATALOG",
    "TASKS",
    "GenaiError",
    "GenaiMemoryError",
    "InvalidParameterError",
    "MissingDependencyError",
    "ModelEntry",
    "ModelNotAvailableError",
    "Result",
    "UnknownModelError",
    "UnsupportedModelError",
    "WrongTaskError",
    "generate",
    "list_models",
    "load",
    "loaded",
    "pull",
    "unload",
    "TextResult",
    "ImageResult",
    "AudioResult",
]


def list_models(task: str | None = None) -> list[dict[str, Any]]:
    """The catalog (optionally one task or modality), each row saying whether it is on disk."""
    from .catalog import entries
    from .hub import is_on_disk

    return [
        {
            "alias": e.alias,
            "hub_id": e.hub_id,
            "task": e.task,
            "family": e.family,
            "params": e.params,
            "license": e.license,
            "description": e.description,
            "defaults": dict(e.defaults),
            "on_disk": is_on_disk(e),
        }
        for e in entries(task)
    ]


def generate(
    prompt: Any = None, *, model: str | None = None, task: str = "text", **parameters: Any
):
    """One call from a prompt to a result: loads ``model`` (default: the task's catalog default)."""
    from .params import check_model_name, check_prompt

    if model is not None:
        check_model_name(model)  # H5a: '' is an error, never the default model
    generator = load(model or default_model(task), task=None if model else task)
    if prompt is None:
        import inspect  # H5a: a generator that needs a prompt gets a typed error, not TypeError

        first = next(iter(inspect.signature(generator).parameters.values()), None)
        if first is not None and first.default is inspect.Parameter.empty and first.kind < 2:
            check_prompt(prompt)
        return generator(**parameters)
    return generator(prompt, **parameters)


def pull(name: str) -> list[str]:
    """Download a model ahead of time into the Hugging Face cache; returns the local paths."""
    from .catalog import find_entry
    from .hub import pull as hub_pull
    from .params import check_model_name

    check_model_name(name)  # H5a: '' names no model

    return hub_pull(name, find_entry(name))


def __getattr__(name: str) -> Any:
    if name in ("TextResult", "ImageResult", "AudioResult"):
        from . import results

        return getattr(results, name)
    raise AttributeError(f"module 'genai' has no attribute {name!r}")
