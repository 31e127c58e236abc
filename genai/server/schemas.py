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
                check_informational(name, value)
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


MAX_USER_CHARS = 256
MAX_METADATA = (16, 64, 512)  # OpenAI's: pairs, key characters, value characters


def check_informational(name: str, value: Any) -> None:
    """``user`` a string, ``metadata`` OpenAI's map of strings, ``store`` true or false:
    accepted (recorded nowhere) when they have OpenAI's types and sizes."""
    if value is None:
        return
    if name == "user" and not (isinstance(value, str) and len(value) <= MAX_USER_CHARS):
        raise bad_parameter("user", f"user must be a string of at most {MAX_USER_CHARS} characters")
    if name == "store" and not isinstance(value, bool):
        raise bad_parameter("store", "store must be true or false")
    if name == "metadata":
        pairs, key_chars, value_chars = MAX_METADATA
        if (
            not isinstance(value, dict)
            or len(value) > pairs
            or not all(isinstance(k, str) and len(k) <= key_chars for k in value)
            or not all(isinstance(v, str) and len(v) <= value_chars for v in value.values())
        ):
            raise bad_parameter(
                "metadata",
                f"metadata must map at most {pairs} keys (strings up to {key_chars} characters) "
                f"to strings up to {value_chars} characters",
            )


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


# --- text (the bodies are in schemas_text) ---------------------------------------------------


class StreamOptions(Body):
    include_usage: bool = False
    unsupported: ClassVar[dict[str, tuple[Any, ...]]] = {"include_obfuscation": (None, False)}


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
        # ASCII digits only: str.isdigit() also takes full-width and other scripts' digits.
        if len(parts) != 2 or not all(
            p.isascii() and p.isdigit() and 0 < len(p) <= 5 for p in parts
        ):
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
