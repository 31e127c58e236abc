"""The result of a text generation."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from ..errors import OutputPathError
from ..files import check_output_path, is_folder, write_files
from .base import Result

TEXT_SUFFIXES = (".txt", ".md", ".text")


def text_output_path(
    path: str | os.PathLike, *, overwrite: bool = False, metadata: bool = True
) -> Path:
    """Where a text result goes (a folder gets text.txt), checked before any work: a text
    suffix, and neither the file nor its .json record replaced unless ``overwrite``."""
    path = Path(path)
    if is_folder(path) or not path.suffix:
        path = path / "text.txt"
    if path.suffix.lower() not in TEXT_SUFFIXES:
        raise OutputPathError(
            f"{path}: a text result is saved as {', '.join(TEXT_SUFFIXES)}, not {path.suffix}; "
            "change the file name"
        )
    check_output_path(path, overwrite=overwrite)
    if metadata:
        check_output_path(path.with_suffix(".json"), overwrite=overwrite)
    return path


@dataclass
class TextResult(Result):
    """Generated text with its prompt, why it stopped, token counts and speed.

    ``timings`` holds ``load_s``, ``generate_s``, ``total_s`` and ``first_token_s``;
    ``engine`` says which library decoded it ("llama.cpp" or "transformers").
    """

    text: str = ""
    prompt: Any = None
    # "length", "stop" (a stop string), "eos" (the model ended) or "tool_calls"
    finish_reason: str = "length"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    time_to_first_token: float | None = None
    tokens_per_second: float | None = None
    # With json_schema or response_format: the answer parsed (it is valid against the schema).
    parsed: Any = None
    # With tools: the calls the model made, OpenAI's shape ({"id", "type": "function",
    # "function": {"name", "arguments" (a JSON string)}}); finish_reason is then "tool_calls".
    tool_calls: list[dict[str, Any]] | None = None
    # With logprobs: one entry per new token (see genai.backends.text_stream.Decoded).
    logprobs: list[dict[str, Any]] | None = None

    default_suffix: ClassVar[str] = ".txt"

    def __str__(self) -> str:
        return self.text

    def metadata(self) -> dict[str, Any]:
        own = ("prompt", "finish_reason", "prompt_tokens", "completion_tokens")
        own += tuple(name for name in ("parsed", "tool_calls") if getattr(self, name) is not None)
        timing = ("time_to_first_token", "tokens_per_second")
        return {**super().metadata(), **self.attributes(*own, *timing)}

    def save(
        self, path: str | os.PathLike, *, overwrite: bool = False, metadata: bool = True
    ) -> Path:
        """Write the text to ``path`` (.txt or .md; a folder gets text.txt) and its record
        beside it as .json. Refuses to replace either file unless ``overwrite=True``, also
        when another save makes it meanwhile (OutputPathError; then neither is written)."""
        path = text_output_path(path, overwrite=overwrite, metadata=metadata)
        files = [(path, self.text.encode("utf-8"))]
        if metadata:
            files.append((path.with_suffix(".json"), self.metadata_bytes()))
        write_files(files, overwrite=overwrite)  # both or neither; never another save's
        return path

    def save_files(self, stem: str | os.PathLike, *, suffix: str | None = None) -> list[Path]:
        """The text as ``stem`` + suffix (default .txt) and its JSON record beside it."""
        path = self.save(Path(f"{stem}{suffix or self.default_suffix}"), overwrite=True)
        return [path, path.with_suffix(".json")]

    def summary(self) -> dict[str, Any]:
        return {
            "characters": len(self.text),
            "completion_tokens": self.completion_tokens,
            "finish_reason": self.finish_reason,
        }
