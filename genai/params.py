"""Generation parameters: one spec per modality, checked at the boundary before any model work.

A :class:`Param` says a parameter's name, type, default, bounds, help text, command-line
flag and whether results record it. A :class:`ParamSpec` is a modality's set of them (the
text, image and audio specs live beside their backends); from it the generator checks its
call, the CLI builds its flags, the result records its parameters and the web app builds its
controls. Unknown names raise InvalidParameterError with the nearest valid name; nothing is
clamped silently.
"""

from __future__ import annotations

import difflib
import math
import numbers
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import InvalidParameterError

# --- single-value checks -----------------------------------------------------------------


def check_text(value: Any, name: str = "prompt", *, max_chars: int | None = None) -> str:
    """A string that is valid Unicode (no lone surrogates, no NUL), optionally length-capped."""
    if not isinstance(value, str):
        raise InvalidParameterError(f"{name} must be a string, got {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InvalidParameterError(
            f"{name} holds invalid Unicode (a lone surrogate {value[error.start]!r} at "
            f"character {error.start}); pass valid UTF-8 text"
        ) from None
    if "\x00" in value:
        raise InvalidParameterError(
            f"{name} holds a NUL character at {value.index(chr(0))}; remove it"
        )
    if max_chars is not None and len(value) > max_chars:
        raise InvalidParameterError(
            f"{name} is {len(value)} characters long, above the {max_chars} this model takes; "
            "give shorter text or split it"
        )
    return value


def check_prompt(prompt: Any, name: str = "prompt", *, max_chars: int | None = None) -> str:
    """Non-empty valid text."""
    check_text(prompt, name, max_chars=max_chars)
    if not prompt.strip():
        raise InvalidParameterError(f"{name} is empty; give some text to generate from")
    return prompt


def show_value(value: Any) -> str:
    """A number as an error message shows it (a 400-digit int by its size, not its digits)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**30:
        digits = int(abs(value).bit_length() * math.log10(2)) + 1  # str() refuses 4300+ digits
        return f"{'-' if value < 0 else ''}<a number of about {digits} digits>"
    if isinstance(value, float):
        return f"{value:g}"
    text = repr(value)
    return text if len(text) <= 100 else f"{text[:80]}...<{len(text)} characters>"


def range_text(low: float | None, high: float | None, low_open: bool = False) -> str:
    """A parameter's range as error messages and help text say it: "0.25 to 4", "at least 1"."""

    def number(value: float) -> str:
        return f"{value:g}" if isinstance(value, float) else str(value)

    if low is not None and high is not None:
        return (
            f"above {number(low)} up to {number(high)}"
            if low_open
            else (f"{number(low)} to {number(high)}")
        )
    if low is not None:
        return f"above {number(low)}" if low_open else f"at least {number(low)}"
    if high is not None:
        return f"at most {number(high)}"
    return "any number"


def _suffix(low, high, low_open, fix: str) -> str:
    shown = "" if low is None or high is None else f" (range: {range_text(low, high, low_open)})"
    return shown + (f"; {fix}" if fix else "")


