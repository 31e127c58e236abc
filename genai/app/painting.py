"""Calling an image model for the page: a picture from a prompt (none for a model that draws
without one), a strip walking from one seed to another, and their captions."""

from __future__ import annotations

from typing import Any

import gradio as gr

from .models import takes_prompt
from .studio import Studio

# Keywords that only a model drawing from a prompt takes.
PROMPT_KEYWORDS = ("negative_prompt", "guidance_scale")


def image_caption(result: Any, index: int) -> str:
    p = result.parameters
    guidance = p.get("guidance_scale")
    steps = p.get("num_inference_steps")
    seeds = result.seeds
    if "frames" in p:  # a walk between two seeds: one strip
        first = f"seed {seeds[0]} → {seeds[1]}, {p['frames']} frames"
    else:
        first = f"seed {seeds[index]}"
    parts = [
        first,
        f"{steps} steps" if steps else None,
        f"guidance {guidance:g}" if isinstance(guidance, (int, float)) else None,
        f"{p.get('width')}×{p.get('height')}" if p.get("width") else None,
        f"{p['resample']} filter" if p.get("resample") else None,
        result.model,
    ]
    return " · ".join(part for part in parts if part)


async def paint(
    studio: Studio,
    name: str,
    prompt: str | None,
    keywords: dict[str, Any],
    *,
    folder: str,
    progress: gr.Progress | None,
) -> tuple[Any, Any, list[str]]:
    """Call an image model through the studio (no prompt for an unconditional one; a walk
    between two seeds when ``keywords`` holds ``interpolate_to``) and save its PNGs:
    (generator, result, PNG paths)."""

    def make_call(generator: Any) -> tuple[list[Any], dict[str, Any]]:
        accepted = frozenset(generator.call_spec.names)
        kept = {k: v for k, v in keywords.items() if k in accepted}
        if not takes_prompt(generator.task):
            kept = {k: v for k, v in kept.items() if k not in PROMPT_KEYWORDS}
        if kept.get("resample") and not (kept.get("width") or kept.get("height")):
            kept.pop("resample")  # the native size: nothing to resize
        return ([prompt] if takes_prompt(generator.task) else []), kept

    if keywords.get("interpolate_to") is not None:
        return await walk(studio, name, keywords, folder=folder, progress=progress)
    generator, result, saved = await studio.generate(
        "image", name, make_call, folder=folder, progress=progress, what="denoising", unit="steps"
    )
    return generator, result, [str(path) for path in saved if path.suffix == ".png"]


async def walk(
    studio: Studio, name: str, keywords: dict[str, Any], *, folder: str, progress: Any
) -> tuple[Any, Any, list[str]]:
    """A strip of frames from ``seed`` to ``interpolate_to`` (a model with ``interpolate``)."""

    def work(generator: Any, cancel: Any) -> tuple[Any, Any, list[str]]:
        if not hasattr(generator, "interpolate"):
            raise gr.Error(
                f"{generator.name} cannot walk between seeds; set 'walk to seed' to -1",
                print_exception=False,
            )
        size = {k: keywords[k] for k in ("width", "height", "resample") if keywords.get(k)}
        if "resample" in size and len(size) == 1:
            size = {}
        result = generator.interpolate(
            keywords.get("seed"),  # None: a random first seed
            keywords["interpolate_to"],
            frames=keywords.get("frames", 8),
            **size,
        )
        saved = studio.save(result, folder)
        return generator, result, [str(path) for path in saved if path.suffix == ".png"]

    return await studio.in_thread("image", name, work, progress)
