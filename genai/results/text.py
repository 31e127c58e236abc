"""The result of a text generation."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .base import Result, atomic_write_text


@dataclass
class TextResult(Result):
    """Generated text with its prompt, why it stopped, token counts and speed."""

    text: str = ""
    prompt: Any = None
    finish_reason: str = "length"  # "length", "stop" or "eos"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    time_to_first_token: float | None = None
    tokens_per_second: float | None = None

    def __str__(self) -> str:
        return self.text

    def metadata(self) -> dict[str, Any]:
        record = super().metadata()
        record.update(
            {
                "prompt": self.prompt,
                "finish_reason": self.finish_reason,
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "time_to_first_token": self.time_to_first_token,
                "tokens_per_second": self.tokens_per_second,
            }
        )
        return record

    def save(self, path: str | os.PathLike, *, metadata: bool = True) -> Path:
        """Write the text to ``path`` (a .txt file, or a folder) and its parameters beside it as JSON."""
        path = Path(path)
        if path.is_dir() or not path.suffix:
            path = path / "text.txt"
        atomic_write_text(path, self.text)
        if metadata:
            self.save_metadata(path.with_suffix(".json"))
        return path