def check_int(
    name: str, value: Any, *, low: int | None = None, high: int | None = None, fix: str = ""
) -> int:
    """A whole number (Python or numpy integer, not a bool) within [low, high]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidParameterError(
            f"{name}={show_value(value)} must be a whole number{_suffix(low, high, False, fix)}"
        )
    value = int(value)
    if low is not None and value < low:
        raise InvalidParameterError(
            f"{name}={show_value(value)} is below {low}{_suffix(low, high, False, fix)}"
        )
    if high is not None and value > high:
        raise InvalidParameterError(
            f"{name}={show_value(value)} is above {high}{_suffix(low, high, False, fix)}"
        )
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
    """A finite real number (int, float, numpy scalar; not a bool) within its bounds.

    Every number a caller gives goes through here (or check_int): nan, inf and ints too
    large for a float (``10**400``) are refused like any other value out of range.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidParameterError(f"{name}={show_value(value)} must be a number")
    try:
        number = float(value)
    except (OverflowError, ValueError):  # an int beyond a float's range
        raise InvalidParameterError(
            f"{name}={show_value(value)} is too large to be a number here"
            f"{_suffix(low, high, low_open, fix)}"
        ) from None
    if not math.isfinite(number):
        raise InvalidParameterError(
            f"{name}={show_value(value)} must be a finite number{_suffix(low, high, low_open, fix)}"
        )
    if low is not None and (number <= low if low_open else number < low):
        bound = f"above {low:g}" if low_open else f"at least {low:g}"
        raise InvalidParameterError(
            f"{name}={show_value(number)} must be {bound}{_suffix(low, high, low_open, fix)}"
        )
    if high is not None and number > high:
        raise InvalidParameterError(
            f"{name}={show_value(number)} must be at most {high:g}{_suffix(low, high, low_open, fix)}"
        )
    return number


def nearest(name: str, valid: Iterable[str]) -> str | None:
    """The valid name closest to a misspelt one, if any is close."""
    found = difflib.get_close_matches(name, list(valid), n=1, cutoff=0.6)
    return found[0] if found else None


def refuse_unknown(given: Iterable[str], valid: Iterable[str], what: str) -> None:
    """InvalidParameterError for the first name not in ``valid``, suggesting the nearest one."""
    valid = sorted(set(valid))
    for name in given:
        if name in valid:
            continue
        guess = nearest(name, valid)
        hint = f"did you mean {guess}? " if guess else ""
        raise InvalidParameterError(
            f"{what} got an unknown parameter {name!r}; {hint}valid: {', '.join(valid)}"
        )


# --- the spec ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """One generation parameter."""

    name: str
    type: type  # int, float, str, bool, list (of str), or object (checked by ``check`` alone)
    default: Any = None  # used when neither the catalog entry nor the caller gives one
    help: str = ""
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # True: the value must be above ``low``, not equal to it
    choices: tuple[Any, ...] | None = None
    flag: str | None = None  # CLI flag; None means --name-with-dashes, "" means no flag
    record: bool = True  # results record it (a progress callback is not recorded)
    check: Callable[[Any], Any] | None = None  # extra check/normalisation of a given value
    max_chars: int | None = None  # for str: a length cap

    @property
    def range(self) -> str | None:
        """The documented range of a numeric parameter ("0.25 to 4"), None for others."""
        if self.type not in (int, float) or (self.low is None and self.high is None):
            return None
        return range_text(self.low, self.high, self.low_open)

    @property
    def help_text(self) -> str:
        """``help`` with the range, as the CLI and README show it."""
        return f"{self.help} [{self.range}]" if self.range else self.help

    @property
    def cli_flag(self) -> str | None:
        if self.flag == "":
            return None
        return self.flag or "--" + self.name.replace("_", "-")

    def validate(self, value: Any, owner: str = "") -> Any:
        """The checked value (None passes: it means "use the default")."""
        if value is None:
            return None
        if self.type is int:
            value = check_int(self.name, value, low=self.low, high=self.high)
        elif self.type is float:
            value = check_float(
                self.name, value, low=self.low, high=self.high, low_open=self.low_open
            )
        elif self.type is str:
            value = check_text(value, self.name, max_chars=self.max_chars)
        elif self.type is bool:
            if not isinstance(value, bool):
                raise InvalidParameterError(
                    f"{self.name}={show_value(value)} must be true or false"
                )
        elif self.type is list:
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, (list, tuple)):
                raise InvalidParameterError(
                    f"{self.name}={show_value(value)} must be a string or a list of strings"
                )
            for item in value:
                check_text(item, self.name)
            value = list(value)
        if self.choices is not None and value not in self.choices:
            guess = nearest(str(value), [str(c) for c in self.choices])
            hint = f" (did you mean {guess}?)" if guess else ""
            raise InvalidParameterError(
                f"{self.name}={show_value(value)} is not one of {', '.join(map(str, self.choices))}{hint}"
            )
        if self.check is not None:
            value = self.check(value)
        return value


