"""Provenance: the record every output carries (placeholder until the provenance module lands)."""

from __future__ import annotations

from typing import Any


def fingerprint(source: Any) -> dict[str, Any]:
    """The weights' identity: filled in by the provenance work (issue 14)."""
    return {}
