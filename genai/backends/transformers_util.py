"""What every transformers-based backend does the same way: from_pretrained keywords, placement.

location, keywords = pretrained_args(generator)        # path or repo id, local_files_only...
model = AutoModel.from_pretrained(location, **keywords, **model_keywords(generator))
model = place(generator, model)                         # on its device, in eval mode

or, for a processor (tokenizer) and its model from one place, all of that in one call:

processor, model = load_pretrained(generator, AutoProcessor, AutoModel)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..generator import Generator
from ..hub import hub_errors, local_files_only


def offline_for(location: str) -> bool:
    """``local_files_only`` for one location: a local folder never asks the hub (nor probes it)."""
    return True if Path(location).expanduser().exists() else local_files_only()


def pretrained_args(
    generator: Generator, location: str | None = None, *, trust_remote_code: bool = False
) -> tuple[str, dict[str, Any]]:
    """The path or repo id to pass to from_pretrained, with the keywords every call needs."""
    location = location or generator.source.location
    keywords: dict[str, Any] = {"local_files_only": offline_for(location)}
    if trust_remote_code:
        keywords["trust_remote_code"] = True
    return location, keywords


def model_keywords(generator: Generator, *, with_dtype: bool = True) -> dict[str, Any]:
    """dtype and, when asked for at load, accelerate's device_map with its memory limits."""
    keywords: dict[str, Any] = {"dtype": generator.placement.dtype} if with_dtype else {}
    if generator.placement.device_map is not None:
        keywords["device_map"] = generator.placement.device_map
        for option in ("max_memory", "offload_folder"):
            if option in generator.options:
                keywords[option] = generator.options[option]
    return keywords


def place(generator: Generator, model: Any, *, cast: bool = False):
    """Put a loaded model on the generator's device (unless a device_map placed it) in eval mode."""
    if generator.placement.device_map is None:
        if cast:
            model = model.to(generator.placement.device, generator.placement.dtype)
        else:
            model = model.to(generator.placement.device)
    return model.eval()


def load_pretrained(
    generator: Generator,
    processor_class: Any,
    model_class: Any,
    location: str | None = None,
    *,
    trust_remote_code: bool = False,
) -> tuple[Any, Any]:
    """``(processor, model)`` read from one location, hub failures as genai errors, the model placed."""
    location, keywords = pretrained_args(generator, location, trust_remote_code=trust_remote_code)
    with hub_errors(generator.name):
        processor = processor_class.from_pretrained(location, **keywords)
        model = model_class.from_pretrained(location, **keywords, **model_keywords(generator))
    return processor, place(generator, model)
