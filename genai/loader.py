"""genai.load: a name in, a ready generator out, loaded once per process."""

from __future__ import annotations

import logging
import threading
from typing import Any

from .backends import backend_class
from .catalog import MODALITY_OF_TASK, ModelEntry, find_entry, get_entry, normalize_task
from .detect import detect_family, tasks_of
from .device import resolve_placement
from .errors import ModelNotAvailableError, WrongTaskError
from .generator import Generator
from .hub import Source, resolve_source

logger = logging.getLogger("genai")

_LOADED: dict[tuple, Generator] = {}
_LOCK = threading.RLock()


def _key(source: Source, task: str, placement, options: dict[str, Any]) -> tuple:
    return (
        source.location,
        source.kind,
        task,
        placement,
        tuple(sorted((k, repr(v)) for k, v in options.items())),
    )


def _source_for(name: str, entry: ModelEntry | None) -> tuple[Source, str, str]:
    """Resolve the name and detect its family; fall back to an offline entry if one is set."""
    source = resolve_source(name, entry)
    try:
        family, main_task = detect_family(source)
        if (
            entry is not None
            and not entry.embedded
            and source.kind == "hub"
            and ":" not in entry.hub_id
        ):
            from .hub import is_on_disk, hub_reachable, not_downloadable

            if not hub_reachable() and not is_on_disk(entry):
                raise not_downloadable(name)
    except ModelNotAvailableError:
        if entry is None or not entry.offline_fallback:
            raise
        fallback = get_entry(entry.offline_fallback)
        logger.warning(
            "%s is not on disk and the hub cannot be reached: using %s instead (%s)",
            name,
            fallback.alias,
            fallback.description,
        )
        return _source_for(fallback.alias, fallback)
    return source, family, main_task


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
    model with the same settings is loaded once per process and reused.
    """
    entry = find_entry(name)
    source, family, main_task = _source_for(name, entry)
    supported = tasks_of(family, main_task)
    wanted = normalize_task(task) if task else main_task
    if wanted not in supported:
        raise WrongTaskError(
            f"model {name!r} does {', '.join(supported)}, not {wanted}; pick a "
            f"{MODALITY_OF_TASK[wanted]} model (`genai models --task {MODALITY_OF_TASK[wanted]}`)"
        )
    placement = resolve_placement(device, dtype, device_map)
    key = _key(source, wanted, placement, options)
    with _LOCK:
        if key in _LOADED:
            return _LOADED[key]
        generator = backend_class(family)(source, family, wanted, placement, **options)
        _LOADED[key] = generator
        return generator


def forget(generator: Generator) -> None:
    with _LOCK:
        for key, value in list(_LOADED.items()):
            if value is generator:
                del _LOADED[key]


def loaded() -> list[Generator]:
    """The generators loaded in this process."""
    with _LOCK:
        return list(_LOADED.values())


def unload(name: str | None = None) -> int:
    """Unload one model (by the name it was loaded with) or, with no name, all. Returns how many."""
    count = 0
    for generator in loaded():
        if name is None or generator.name == name or generator.source.location == name:
            generator.unload()
            count += 1
    return count
