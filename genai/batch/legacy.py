"""ADAPTER, to delete once TextResult, ImageResult and AudioResult implement the results
contract (``save_files(stem, *, suffix=None)`` and ``summary()``): the old per-class saving,
kept so batch runs until those branches land. Nothing else may import it."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def save_files_and_summary(
    result: Any, stem: Path, suffix: str | None
) -> tuple[list[Path], dict[str, Any]]:
    from ..results.audio import AudioResult
    from ..results.image import ImageResult
    from ..results.text import TextResult

    if isinstance(result, TextResult):
        path = result.save(stem.with_name(f"{stem.name}{suffix or '.txt'}"))
        summary = {
            "finish_reason": result.finish_reason,
            "prompt_tokens": result.prompt_tokens,
            "completion_tokens": result.completion_tokens,
        }
        return [path, path.with_suffix(".json")], summary
    if isinstance(result, ImageResult):
        paths = result.save(stem.with_name(f"{stem.name}{suffix or '.png'}"))
        return list(paths), {"seeds": list(result.seeds), "num_images": len(result.images)}
    if isinstance(result, AudioResult):
        path = result.save(stem.with_name(f"{stem.name}{suffix or '.wav'}"))
        summary = {"duration": round(result.duration, 4), "sample_rate": result.sample_rate}
        return [path, path.with_suffix(".json")], summary
    raise TypeError(f"cannot save a {type(result).__name__} in a batch run")
