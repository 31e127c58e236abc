"""Checks for generation parameters, done at the boundary before any model work.

Each raises InvalidParameterError naming the argument, the bad value and what is allowed;
nothing is clamped silently.
"""

from __future__ import annotations

from typing import Any

from .errors import InvalidParameterError


def check_prompt(prompt: Any, name: str = "prompt") -> str:
    if not isinstance(prompt, str):
        raise InvalidParameterError(f"{name} must be a string, got {type(prompt).__name__}")
    if not prompt.strip():
        raise InvalidParameterError(f"{name} is empty; give some text to generate from")
    return prompt


def check_int(
    name: str, value: Any, *, low: int | None = None, high: int | None = None, fix: str = ""
) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParameterError(f"{name}={value!r} must be a whole number")
    if low is not None and value < low:
        raise InvalidParameterError(f"{name}={value} is below {low}{'; ' + fix if fix else ''}")
    if high is not None and value > high:
        raise InvalidParameterError(f"{name}={value} is above {high}{'; ' + fix if fix else ''}")
    return value


def check_float(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    fix: str = "",
) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidParameterError(f"{name}={value!r} must be a number")
    value = float(value)
    if value != value:
        raise InvalidParameterError(f"{name} is NaN")
    if low is not None and (value <= low if low_open else value < low):
        bound = f"above {low}" if low_open else f"at least {low}"
        raise InvalidParameterError(f"{name}={value} must be {bound}{'; ' + fix if fix else ''}")
    if high is not None and value > high:
        raise InvalidParameterError(
            f"{name}={value} must be at most {high}{'; ' + fix if fix else ''}"
        )
    return value
