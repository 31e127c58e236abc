"""The llama.cpp engine's requests: genai's settings as llama.cpp server fields, and its
streamed answers read back into text, token counts and logprobs.

Field by field (llama.cpp's server names):
- temperature (0 = greedy), top_p, top_k, min_p 0 (llama.cpp's default 0.05 would sample
  unlike transformers), repeat_penalty over the whole context (as transformers does), seed.
- presence_penalty / frequency_penalty: llama.cpp's own, counted over the same window as
  repeat_penalty. Unlike OpenAI (tokens generated so far) llama.cpp also counts the prompt's
  tokens: measured, a presence penalty of 2 lowers "two" after "one two three one two".
- logit_bias: added to the logits before sampling (-100 bans a token, +100 forces it).
- logprobs / top_logprobs: ``n_probs`` with ``post_sampling_probs`` off, so each new token's
  log-probability comes from the model's own distribution (before temperature, penalties,
  bias and grammar), as OpenAI reports it.
- json_schema: llama.cpp's llguidance grammar for the schema, compact JSON (no free
  whitespace: a small model otherwise fills the answer with spaces). llguidance ignores a schema
  it cannot compile and then decodes unconstrained, so the schema is checked before the request
  (``jsonschema``), an answer that does not start as JSON is stopped at its first token, and
  every finished answer is validated.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import GenaiError, GenaiMemoryError, InputTooLongError, InvalidParameterError
from .text_stream import Decoded

# llguidance's options for the schema: one fixed way to write each value.
_COMPACT = {"x-guidance": {"whitespace_flexible": False}}


def body(request: Any, settings: dict[str, Any], context: int) -> dict[str, Any]:
    """The streamed llama.cpp request for one prompt."""
    fields: dict[str, Any] = {
        "max_tokens": settings["max_new_tokens"],
        "temperature": settings["temperature"],
        "top_p": settings["top_p"],
        "top_k": settings["top_k"],
        "min_p": 0.0,
        "repeat_penalty": settings["repetition_penalty"],
        "seed": settings["seed"],
        "stream": True,
        "stream_options": {"include_usage": True},
        "return_progress": True,  # chunks while the prompt is read: its size first, then cancel
    }
    for name in ("presence_penalty", "frequency_penalty"):
        if settings.get(name):
            fields[name] = settings[name]
    if (
        settings["repetition_penalty"] != 1
        or "presence_penalty" in fields
        or "frequency_penalty" in fields
    ):
        fields["repeat_last_n"] = context  # penalties look back over the whole context
    if settings.get("logit_bias"):
        fields["logit_bias"] = [
            [int(token), float(bias)] for token, bias in settings["logit_bias"].items()
        ]
    if settings.get("logprobs") or settings.get("top_logprobs"):
        fields["n_probs"] = max(1, settings.get("top_logprobs") or 0)
        fields["post_sampling_probs"] = False
    if settings.get("json_schema") is not None:  # as a grammar: the chat route drops x-guidance
        from xllamacpp import json_schema_to_grammar

        fields["grammar"] = json_schema_to_grammar({**settings["json_schema"], **_COMPACT})
    if request.messages is not None:
        fields["messages"] = request.messages  # the GGUF's own chat template applies
    else:
        fields["prompt"] = request.text
    return fields


def check_schema(schema: dict[str, Any] | None) -> None:
    """A typed error for a schema that is not a valid JSON Schema, before any work."""
    if schema is None:
        return
    try:
        import jsonschema
    except ImportError:
        return  # checked after the answer instead, which needs no jsonschema for plain JSON
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as error:
        raise InvalidParameterError(
            f"json_schema is not a valid JSON Schema: {error.message} (at "
            f"{'/'.join(map(str, error.absolute_path)) or 'the top'}); fix the schema"
        ) from error


def check_answer(text: str, schema: dict[str, Any]) -> None:
    """Raise a typed error when a finished constrained answer does not follow the schema."""
    try:
        value = json.loads(text)
    except ValueError as error:
        raise unenforced(f"the answer is not JSON ({error})") from error
    try:
        import jsonschema
    except ImportError:
        return
    problem = jsonschema.exceptions.best_match(
        jsonschema.validators.validator_for(schema)(schema).iter_errors(value)
    )
    if problem is not None:
        raise unenforced(f"the answer breaks it: {problem.message}")


def starts_json(piece: str) -> bool:
    """Whether a compact JSON value can start with this text (else no grammar held it)."""
    return piece[:1] in _JSON_STARTS


_JSON_STARTS = set('{["-0123456789tfn')


def unenforced(why: str) -> InvalidParameterError:
    return InvalidParameterError(
        f"llama.cpp could not enforce this json_schema ({why}); it uses a feature llama.cpp's "
        "grammar does not support (e.g. an unresolvable $ref or pattern): simplify the schema"
    )


def logprob_entry(item: dict[str, Any]) -> dict[str, Any]:
    """One token's llama.cpp logprobs in OpenAI's shape."""

    def one(entry: dict[str, Any]) -> dict[str, Any]:
        return {
            "token": entry.get("token", ""),
            "logprob": float(entry.get("logprob", 0.0)),
            "bytes": list(entry.get("bytes") or []),
        }

    return {**one(item), "top_logprobs": [one(t) for t in item.get("top_logprobs") or []]}


class Reader:
    """Reads one request's streamed chunks: text, sizes, finish reason, logprobs, errors."""

    def __init__(self, settings: dict[str, Any]):
        self.settings = settings
        self.wanted = settings["max_new_tokens"]
        self.top = settings.get("top_logprobs") or 0
        self.text = ""
        self.pieces = 0
        self.reason: str | None = None
        self.usage: dict[str, Any] = {}
        self.total: int | None = None  # prompt tokens, known before the prompt is read
        self.cached = 0  # of which the slot's cache held
        self.read_all = False  # the whole prompt was read
        self.logprobs: list[dict[str, Any]] | None = (
            [] if settings.get("logprobs") or self.top else None
        )
        self.error: Any = None

    def progress(self, chunk: dict[str, Any]) -> bool:
        """Note the prompt's size from a chunk; True when it is the first time."""
        progress = chunk.get("prompt_progress")
        if progress is None:
            return False
        self.read_all = int(progress.get("processed", 0)) >= int(progress["total"])
        if self.total is not None:
            return False
        self.total, self.cached = int(progress["total"]), int(progress.get("cache", 0))
        return True

    def pieces_of(self, chunk: dict[str, Any]) -> list[str]:
        """The new text in a chunk (noting usage, finish reason and logprobs)."""
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        found = []
        for choice in chunk.get("choices", []):
            self.reason = choice.get("finish_reason") or self.reason
            if self.logprobs is not None:
                for item in (choice.get("logprobs") or {}).get("content") or []:
                    entry = logprob_entry(item)
                    entry["top_logprobs"] = entry["top_logprobs"][: self.top]
                    self.logprobs.append(entry)
            piece = (choice.get("delta") or {}).get("content") or choice.get("text") or ""
            if piece:
                self.text += piece
                self.pieces += 1
                found.append(piece)
        return found

    def decoded(self) -> Decoded:
        return Decoded(
            self.text,
            "eos" if self.reason == "stop" else "length",  # stop strings are found by the caller
            self.usage.get("prompt_tokens", self.total or 0),
            self.usage.get("completion_tokens", self.pieces),
            logprobs=self.logprobs,
        )


def cut_logprobs(decoded: Decoded) -> Decoded:
    """After a stop string cut the text: keep the logprobs of the tokens that made it."""
    if decoded.logprobs is None or decoded.finish_reason != "stop":
        return decoded
    kept, length = [], 0
    for entry in decoded.logprobs:
        if length >= len(decoded.text):
            break
        kept.append(entry)
        length += len(entry["token"])
    decoded.logprobs = kept
    return decoded


def request_error(error: Any, max_new_tokens: int, context: int) -> GenaiError:
    """A typed error for what llama.cpp refused."""
    error = error if isinstance(error, dict) else {"message": str(error)}
    message = str(error.get("message", error))
    if error.get("type") == "exceed_context_size_error":
        return InputTooLongError(
            f"prompt ({error.get('n_prompt_tokens', '?')} tokens) plus max_new_tokens="
            f"{max_new_tokens} exceeds this model's context of {context} tokens; "
            "shorten the prompt or lower max_new_tokens"
        )
    if "memory" in message.lower():
        return GenaiMemoryError(f"llama.cpp ran out of memory: {message}; lower n_ctx or parallel")
    return InvalidParameterError(f"llama.cpp refused the request: {message}")
