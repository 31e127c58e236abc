"""genai.load: a name in, a ready generator out, loaded once per process."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from .device import resolve_placement
from .errors import GenaiError, UnsupportedModelError
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
        with damaged_files(resolved):
            generator = backend(
                resolved.source, resolved.family.name, resolved.task, placement, **options
            )
        _LOADED[key] = generator
        return generator


# What libraries raise when they cannot read a model's files (anything else is a bug: re-raised).
_READ_ERRORS = (OSError, ValueError, RuntimeError, KeyError, IndexError, EOFError, UnicodeError)


@contextlib.contextmanager
def damaged_files(resolved) -> Iterator[None]:
    """A library's failure to read a model's files becomes a typed error naming the files.

    Our own errors pass through; so do out-of-memory and interrupts. What is left when a
    backend's from_pretrained / torch.load / GGUF reader chokes on junk weights, a truncated
    download or a config of the wrong shape is reported as a damaged model, with the fix.
    """
    try:
        yield
    except GenaiError:
        raise
    except Exception as error:
        if (
            type(error).__name__ == "OutOfMemoryError"
            or not isinstance(error, _READ_ERRORS)
            and type(error).__name__ not in ("SafetensorError", "UnpicklingError")
        ):
            raise
        raise UnsupportedModelError(
            f"could not load {resolved.name!r} from {resolved.source.location}: "
            f"{type(error).__name__}: {str(error)[:300]}; the model files look damaged or of "
            "another kind: download them again (`genai pull`) or check the path"
        ) from error


def loaded() -> list[Generator]:
    """The generators loaded in this process."""
    with _LOCK:
        for key, generator in list(_LOADED.items()):
            if not generator.loaded:
                del _LOADED[key]
        return list(_LOADED.values())


def unload(name: str | None = None) -> int:
    """Unload one model (by the name it was loaded with) or, with no name, all. Returns how many."""
    count = 0
    for generator in loaded():
        if name is None or generator.name == name or generator.source.location == name:
            generator.unload()
            count += 1
    loaded()
    return count