@dataclass(frozen=True)
class ParamSpec:
    """A modality's parameters, in the order the CLI and the app show them."""

    modality: str
    params: tuple[Param, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        names = [p.name for p in self.params]
        if len(names) != len(set(names)):
            raise ValueError(f"duplicate parameter names in the {self.modality} spec")

    def __iter__(self):
        return iter(self.params)

    def __contains__(self, name: str) -> bool:
        return any(p.name == name for p in self.params)

    def __getitem__(self, name: str) -> Param:
        for param in self.params:
            if param.name == name:
                return param
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def only(self, *names: str) -> ParamSpec:
        """The same spec with only these parameters (a family that takes fewer)."""
        return ParamSpec(self.modality, tuple(p for p in self.params if p.name in names))

    def without(self, *names: str) -> ParamSpec:
        return ParamSpec(self.modality, tuple(p for p in self.params if p.name not in names))

    def plus(self, *params: Param) -> ParamSpec:
        """The spec with more parameters (or new versions of existing ones, by name)."""
        added = {p.name: p for p in params}
        kept = tuple(added.pop(p.name, p) for p in self.params)
        return ParamSpec(self.modality, kept + tuple(added.values()))

    def with_defaults(self, **defaults: Any) -> ParamSpec:
        return ParamSpec(
            self.modality,
            tuple(replace(p, default=defaults[p.name]) if p.name in defaults else p for p in self),
        )

    def check(
        self, given: dict[str, Any], *, owner: str, defaults: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Every parameter's value: the spec default, then ``defaults`` (the catalog entry's,
        the load options), then what was ``given``; unknown names and bad values refused."""
        refuse_unknown(given, self.names, owner)
        settings: dict[str, Any] = {p.name: p.default for p in self.params}
        for name, value in (defaults or {}).items():
            if name in settings and value is not None:
                settings[name] = value
        for name, value in given.items():
            if value is not None:
                settings[name] = self[name].validate(value, owner)
        return settings

    def record(self, settings: dict[str, Any]) -> dict[str, Any]:
        """The parameters a result records (those set, and marked ``record``)."""
        return {
            p.name: settings[p.name]
            for p in self.params
            if p.record and settings.get(p.name) is not None
        }

    def add_arguments(self, parser, *, skip: Iterable[str] = ()) -> None:
        """Add each parameter's flag to an argparse parser (dest = the parameter's name)."""
        skip = set(skip)
        for param in self.params:
            if param.cli_flag is None or param.name in skip:
                continue
            kwargs: dict[str, Any] = {"dest": param.name, "default": None, "help": param.help_text}
            if param.type is bool:
                kwargs["action"] = "store_true"
            elif param.type is list:
                kwargs["action"] = "append"
            elif param.type in (int, float, str):
                kwargs["type"] = param.type
            parser.add_argument(param.cli_flag, **kwargs)

    def from_arguments(self, args: Any) -> dict[str, Any]:
        """The parameters an argparse namespace sets (None and False flags left out)."""
        found = {}
        for param in self.params:
            value = getattr(args, param.name, None)
            if value is None or (param.type is bool and value is False):
                continue
            found[param.name] = value
        return found


def check_model_name(name: Any) -> str:
    """A model name that names something: a non-empty string (an empty one is never "the default")."""
    if isinstance(name, os.PathLike):
        name = os.fspath(name)
    if not isinstance(name, str) or not name.strip():
        raise InvalidParameterError(
            f"model name {show_value(name)} must be a catalog alias, a Hugging Face id or a path; "
            "see `genai models`"
        )
    return check_text(name, "model")
