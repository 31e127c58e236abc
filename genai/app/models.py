"""Which models the app's tabs use and where each stands, asked of genai.resolve.

A slot is one kind of model the app uses (text, image, speech, audio) with the tasks it
accepts. Nothing here knows a family or a model by name: what a model can do comes from
the catalog and ``genai.resolve.resolve`` (an unconditional image model, a model standing
in for another offline), so new families appear in the tabs without special cases.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import genai

from ..catalog import (
    TEXT_GENERATION,
    TEXT_TO_AUDIO,
    TEXT_TO_IMAGE,
    TEXT_TO_SPEECH,
    UNCONDITIONAL_IMAGE,
    find_entry,
)
from ..generator import Generator
from ..resolve import Resolved, resolve

ENV_PREFIX = "GENAI_APP_"


@dataclass(frozen=True)
class Slot:
    name: str
    label: str
    modality: str  # what list_models(...) lists for its picker
    tasks: tuple[str, ...]  # the tasks a model in this slot may do, the usual one first


SLOTS = {
    "text": Slot("text", "Text model", "text", (TEXT_GENERATION,)),
    "image": Slot("image", "Image model", "image", (TEXT_TO_IMAGE, UNCONDITIONAL_IMAGE)),
    "speech": Slot("speech", "Speech model", "speech", (TEXT_TO_SPEECH,)),
    "audio": Slot("audio", "Music / sound model", "audio", (TEXT_TO_AUDIO,)),
}


def runs(name: str) -> str:
    """The model that runs when ``name`` is asked for: its offline stand-in, if one stands in."""
    try:
        return resolve(name).fallback_used or name
    except genai.GenaiError:
        return name


def resolve_defaults(
    default_models: dict[str, str] | None, served: dict[str, list[str] | None] | None = None
) -> dict[str, str]:
    """Per slot: the argument, else GENAI_APP_<SLOT>_MODEL, else the catalog default; shown
    as the model that runs (faces-64, not sd-turbo, offline). With ``served`` (a gate's
    choices per slot), a default that is not served gives way to the first served model."""
    given = default_models or {}
    unknown = set(given) - set(SLOTS)
    if unknown:
        raise ValueError(f"default_models: unknown slot(s) {sorted(unknown)}; use {list(SLOTS)}")
    defaults = {}
    for name, slot in SLOTS.items():
        chosen = str(
            given.get(name)
            or os.environ.get(f"{ENV_PREFIX}{name.upper()}_MODEL")
            or genai.default_model(slot.tasks[0])
        )
        allowed = (served or {}).get(name)
        if allowed is None:
            defaults[name] = runs(chosen)
        else:
            defaults[name] = chosen if chosen in allowed else (allowed[0] if allowed else "")
    return defaults


def figures_note(entry: Any) -> str:
    """What a catalog model takes on this machine ('~1.2 s / 64 tokens, 300 MB', as `genai
    bench` measured it) or an estimate from its size, marked so; '' for other models. Cheap:
    reads the stored figures, measures nothing."""
    from ..machine_bench import describe, figures_for

    if entry is None:
        return ""
    try:
        return describe(figures_for(entry))
    except (OSError, ValueError, genai.GenaiError):
        return ""


def model_choices(
    slot: str, extra: str | None = None, served: list[str] | None = None
) -> list[tuple[str, str]]:
    """Dropdown choices, as (label, name): the catalog models that work here (on disk, in an
    installed wheel, or downloadable now), each with its figures on this machine; a model
    that stands in for another offline says so ("faces-64 · … · stands in for sd-turbo
    (offline)") and the one it stands in for is not offered. ``served``: only these names
    (a server's). ``extra`` (a path or hub id) first."""
    if served is not None:
        choices = [(name, name) for name in served]
    else:
        rows = [
            row
            for row in genai.list_models(task=SLOTS[slot].modality)
            if row["task"] in SLOTS[slot].tasks
        ]
        found = {row["alias"]: resolve(row["alias"]) for row in rows}
        stands_in: dict[str, list[str]] = {}
        for alias, resolved in found.items():
            if resolved.fallback_used:
                stands_in.setdefault(resolved.fallback_used, []).append(alias)
        choices = []
        for row in rows:
            resolved = found[row["alias"]]
            if not resolved.available or resolved.fallback_used:
                continue  # nothing offered that does not work here
            note = f" · {where_label(resolved.message)}"
            figures = figures_note(find_entry(row["alias"]))
            note += f" · {figures}" if figures else ""
            if row["alias"] in stands_in:
                note += f" · stands in for {', '.join(stands_in[row['alias']])} (offline)"
            choices.append((f"{row['alias']} · {row['params']}{note}", row["alias"]))
    if extra and extra not in [value for _, value in choices]:
        choices.insert(0, (extra, extra))
    return choices


def where_label(message: str) -> str:
    """A short word for where a model's files are, from genai.resolve's message."""
    if "first use" in message and "hub" in message:
        return "downloads on first use"
    if "joined" in message:
        return "joined from its wheels on first use"
    return "on disk"


def entry_of(name: str | None) -> Any:
    """The catalog entry of the model that runs for ``name`` (its stand-in's, offline)."""
    if not name:
        return None
    try:
        return resolve(name).entry
    except genai.GenaiError:
        return None


def catalog_defaults(name: str | None) -> dict[str, Any]:
    """The call defaults for ``name`` (of the model standing in for it, offline), with how a
    page shows it at its best over them (a grid of faces at 2x)."""
    entry = entry_of(name)
    return {**entry.defaults, **entry.display} if entry else {}


def resolve_for(slot: str, name: str) -> Resolved:
    """What ``name`` means for a slot: its own main task when the slot takes it, else the
    slot's task (so a text model picked for images gets genai's WrongTaskError)."""
    resolved = resolve(name)
    if resolved.available and resolved.task not in SLOTS[slot].tasks:
        resolved = resolve(name, SLOTS[slot].tasks[0])
    return resolved


def call_names(slot: str, name: str | None) -> frozenset[str] | None:
    """The keywords the model's family takes (its backend's call spec), or None when it
    cannot be told without loading (a model that is not available, a backend with no spec)."""
    try:
        resolved = resolve_for(slot, (name or "").strip())
        if not resolved.available or resolved.family is None:
            return None
        spec = resolved.family.backend_class().call_spec
    except (genai.GenaiError, ImportError):
        return None
    return frozenset(spec.names) if spec.params else None


def slot_task(slot: str, name: str | None) -> str | None:
    """The task ``name`` would do in a slot, if it can be had (no loading)."""
    try:
        return resolve_for(slot, (name or "").strip()).task
    except genai.GenaiError:
        return None


def takes_prompt(task: str | None) -> bool:
    """Whether a model doing ``task`` uses a prompt (an unconditional one draws without)."""
    return task != UNCONDITIONAL_IMAGE


def find_loaded(name: str) -> Generator | None:
    """The generator loaded under ``name`` (or under the model standing in for it), if any."""
    name = name.strip()
    if not name:
        return None
    try:
        resolved = resolve(name)
    except genai.GenaiError:
        return None
    wanted = {name, resolved.uses}
    location = resolved.source.location if resolved.source else None
    local = str(Path(name).expanduser().resolve()) if resolved.entry is None else None
    for generator in genai.loaded():
        if generator.name in wanted or generator.source.location in (location, local):
            return generator
    return None


def planned_placement(device: str = "auto", dtype: str = "auto") -> str:
    """Where ``genai.load(..., device=device, dtype=dtype)`` would put a model, e.g. 'cuda:0 / float16'."""
    from ..device import resolve_placement

    return resolve_placement(device, dtype).describe()


def status_line(slot: str, name: str | None) -> str:
    """One line for the page: loaded where and by which engine, or loads on first use, or why not."""
    name = (name or "").strip()
    label = SLOTS[slot].label
    if not name:
        return f"⚠ {label}: pick a model from the list or type a hub id or a local path."
    try:
        generator = find_loaded(name)
        if generator is not None and generator.loaded:
            info = generator.info()
            instead = f" (standing in for {name})" if info["name"] != name else ""
            return (
                f"✓ {label} **{info['name']}**{instead} is loaded on "
                f"**{info['device']} / {info['dtype']}** · {info['family']} · "
                f"{info['engine']}{what_it_takes(generator.task, generator)}"
                f"{figures_suffix(resolve(name).entry)}"
            )
        resolved = resolve_for(slot, name)
        if not resolved.available:
            return (
                f"⚠ {label} **{name}** is not available: {resolved.message}"
                f"{figures_suffix(resolved.entry)}"
            )
        return (
            f"○ {label} **{name}** is not loaded yet ({resolved.message}); it loads on first "
            f"use, on **{planned_placement()}**{what_it_takes(resolved.task)}"
            f"{figures_suffix(resolved.entry)}"
        )
    except genai.GenaiError as error:
        return f"⚠ {label} **{name}**: {error}"


def figures_suffix(entry: Any) -> str:
    figures = figures_note(entry)
    return f" · on this machine: {figures}" if figures else ""


def status_of(slot: str):
    """A page callback: the status line of whatever model the slot's picker names."""

    def status(name: str) -> str:
        return status_line(slot, name)

    return status


def what_it_takes(task: str | None, generator: Generator | None = None) -> str:
    """A note when a model uses its input differently from the tab's usual model."""
    if not takes_prompt(task):
        return " · draws without a prompt: the prompt box is not used"
    if generator is not None and getattr(generator, "has_chat_template", True) is False:
        return " · a completion model: it continues your text instead of chatting"
    return ""
