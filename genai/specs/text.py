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


MAX_SCHEMA_CHARS = 100_000
MAX_TOOLS = 64
MAX_LOGIT_BIAS = 300  # OpenAI's cap on logit_bias entries
MAX_TOP_LOGPROBS = 20  # OpenAI's cap


def _json_size(value, name: str) -> int:
    import json

    try:
        return len(json.dumps(value))
    except (TypeError, ValueError) as error:
        raise InvalidParameterError(f"{name} must be plain JSON data: {error}") from None


def check_json_schema(value):
    """A JSON Schema given as a dict (``{}`` allows any JSON value): plain JSON, size-capped."""
    if not isinstance(value, dict):
        raise InvalidParameterError(
            f"json_schema must be a JSON Schema as a dict (e.g. {{'type': 'object'}}), "
            f"got {type(value).__name__}"
        )
    if _json_size(value, "json_schema") > MAX_SCHEMA_CHARS:
        raise InvalidParameterError(
            f"json_schema is larger than {MAX_SCHEMA_CHARS} characters of JSON; give a smaller schema"
        )
    return value


def check_json_value(name: str, limit: int = MAX_SCHEMA_CHARS):
    """A check for parameters that hold plain JSON data (tools, response_format, tool_choice)."""

    def check(value):
        if _json_size(value, name) > limit:
            raise InvalidParameterError(f"{name} is larger than {limit} characters of JSON")
        return value

    return check


def check_logit_bias(value):
    """``{token id: bias}`` with biases in [-100, 100] (OpenAI's form; keys may be strings)."""
    if not isinstance(value, dict):
        raise InvalidParameterError(
            f"logit_bias must map token ids to biases, e.g. {{'50256': -100}}; got {type(value).__name__}"
        )
    if len(value) > MAX_LOGIT_BIAS:
        raise InvalidParameterError(
            f"logit_bias has {len(value)} entries; give at most {MAX_LOGIT_BIAS}"
        )
    from ..params import check_float

    checked: dict[int, float] = {}
    for key, bias in value.items():
        try:
            token = int(key) if not isinstance(key, bool) else None
        except (TypeError, ValueError):
            token = None
        if token is None or token < 0 or str(key).strip() != str(token):
            raise InvalidParameterError(
                f"logit_bias key {key!r} is not a token id; keys are whole numbers (token ids)"
            )
        checked[token] = check_float(f"logit_bias[{key!r}]", bias, low=-100.0, high=100.0)
    return checked


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
        # Optional features: an engine honours those named in its ``features`` and refuses the
        # others before any work (genai.backends.text). None means "off".
        Param(
            "json_schema",
            object,
            None,
            "constrain the answer to JSON valid against this JSON Schema (a dict)",
            flag="",
            check=check_json_schema,
        ),
        Param(
            "response_format",
            object,
            None,
            "OpenAI's response_format: {'type': 'text' | 'json_object' | 'json_schema', ...}",
            flag="",
            check=check_json_value("response_format"),
        ),
        Param(
            "tools",
            object,
            None,
            "functions the model may call (OpenAI's tools list)",
            flag="",
            check=check_json_value("tools"),
        ),
        Param(
            "tool_choice",
            object,
            None,
            "auto, none, required, or {'type': 'function', 'function': {'name': ...}}",
            flag="",
            check=check_json_value("tool_choice", 1_000),
        ),
        Param(
            "parallel_tool_calls",
            bool,
            None,
            "whether the model may call several tools in one answer (default true)",
            flag="",
        ),
        Param("logprobs", bool, None, "return each new token's log-probability", flag=""),
        Param(
            "top_logprobs",
            int,
            None,
            "with logprobs: also the likeliest alternatives at each position",
            low=0,
            high=MAX_TOP_LOGPROBS,
            flag="",
        ),
        Param(
            "presence_penalty",
            float,
            None,
            "-2 to 2: positive values discourage tokens that already appeared (OpenAI's)",
            low=-2.0,
            high=2.0,
        ),
        Param(
            "frequency_penalty",
            float,
            None,
            "-2 to 2: positive values discourage tokens by how often they appeared (OpenAI's)",
            low=-2.0,
            high=2.0,
        ),
        Param(
            "logit_bias",
            object,
            None,
            "{token id: bias from -100 to 100} added to those tokens' logits",
            flag="",
            check=check_logit_bias,
        ),
        Param(
            "raw",
            bool,
            None,
            "continue the prompt as given, without the chat template (a plain completion)",
        ),
    ),
)

# Parameters an engine must honour itself; it lists those it does in ``features`` and the
# front end refuses the others (the rest are turned into these by the front end: a
# response_format or tools become a json_schema, raw a plain-text request).
ENGINE_FEATURES = (
    "json_schema",
    "logprobs",
    "top_logprobs",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
)


def text_spec_for(vocab_size: int | None) -> ParamSpec:
    """TEXT_SPEC with top_k bounded by one model's vocabulary."""
    if not vocab_size:
        return TEXT_SPEC
    from dataclasses import replace

    return TEXT_SPEC.plus(replace(TEXT_SPEC["top_k"], high=vocab_size))
