"""The text parameters: what a text generator's call takes, checked before any model work.

TextGenerator checks its call with TEXT_SPEC, `genai text` builds its flags from it, and
TextResult records what it marks. A catalog entry's ``defaults`` override the defaults here.
"""

from __future__ import annotations

from ..errors import InvalidParameterError
from ..params import Param, ParamSpec
from ..seeding import MAX_SEED

MAX_STOP_STRINGS = 16
MAX_STOP_CHARS = 200
MAX_SYSTEM_PROMPT_CHARS = 100_000


def check_stop(value: list[str]) -> list[str]:
    """Stop strings: a few non-empty strings (an empty one would stop before the first word)."""
    if len(value) > MAX_STOP_STRINGS:
        raise InvalidParameterError(
            f"stop has {len(value)} strings; give at most {MAX_STOP_STRINGS}"
        )
    for item in value:
        if not item:
            raise InvalidParameterError(
                "stop=[''] holds an empty string, which would end the text before it starts; "
                "give non-empty stop strings or leave stop out"
            )
        if len(item) > MAX_STOP_CHARS:
            raise InvalidParameterError(
                f"a stop string is {len(item)} characters long; keep each under {MAX_STOP_CHARS}"
            )
    return value


def check_event(value):
    """``cancel`` must be a threading.Event (anything with is_set())."""
    if not callable(getattr(value, "is_set", None)):
        from ..errors import InvalidParameterError

        raise InvalidParameterError(
            f"cancel={value!r} must be a threading.Event; set it to stop the generation"
        )
    return value


TEXT_SPEC = ParamSpec(
    "text",
    (
        Param(
            "max_new_tokens",
            int,
            128,
            "how many tokens to generate at most",
            low=1,
            high=32_768,
        ),
        Param(
            "temperature",
            float,
            0.7,
            "randomness: 0 for greedy decoding (always the likeliest token), up to 5",
            low=0.0,
            high=5.0,
        ),
        Param(
            "top_p",
            float,
            0.95,
            "nucleus sampling: keep the likeliest tokens up to this probability mass, in (0, 1]",
            low=0.0,
            low_open=True,
            high=1.0,
        ),
        Param(
            "top_k", int, 50, "keep the k likeliest tokens; 0 turns it off", low=0, high=1_000_000
        ),
        Param(
            "repetition_penalty",
            float,
            1.0,
            "above 1 discourages repeating tokens; 1 means no penalty",
            low=0.0,
            low_open=True,
            high=10.0,
        ),
        Param(
            "stop",
            list,
            None,
            "stop string (repeatable): the text ends before it",
            check=check_stop,
        ),
        Param("seed", int, None, "seed for reproducible sampling", low=0, high=MAX_SEED, flag=""),
        Param(
            "cancel",
            object,
            None,
            "a threading.Event: set it to stop decoding (GenerationCancelled is raised)",
            flag="",
            record=False,
            check=check_event,
        ),
        Param(
            "system_prompt",
            str,
            None,
            "system prompt for chat models (default: the model's own)",
            flag="--system",
            max_chars=MAX_SYSTEM_PROMPT_CHARS,
        ),
    ),
)


def text_spec_for(vocab_size: int | None) -> ParamSpec:
    """TEXT_SPEC with top_k bounded by one model's vocabulary."""
    if not vocab_size:
        return TEXT_SPEC
    from dataclasses import replace

    return TEXT_SPEC.plus(replace(TEXT_SPEC["top_k"], high=vocab_size))
