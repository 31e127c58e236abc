"""The catalog: curated small public models, one plain entry each.

Data, not code: an entry says where a model lives, which backend family runs it, what it
is for, how big it is, its licence and the defaults genai uses with it. The rows live in
one file per modality (text.py, image.py, audio.py); this module looks them up.
"""

from __future__ import annotations

from ..errors import InvalidParameterError, UnknownModelError
from . import audio, image, text
from .entry import ModelEntry
from .tasks import (
    IMAGE_TO_IMAGE,
    MODALITY_OF_TASK,
    TASK_ALIASES,
    TASKS,
    TEXT_GENERATION,
    TEXT_TO_AUDIO,
    TEXT_TO_IMAGE,
    TEXT_TO_SPEECH,
    UNCONDITIONAL_IMAGE,
)

CATALOG: tuple[ModelEntry, ...] = (*text.ENTRIES, *image.ENTRIES, *audio.ENTRIES)

__all__ = [
    "CATALOG",
    "IMAGE_TO_IMAGE",
    "MODALITY_OF_TASK",
    "TASKS",
    "TASK_ALIASES",
    "TEXT_GENERATION",
    "TEXT_TO_AUDIO",
    "TEXT_TO_IMAGE",
    "TEXT_TO_SPEECH",
    "UNCONDITIONAL_IMAGE",
    "ModelEntry",
    "default_model",
    "entries",
    "find_entry",
    "get_entry",
    "normalize_task",
]

DEFAULT_MODELS = {
    TEXT_GENERATION: "smollm2-135m",
    TEXT_TO_IMAGE: "sd-turbo",
    IMAGE_TO_IMAGE: "sd-turbo",
    UNCONDITIONAL_IMAGE: "ddpm-cifar10",
    TEXT_TO_SPEECH: "mms-tts-eng",
    TEXT_TO_AUDIO: "musicgen-small",
}

_BY_ALIAS = {entry.alias: entry for entry in CATALOG}


def normalize_task(task: str) -> str:
    """Accept a full task name or a short word (text, image, speech, audio)."""
    key = task.strip().lower()
    if key in TASKS:
        return key
    if key in TASK_ALIASES:
        return TASK_ALIASES[key]
    raise InvalidParameterError(
        f"task={task!r} is not supported; genai supports: {', '.join(TASKS)}"
    )


def find_entry(name: str) -> ModelEntry | None:
    """The entry with this alias (or, failing that, this hub id), if any."""
    if name in _BY_ALIAS:
        return _BY_ALIAS[name]
    lowered = name.lower()
    for entry in CATALOG:
        if entry.alias == lowered:
            return entry
    for entry in CATALOG:
        if entry.hub_id == name and entry.embedded is None:
            return entry
    return None


def get_entry(alias: str) -> ModelEntry:
    entry = find_entry(alias)
    if entry is None:
        raise UnknownModelError(
            f"unknown model alias {alias!r}; see `genai models` for the catalog, "
            "or pass a Hugging Face model id or a local path"
        )
    return entry


def default_model(task: str) -> str:
    return DEFAULT_MODELS[normalize_task(task)]


def entries(task: str | None = None) -> list[ModelEntry]:
    if task is None:
        return list(CATALOG)
    wanted = normalize_task(task)
    modality = MODALITY_OF_TASK[wanted]
    # Image-to-image and unconditional models sit under the image modality; list them with it.
    return [
        e
        for e in CATALOG
        if e.task == wanted or (task in ("image", "audio") and e.modality == modality)
    ]
