"""Request bodies of the OpenAI endpoints genai serves, checked before any model work.

Each body is a pydantic model that keeps unknown fields aside (``model_extra``) so that
:meth:`Body.refuse_extras` can answer them one by one: OpenAI parameters genai cannot honour
(``logprobs``, ``tools``...) get a 400 naming them unless they hold their neutral value
(``logprobs: false``), a misspelt one gets a 400 with the nearest valid name. Every string
in a body is checked for invalid Unicode (lone surrogates, NUL) at this boundary.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..errors import InvalidParameterError
from ..params import check_text, nearest
from ..seeding import resolve_seed
from .errors import bad_parameter

# OpenAI's voice names: unmodified clients send one of them; they get the model's default voice.
OPENAI_VOICES = (
    "alloy", "ash", "ballad", "cedar", "coral", "echo", "fable", "marin", "nova", "onyx",
    "sage", "shimmer", "verse",
)  # fmt: skip


class Body(BaseModel):
    """A request body: strict types, unknown fields kept aside for ``refuse_extras``."""

    model_config = ConfigDict(strict=True, extra="allow")

    # OpenAI parameters genai does not honour, with the values that ask for nothing.
    unsupported: ClassVar[dict[str, tuple[Any, ...]]] = {}
    # Fields that describe the caller, not the output (accepted, recorded nowhere).
    informational: ClassVar[tuple[str, ...]] = ("user", "metadata", "store")

    @model_validator(mode="before")
    @classmethod
    def _valid_unicode(cls, data: Any) -> Any:
        _check_strings(data, "")
        return data

    def refuse_extras(self) -> None:
        """400 for unknown or unsupported fields, and for a seed genai cannot use."""
        seed = getattr(self, "seed", None)
        if seed is not None:
            try:
                resolve_seed(seed)
            except InvalidParameterError as error:
                raise bad_parameter("seed", str(error)) from None
        for name, value in (self.model_extra or {}).items():
            if name in self.informational:
                continue
            if name in self.unsupported:
                if value in self.unsupported[name]:
                    continue
                raise bad_parameter(
                    name,
                    f"{name}={_short(value)} is not supported by genai's server; leave it out",
                    code="unsupported_parameter",
                )
            valid = [*type(self).model_fields, *self.unsupported]
            guess = nearest(name, valid)
            hint = f"; did you mean {guess}?" if guess else ""
            raise bad_parameter(name, f"unknown parameter {name!r}{hint}", "unknown_parameter")


def _check_strings(value: Any, where: str) -> None:
    """Lone surrogates and NUL anywhere in a body are refused, naming the field."""
    if isinstance(value, str):
        try:
            check_text(value, where or "body")
        except InvalidParameterError as error:
            raise bad_parameter(where or "body", str(error)) from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key, where)
            _check_strings(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_strings(item, f"{where}[{index}]")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --- text -----------------------------------------------------------------------------------

_TEXT_UNSUPPORTED: dict[str, tuple[Any, ...]] = {
    "logprobs": (None, False, 0),
    "top_logprobs": (None, 0),
    "logit_bias": (None, {}),
    "presence_penalty": (None, 0, 0.0),
    "frequency_penalty": (None, 0, 0.0),
    "tools": (None, []),
    "tool_choice": (None, "none", "auto"),
    "functions": (None, []),
    "function_call": (None, "none", "auto"),
    "parallel_tool_calls": (None, True, False),
    "response_format": (None, {"type": "text"}),
    "modalities": (None, ["text"]),
    "audio": (None,),
    "prediction": (None,),
    "reasoning_effort": (None,),
    "service_tier": (None, "auto", "default"),
    "web_search_options": (None,),
    "verbosity": (None,),
    "best_of": (None, 1),
    "echo": (None, False),
    "suffix": (None, ""),
}


class StreamOptions(Body):
    include_usage: bool = False
    unsupported: ClassVar[dict[str, tuple[Any, ...]]] = {"include_obfuscation": (None, False)}


class Sampling(Body):
    """What chat and plain completions share."""

    model: str
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float | None = None
    top_p: float | None = None
    stop: str | list[str] | None = None
    seed: int | None = None
    n: int = Field(1, ge=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    # Extensions (as vLLM and llama.cpp's server take them): passed to genai as they are.
    top_k: int | None = None
    repetition_penalty: float | None = None

    unsupported: ClassVar[dict[str, tuple[Any, ...]]] = _TEXT_UNSUPPORTED

    def generation_parameters(self) -> dict[str, Any]:
        """genai's text keywords for this request (seed handled per choice by the caller)."""
        if (
            self.max_tokens is not None
            and self.max_completion_tokens is not None
            and self.max_tokens != self.max_completion_tokens
        ):
            raise bad_parameter(
                "max_tokens",
                "give max_completion_tokens or max_tokens (an older name for it), not both",
            )
        stop = self.stop
        if stop is not None and not isinstance(stop, str) and not stop:
            stop = None
        chosen = {
            "max_new_tokens": self.max_completion_tokens or self.max_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "stop": stop,
            "top_k": self.top_k,
            "repetition_penalty": self.repetition_penalty,
        }
        return {name: value for name, value in chosen.items() if value is not None}

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)

    def check(self, max_n: int) -> None:
        self.refuse_extras()
        if self.stream_options is not None:
            self.stream_options.refuse_extras()
            if not self.stream:
                raise bad_parameter(
                    "stream_options", "stream_options is only allowed with stream=true"
                )
        if self.n > max_n:
            raise bad_parameter("n", f"n={self.n} is above this server's limit of {max_n}")


