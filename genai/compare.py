"""A comparison board: one prompt and seed through several models of one modality.

    board = genai.compare.compare("a lighthouse at dusk", ["sd-turbo", "tiny-sd"], seed=1)
    board.save("board/")   # board.html (self-contained), board.json, grid.png for images

Each model is loaded, called and (unless it was loaded before) unloaded in turn, measured
by genai.machine_bench.measure: load time, generation time, peak memory (RSS above what the
process held before, or the CUDA peak), output size and speed (tokens/s, s/image, real-time
factor). A model that fails is shown with its error; the others go on.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import provenance
from .errors import GenaiError, InvalidParameterError
from .machine_bench import hardware, measure


@dataclass
class BoardEntry:
    """One model's turn: its result (None if it failed), figures and error."""

    model: str
    result: Any = None
    figures: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def output_bytes(self) -> tuple[bytes, str]:
        """The output as file bytes and MIME type: UTF-8 text, PNG (first picture) or WAV."""
        modality = provenance.modality_of(self.result)
        if modality == "text":
            return self.result.text.encode("utf-8"), "text/plain"
        buffer = io.BytesIO()
        if modality == "image":
            self.result.images[0].save(buffer, format="PNG")
            return buffer.getvalue(), "image/png"
        import soundfile as sf

        sf.write(buffer, self.result.waveform.T, int(self.result.sample_rate), format="WAV")
        return buffer.getvalue(), "audio/wav"


