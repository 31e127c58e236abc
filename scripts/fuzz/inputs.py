"""What is legitimate, and the random values, strings and typos the tries are made of."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

REFUSE, EITHER = "refuse", "either"
MEGABYTE_TEXT = "word " * 220_000  # about 1.1 MB


# --- what is legitimate: a small table of the numeric parameters ----------------------------


@dataclass(frozen=True)
class Number:
    """A numeric parameter and a generous envelope: a value outside it must be refused."""

    kind: type
    low: float
    high: float
    low_open: bool = False


TEXT_NUMBERS = {
    "max_new_tokens": Number(int, 1, 10**6),
    "temperature": Number(float, 0, 1e6),
    "top_p": Number(float, 0, 1, low_open=True),
    "top_k": Number(int, 0, 10**7),
    "repetition_penalty": Number(float, 0, 1e6, low_open=True),
    "seed": Number(int, 0, 2**64),
}
IMAGE_NUMBERS = {
    "num_inference_steps": Number(int, 1, 10**4),
    "guidance_scale": Number(float, 0, 1e4),
    "width": Number(int, 8, 10**5),
    "height": Number(int, 8, 10**5),
    "num_images": Number(int, 1, 10**3),
    "strength": Number(float, 0, 1),
    "seed": Number(int, 0, 2**64),
}
SPEECH_NUMBERS = {
    "speed": Number(float, 0.25, 4.0),  # OpenAI's range: below it a request could take the memory
    "pause": Number(float, 0, 1e4),
    "fade_in": Number(float, 0, 1e4),
    "fade_out": Number(float, 0, 1e4),
    "sample_rate": Number(int, 1000, 10**6),
    "normalize": Number(float, -1e4, 1e4),
    "seed": Number(int, 0, 2**64),
}


PIANO_NUMBERS = {
    "temperature": Number(float, 0.01, 10.0),
    "duration": Number(float, 0.1, 30.0),
    "note_density": Number(int, 0, 11),
    "fade_in": Number(float, 0, 1e4),
    "fade_out": Number(float, 0, 1e4),
    "sample_rate": Number(int, 1000, 10**6),
    "normalize": Number(float, -1e4, 1e4),
    "seed": Number(int, 0, 2**64),
}


def number_expectation(spec: Number, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return REFUSE
    if isinstance(value, float) and not math.isfinite(value):
        return REFUSE
    if spec.kind is int and isinstance(value, float) and not value.is_integer():
        return REFUSE
    if value < spec.low or value > spec.high or (spec.low_open and value == spec.low):
        return REFUSE
    return EITHER


def random_number(rng: random.Random) -> Any:
    return rng.choice(
        [
            math.nan,
            math.inf,
            -math.inf,
            1e308,
            -1e308,
            10 ** rng.randint(12, 40),
            10**400,  # too large for a float: OverflowError unless checked
            -(10**400),
            -(10 ** rng.randint(1, 30)),
            -1,
            -0.5,
            0,
            2.5,
            True,
            False,
            "3",
            "nan",
            "",
            1j,
            [1],
            {"a": 1},
            b"1",
        ]
    )


# --- random strings --------------------------------------------------------------------------

VALID_ODDITIES = (
    "\u200f",  # right-to-left mark
    "\u202e",  # right-to-left override
    "\u200b",  # zero-width space
    "\ufeff",  # byte-order mark
    "e\u0301",  # combining accent
    "\U0001f600",  # emoji
    "\u0627\u0644\u0633\u0644\u0627\u0645",  # Arabic
    "\t",
    "\r\n",
)


def random_words(rng: random.Random, count: int = 3) -> str:
    return " ".join(rng.choice(["hello", "cat", "red", "the", "fox", "snow"]) for _ in range(count))


def random_text(rng: random.Random, modality: str) -> tuple[str, Any, str]:
    """(label, value, expectation) for a prompt-like string."""
    base = random_words(rng)
    at = rng.randint(0, len(base))
    choice = rng.randrange(9)
    if choice == 0:
        surrogate = chr(rng.randint(0xD800, 0xDFFF))
        return "lone surrogate", base[:at] + surrogate + base[at:], REFUSE
    if choice == 1:
        return "NUL", base[:at] + "\x00" + base[at:], REFUSE
    if choice == 2:
        # image prompts may be cut to the encoder's length, but must say so (see classify)
        return "1 MB text", MEGABYTE_TEXT, EITHER if modality == "image" else REFUSE
    if choice == 3:
        odd = "".join(rng.choice(VALID_ODDITIES) for _ in range(rng.randint(1, 4)))
        return "RTL marks / zero-width / emoji", base[:at] + odd + base[at:], EITHER
    if choice == 4:
        return "empty", "", EITHER
    if choice == 5:
        return "whitespace only", rng.choice([" ", "\n\n", "\t \u200b"]), EITHER
    if choice == 6:
        return (
            "control characters",
            base + "".join(chr(rng.randint(1, 31)) for _ in range(3)),
            EITHER,
        )
    if choice == 7:
        value = rng.choice([5, 2.5, b"bytes", {"a": 1}, object()])
        return f"a {type(value).__name__} for text", value, REFUSE
    return "surrogate pair written as two halves", base + "\ud83d\ude00", REFUSE


def misspell(rng: random.Random, name: str, valid: set[str]) -> str:
    for _ in range(50):
        chars = list(name)
        i = rng.randrange(len(chars))
        edit = rng.randrange(6)
        if edit == 0 and len(chars) > 1:
            del chars[i]
        elif edit == 1 and i + 1 < len(chars):
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
        elif edit == 2:
            chars.insert(i, chars[i])
        elif edit == 3:
            chars[i] = rng.choice("abcdefghijklmnopqrstuvwxyz")
        elif edit == 4:
            chars = list(name.upper())
        else:
            chars = list(name.replace("_", "-") if "_" in name else name + "s")
        typo = "".join(chars)
        if typo not in valid and typo.isidentifier():
            return typo
    return name + "_typo"
