"""genai.load: a name in, a ready generator out, loaded once per process."""

from __future__ import annotations

import threading
from typing import Any

from . import lifecycle
from .device import resolve_placement
from .errors import unreadable_files
from .generator import Generator
from .resolve import resolve, warn_fallback

_LOADED: dict[tuple, Generator] = {}
_LOCK = threading.RLock()


def _key(source, task: str, placement, options: dict[str, Any]) -> tuple:
    return (
        source.location,
        source.kind,
        task,
        placement,
        tuple(sorted((k, repr(v)) for k, v in options.items())),
    )


def load(
    name: str,
    *,
    task: str | None = None,
    device: str = "auto",
    dtype: Any = "auto",
    device_map: str | dict | None = None,
    **options: Any,
) -> Generator:
    """Load a model by catalog alias, Hugging Face id, local folder or checkpoint file.

    ``task`` checks that the model can do what you want (an image model asked for text
    raises WrongTaskError). ``device``/``dtype`` default to the best for this machine (see
    genai.device); ``device_map="auto"`` spreads a large model over devices. The same
    model with the same settings is loaded once per process and reused. Other keywords are
    the family's load options (or call parameters to use as defaults); unknown ones raise
    InvalidParameterError naming the nearest valid one.
    """
    resolved = resolve(name, task).check()
    warn_fallback(resolved)
    backend = resolved.family.backend_class()
    # A backend that needs no torch (llama.cpp on the CPU) says where it runs without it.
    placement_for = getattr(backend, "placement_for", None)
    if placement_for is not None:
        placement = placement_for(resolved.source, device, dtype, device_map, options)
    else:
        placement = resolve_placement(device, dtype, device_map)
    key = _key(resolved.source, resolved.task, placement, options)
    with _LOCK:
        generator = _LOADED.get(key)
        if generator is not None and generator.loaded:
            return generator
        with unreadable_files(resolved.name, resolved.source.location):
            generator = backend(
                resolved.source, resolved.family.name, resolved.task, placement, **options
            )
        _LOADED[key] = generator
        return generator


def loaded() -> list[Generator]:
    """The generators loaded in this process."""
    with _LOCK:
        for key, generator in list(_LOADED.items()):
            if not generator.loaded:
                del _LOADED[key]
        return list(_LOADED.values())


def unload(name: str | None = None, *, timeout: float = lifecycle.EXIT_TIMEOUT) -> int:
    """Unload one model (by the name it was loaded with) or, with no name, all. Returns how many.

    Calls running on them are told to stop and waited for up to ``timeout`` seconds in all
    (see Generator.unload); their memory is freed once they have ended.
    """
    chosen = [
        generator
        for generator in loaded()
        if name is None or generator.name == name or generator.source.location == name
    ]
    count = lifecycle.retire(chosen, timeout)
    loaded()
    return count