@dataclass
class Board:
    """The models' outputs side by side, with their figures; save() writes HTML, JSON, grid."""

    prompt: Any
    seed: int
    modality: str
    parameters: dict[str, Any]
    entries: list[BoardEntry]
    hardware: dict[str, Any] = field(default_factory=hardware)
    made_at: str = field(default_factory=lambda: time.strftime("%Y-%m-%d %H:%M:%S"))

    def to_json(self) -> dict[str, Any]:
        from .files import to_jsonable

        return to_jsonable(
            {
                "prompt": self.prompt,
                "seed": self.seed,
                "modality": self.modality,
                "parameters": self.parameters,
                "hardware": self.hardware,
                "made_at": self.made_at,
                "entries": [
                    {
                        "model": e.model,
                        "figures": e.figures,
                        "error": e.error,
                        "text": e.result.text if self.modality == "text" and e.result else None,
                        provenance.KEY: provenance.build_record(e.result) if e.result else None,
                    }
                    for e in self.entries
                ],
            }
        )

    def html(self) -> str:
        """A self-contained page: figures and outputs (embedded as data URIs) side by side."""
        cards = "\n".join(_card(entry) for entry in self.entries)
        machine = ", ".join(f"{k} {v}" for k, v in self.hardware.items() if v)
        return _PAGE.format(
            prompt=html.escape(str(self.prompt)),
            seed=self.seed,
            parameters=html.escape(json.dumps(self.parameters)),
            machine=html.escape(machine),
            made_at=self.made_at,
            cards=cards,
        )

    def grid(self, height: int = 256):
        """The first picture of each image model side by side, labelled (None for other boards)."""
        if self.modality != "image":
            return None
        from PIL import Image, ImageDraw

        shown = [e for e in self.entries if e.result is not None]
        tiles = [e.result.images[0] for e in shown]
        tiles = [t.resize((max(1, t.width * height // t.height), height)) for t in tiles]
        grid = Image.new("RGB", (sum(t.width for t in tiles) or 1, height + 20), "white")
        x, draw = 0, ImageDraw.Draw(grid)
        for entry, tile in zip(shown, tiles, strict=True):
            grid.paste(tile, (x, 20))
            draw.text((x + 4, 4), entry.model, fill="black")
            x += tile.width
        return grid

    def save(self, folder: str | os.PathLike) -> list[Path]:
        """Write board.html, board.json and (images) grid.png into ``folder``; return the paths."""
        from .files import atomic_write_bytes, atomic_write_text

        folder = Path(folder).expanduser()
        written = [
            atomic_write_text(folder / "board.html", self.html()),
            atomic_write_text(
                folder / "board.json", json.dumps(self.to_json(), indent=2, ensure_ascii=False)
            ),
        ]
        grid = self.grid()
        if grid is not None:
            buffer = io.BytesIO()
            grid.save(buffer, format="PNG")
            written.append(atomic_write_bytes(folder / "grid.png", buffer.getvalue()))
        return written


def compare(
    prompt: Any,
    models: list[str],
    *,
    seed: int | None = None,
    keep_loaded: bool = False,
    on_entry: Callable[[BoardEntry], Any] | None = None,
    **parameters: Any,
) -> Board:
    """Run ``prompt`` with one ``seed`` and ``parameters`` through each model, in turn.

    All models must be of one modality (checked before any model loads). A model that was
    not loaded before is unloaded after its turn (unless ``keep_loaded``), so each one's
    memory is measured on its own. ``on_entry(entry)`` is called after each model (the app
    shows the board growing).
    """
    import genai

    from .seeding import resolve_seed

    if len(models) < 1:
        raise InvalidParameterError("models=[]: name at least one model to compare")
    modalities = {name: _modality(name) for name in models}
    if len(set(modalities.values()) - {None}) > 1:
        found = ", ".join(f"{n} ({m})" for n, m in modalities.items())
        raise InvalidParameterError(
            f"models={models!r}: a board compares models of one modality, not {found}"
        )
    seed = resolve_seed(seed)
    entries = []
    for name in models:
        before = {id(g) for g in genai.loaded()}
        entry = BoardEntry(name)
        try:
            with measure() as loading:
                generator = genai.load(name)
            with measure() as running:
                entry.result = generator(prompt, seed=seed, **parameters)
            entry.figures = _figures(entry, loading, running, id(generator) in before)
        except GenaiError as error:
            entry.error = str(error)
        else:
            if not keep_loaded and id(generator) not in before:
                generator.unload()
        entries.append(entry)
        if on_entry is not None:
            on_entry(entry)
    modality = next((m for m in modalities.values() if m), "text")
    return Board(prompt, seed, modality, dict(parameters), entries)


def _modality(name: str) -> str | None:
    """The model's modality, known before loading (None for a name that does not resolve:
    it fails in its turn, shown on the board)."""
    from .catalog import MODALITY_OF_TASK
    from .resolve import resolve

    resolved = resolve(name)
    task = resolved.task or (resolved.entry.task if resolved.entry else None)
    return MODALITY_OF_TASK[task] if task else None


def _figures(entry: BoardEntry, loading, running, loaded_before: bool = False) -> dict[str, Any]:
    """The turn's figures. A model loaded before its turn (by the app's other tabs, say) held
    its memory already: its peak is not measured (None), and the board says it was loaded."""
    result = entry.result
    modality = provenance.modality_of(result)
    seconds = running.seconds
    peak = max(loading.peak_rss_mb, running.peak_rss_mb) - loading.rss_before_mb
    figures: dict[str, Any] = {
        "load_s": round(loading.seconds, 3),
        "generate_s": round(seconds, 3),
        "memory_mb": None if loaded_before else round(peak),
        "loaded_before": "yes: its memory is not measured" if loaded_before else None,
        "cuda_peak_mb": round(max(loading.cuda_peak_mb or 0, running.cuda_peak_mb or 0)) or None,
        "output_bytes": len(entry.output_bytes()[0]),
    }
    if modality == "text":
        figures["tokens"] = result.completion_tokens
        figures["tokens_per_s"] = round(result.completion_tokens / seconds, 2) if seconds else None
    elif modality == "image":
        figures["size"] = f"{result.images[0].width}x{result.images[0].height}"
        figures["s_per_image"] = round(seconds / len(result.images), 3)
    else:
        figures["duration_s"] = round(result.duration, 3)
        figures["real_time_factor"] = (
            round(seconds / result.duration, 3) if result.duration else None
        )
    return figures


_LABELS = {
    "load_s": "load (s)",
    "generate_s": "generation (s)",
    "memory_mb": "peak memory (MB)",
    "loaded_before": "loaded before",
    "cuda_peak_mb": "CUDA peak (MB)",
    "output_bytes": "output (bytes)",
    "tokens": "tokens",
    "tokens_per_s": "tokens / s",
    "size": "size",
    "s_per_image": "s / image",
    "duration_s": "duration (s)",
    "real_time_factor": "real-time factor",
}


def _card(entry: BoardEntry) -> str:
    title = html.escape(entry.model)
    if entry.error is not None:
        return f'<div class="card"><h2>{title}</h2><p class="error">{html.escape(entry.error)}</p></div>'
    rows = "".join(
        f"<tr><th>{_LABELS.get(k, html.escape(k))}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in entry.figures.items()
        if v is not None
    )
    data, mime = entry.output_bytes()
    uri = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    if mime == "text/plain":
        output = f"<pre>{html.escape(data.decode('utf-8'))}</pre>"
    elif mime == "image/png":
        output = f'<img src="{uri}" alt="{title}">'
    else:
        output = f'<audio controls src="{uri}"></audio>'
    return f'<div class="card"><h2>{title}</h2><table>{rows}</table>{output}</div>'


_PAGE = re.sub(
    r"\n\s*",
    "\n",
    """<!doctype html>
    <html lang="en"><head><meta charset="utf-8"><title>genai board: {prompt}</title>
    <style>
    body {{ font-family: system-ui, sans-serif; margin: 1.5em; }}
    .cards {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(18em, 1fr)); gap: 1em; }}
    .card {{ border: 1px solid #ccc; border-radius: 6px; padding: 0.8em; }}
    .card img {{ max-width: 100%; }} .card audio {{ width: 100%; }}
    pre {{ white-space: pre-wrap; background: #f6f6f6; padding: 0.5em; }}
    th {{ text-align: left; font-weight: normal; color: #555; padding-right: 1em; }}
    .error {{ color: #a00; }}
    </style></head><body>
    <h1>{prompt}</h1>
    <p>seed {seed} · parameters {parameters} · {machine} · {made_at}</p>
    <div class="cards">
    {cards}
    </div></body></html>
    """,
)
