"""genai's own folders (converted checkpoints, outputs), overridable by environment variables."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """GENAI_CACHE, else $XDG_CACHE_HOME/genai, else ~/.cache/genai."""
    if os.environ.get("GENAI_CACHE"):
        return Path(os.environ["GENAI_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "genai"