class TextPart(Body):
    type: Literal["text"]
    text: str


class ChatMessage(Body):
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart] | None = None
    name: str | None = None

    unsupported: ClassVar[dict[str, tuple[Any, ...]]] = {
        "tool_calls": (None, []),
        "function_call": (None,),
        "refusal": (None,),
        "audio": (None,),
    }

    def as_genai(self) -> dict[str, str]:
        """genai's message: ``developer`` is OpenAI's newer name for ``system``."""
        content = self.content
        if isinstance(content, list):
            content = "".join(part.text for part in content)
        role = "system" if self.role == "developer" else self.role
        return {"role": role, "content": content or ""}


class ChatRequest(Sampling):
    messages: list[ChatMessage] = Field(min_length=1)

    def check(self, max_n: int) -> None:
        super().check(max_n)
        for message in self.messages:
            message.refuse_extras()


class CompletionRequest(Sampling):
    prompt: str | list[str]

    def prompts(self) -> list[str]:
        prompts = [self.prompt] if isinstance(self.prompt, str) else list(self.prompt)
        if not prompts:
            raise bad_parameter("prompt", "prompt is an empty list; give at least one prompt")
        return prompts


# --- images ---------------------------------------------------------------------------------


class ImageRequest(Body):
    model: str
    prompt: str = ""
    n: int = Field(1, ge=1)
    size: str | None = None
    response_format: Literal["b64_json", "url"] = "b64_json"
    # Extensions: genai's own parameters.
    seed: int | None = None
    negative_prompt: str | None = None
    steps: int | None = None
    num_inference_steps: int | None = None
    guidance_scale: float | None = None

    unsupported: ClassVar[dict[str, tuple[Any, ...]]] = {
        "quality": (None, "auto", "standard"),
        "style": (None,),
        "background": (None, "auto"),
        "output_format": (None, "png"),
        "output_compression": (None,),
        "moderation": (None, "auto"),
        "partial_images": (None, 0),
        "stream": (None, False),
    }

    def size_pixels(self, max_side: int) -> tuple[int, int] | None:
        """(width, height) from "WxH", or None for the model's own size ("auto" or absent)."""
        if self.size is None or self.size == "auto":
            return None
        parts = self.size.lower().split("x")
        if len(parts) != 2 or not all(p.isdigit() and 0 < len(p) <= 5 for p in parts):
            raise bad_parameter(
                "size", f"size={self.size!r} must be WIDTHxHEIGHT in pixels, such as '512x512'"
            )
        width, height = (int(p) for p in parts)
        if max(width, height) > max_side:
            raise bad_parameter(
                "size", f"size={self.size!r} is above this server's limit of {max_side} px a side"
            )
        return width, height

    def check(self, max_n: int) -> None:
        self.refuse_extras()
        if self.n > max_n:
            raise bad_parameter("n", f"n={self.n} is above this server's limit of {max_n}")
        if self.steps is not None and self.num_inference_steps is not None:
            raise bad_parameter("steps", "give steps or num_inference_steps (the same), not both")


# --- audio ----------------------------------------------------------------------------------


class SpeechRequest(Body):
    model: str
    input: str
    voice: str | None = None
    speed: float = 1.0
    response_format: str = "mp3"
    seed: int | None = None  # extension

    unsupported: ClassVar[dict[str, tuple[Any, ...]]] = {
        "instructions": (None, ""),
        "stream_format": (None, "audio"),
    }


class AudioRequest(Body):
    """``/v1/audio/generations``, genai's extension for music and sound from a description."""

    model: str
    prompt: str
    duration: float | None = None
    response_format: str = "wav"
    seed: int | None = None
    num_inference_steps: int | None = None
    guidance_scale: float | None = None
    negative_prompt: str | None = None
