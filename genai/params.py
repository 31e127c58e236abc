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
    if not math.isfinite(value):
        raise InvalidParameterError(f"{name}={value} must be a finite number")
    if low is not None and (value <= low if low_open else value < low):
        bound = f"above {low}" if low_open else f"at least {low}"
        raise InvalidParameterError(f"{name}={value} must be {bound}{'; ' + fix if fix else ''}")
    if high is not None and value > high:
        raise InvalidParameterError(
            f"{name}={value} must be at most {high}{'; ' + fix if fix else ''}"
        )
    return value


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
                raise InvalidParameterError(f"{self.name}={value!r} must be true or false")
        elif self.type is list:
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, (list, tuple)):
                raise InvalidParameterError(
                    f"{self.name}={value!r} must be a string or a list of strings"
                )
            for item in value:
                check_text(item, self.name)
            value = list(value)
        if self.choices is not None and value not in self.choices:
            guess = nearest(str(value), [str(c) for c in self.choices])
            hint = f" (did you mean {guess}?)" if guess else ""
            raise InvalidParameterError(
                f"{self.name}={value!r} is not one of {', '.join(map(str, self.choices))}{hint}"
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
            kwargs: dict[str, Any] = {"dest": param.name, "default": None, "help": param.help}
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
