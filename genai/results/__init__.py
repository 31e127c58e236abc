"""Typed results: the output, the parameters and seed that made it, timings, and save()."""

from __future__ import annotations

import importlib
from typing import Any

from ..files import atomic_write_bytes, atomic_write_text
from .base import Result

_LAZY = {
    "TextResult": ".text",
    "ImageResult": ".image",
    "AudioResult": ".audio",
}

__all__ = ["Result", "atomic_write_bytes", "atomic_write_text", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
