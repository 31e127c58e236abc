"""The models the sweep tries: tiny local ones, and the real ones with --real."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .inputs import IMAGE_NUMBERS, PIANO_NUMBERS, SPEECH_NUMBERS, TEXT_NUMBERS, Number
from .outcome import short

# --- the models -----------------------------------------------------------------------------


@dataclass
class Target:
    name: str  # "text", "image", "speech", "text:smollm2-135m-gguf", ...
    modality: str
    location: str  # what genai.load takes
    base: dict[str, Any]  # cheap settings every try starts from
    numbers: dict[str, Number]
    generator: Any = None
    result: Any = None  # one good result, for the output-path tries
    stuck: bool = False
    timeout: float = 60.0


def build_models(folder: Path) -> dict[str, str]:
    from genai.testing.audio import make_tiny_vits
    from genai.testing.image import make_tiny_sd
    from genai.testing.text import tiny_llama

    makers = {"llama": tiny_llama, "sd": make_tiny_sd, "vits": make_tiny_vits}
    paths = {}
    for name, make in makers.items():
        path = folder / name
        if not (path / ".built").exists():
            shutil.rmtree(path, ignore_errors=True)
            make(path)
            (path / ".built").write_text("ok")
        paths[name] = str(path)
    return paths


def make_targets(paths: dict[str, str], real: bool) -> list[Target]:
    targets = [
        Target("text", "text", paths["llama"], {"max_new_tokens": 2, "seed": 1}, TEXT_NUMBERS),
        Target(
            "image",
            "image",
            paths["sd"],
            {"num_inference_steps": 1, "width": 32, "height": 32, "seed": 1},
            IMAGE_NUMBERS,
        ),
        Target("speech", "speech", paths["vits"], {"seed": 1}, SPEECH_NUMBERS),
    ]
    if real:
        from genai.catalog import get_entry
        from genai.hub import embedded_path

        if embedded_path(get_entry("smollm2-135m-gguf")):
            targets.append(
                Target(
                    "text:smollm2-135m-gguf",
                    "text",
                    "smollm2-135m-gguf",
                    {"max_new_tokens": 2, "seed": 1},
                    TEXT_NUMBERS,
                )
            )
        if embedded_path(get_entry("piper-joe")):
            targets.append(
                Target("speech:piper-joe", "speech", "piper-joe", {"seed": 1}, SPEECH_NUMBERS)
            )
        if embedded_path(get_entry("piano-rnn")):
            targets.append(
                Target(
                    "audio:piano-rnn",
                    "speech",
                    "piano-rnn",
                    {"seed": 1, "duration": 1.0},
                    PIANO_NUMBERS,
                )
            )
        for alias in ("faces-64", "piano-rnn"):
            REAL_MODELS[alias] = bool(embedded_path(get_entry(alias)))
    return targets


def first_prompt(target: Target) -> str:
    return "hello there" if target.modality != "image" else "a red cat"


class Overtime(Exception):
    """Raised from a progress callback to stop a try that ran past its deadline."""


def call(target: Target, prompt: Any, **changes: Any) -> Callable[[], Any]:
    """The generator called with ``changes``; image and speech calls stop at the deadline
    (their progress callback raises), so a runaway try does not keep a core and the RNG lock."""
    settings = {**target.base, **changes}

    def run() -> Any:
        if target.modality != "text" and "progress" not in settings:
            deadline = time.monotonic() + target.timeout

            def progress(done: int, total: int) -> None:
                if time.monotonic() > deadline:
                    raise Overtime(f"stopped after {target.timeout:.0f} s")

            return target.generator(prompt, **settings, progress=progress)
        return target.generator(prompt, **settings)

    return run


def call_repro(target: Target, prompt: Any, **changes: Any) -> str:
    settings = {**target.base, **changes}
    keywords = ", ".join(f"{k}={short(v, 60)}" for k, v in settings.items())
    return f"genai.load({target.location!r})({short(prompt, 60)}, {keywords})"


def image_note_check(value: Any) -> str | None:
    """A 1 MB image prompt may be cut to the text encoder's length, but the result must say so."""
    notes = getattr(value, "notes", None) or []
    if not any("cut" in note or "truncat" in note for note in notes):
        return "a 1 MB prompt was used without a note that it was cut"
    return None


PATHS: dict[str, str] = {}  # the tiny models' folders, by maker name (llama, sd, vits)
REAL_MODELS: dict[str, bool] = {}  # with --real: which real models are installed
