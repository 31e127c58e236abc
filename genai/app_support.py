"""What a front end (the web app) asks before and after loading a model.

``availability(name)`` says whether a model can be loaded here and now, without loading
it (so a page can say "not on disk: genai pull sd-turbo" up front); ``find_loaded(name)``
returns the generator already loaded under a name, if any; ``planned_placement()`` says
where a model loaded with ``device="auto"`` would run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .catalog import find_entry
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
    from .resolve import resolve

    name = name.strip()
    if not name:
        return Availability(name, False, "no model given: pick one from the list", name)
    resolved = resolve(name)
    return Availability(name, resolved.available, resolved.message, resolved.uses)


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
