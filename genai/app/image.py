"""The Image tab: pictures from a prompt, or, for a model that draws without one (a face GAN),
a grid of pictures from seeds or a strip walking from one seed to another; PNG files that
carry their parameters.

Small pictures are shown at their display size with a crisp filter (faces-64: eight faces
at 2x, nearest neighbour), never one face stretched across the page.
"""

from __future__ import annotations

import time
from typing import Any

import gradio as gr

from ..params import Param
from .callbacks import as_seed, checked, number, require_text, shown_in_page
from .fitting import bounds, call_spec_of, can_walk, examples_for
from .models import catalog_defaults, slot_task, takes_prompt
from .painting import PROMPT_KEYWORDS, image_caption, paint
from .studio import Studio, Tab
from .widgets import (
    PRIVATE,
    Picker,
    checked_control,
    control,
    model_picker,
    seed_box,
    stop_button,
    wire_run,
)

MAX_IMAGES = 16
# The page's controls; the sliders start at 0 (and guidance at -1): "the model's own default".
STEPS = Param("num_inference_steps", int, 0, "0: the model's default", low=0, high=100)
GUIDANCE = Param("guidance_scale", float, -1, "-1: the model's default", low=-1)
WIDTH = Param("width", int, 0, "0: the model's own size", low=0, high=2048)
HEIGHT = Param("height", int, 0, "0: the model's own size", low=0, high=2048)
NUM_IMAGES = Param("num_images", int, 1, low=1, high=MAX_IMAGES)
SIZE_KEYS = ("num_inference_steps", "guidance_scale", "width", "height")


def seed_example_label(example: dict[str, Any], pictures: int) -> str:
    """What a seed example makes, in words ('8 faces from seed 7', 'seed 3 → 11 in 8 frames')."""
    if "interpolate_to" in example:
        return (
            f"a walk from seed {example['seed']} to seed {example['interpolate_to']} "
            f"in {example.get('frames', 8)} frames"
        )
    return f"{pictures} pictures from seed {example['seed']}"


def seed_examples(name: str) -> tuple[list[list[Any]], list[str]]:
    """The unconditional examples of a model as rows (seed, pictures, walk-to seed, frames)."""
    pictures = catalog_defaults(name).get("num_images", 4)
    rows, labels = [], []
    for example in examples_for("image", name):
        if isinstance(example, dict):
            rows.append(
                [
                    example["seed"],
                    example.get("num_images", pictures),
                    example.get("interpolate_to", -1),
                    example.get("frames", 8),
                ]
            )
            labels.append(seed_example_label(example, pictures))
    return rows, labels


def prompt_examples(name: str) -> list[list[str]]:
    return [[example] for example in examples_for("image", name) if isinstance(example, str)]


def gallery_layout(summary: str) -> Any:
    """A strip of frames gets the gallery's whole width; pictures sit four to a row."""
    return gr.Gallery(columns=1 if (summary or "").startswith("a strip") else 4)


def shown_controls(studio: Studio, name: str) -> dict[str, bool]:
    """Which controls a model takes: its call spec's keywords, no prompt box (nor negative
    prompt, nor guidance) for a model that draws without a prompt, and the walk between
    seeds for a model that has one."""
    if not studio.knows("image", name):
        return dict.fromkeys(("prompt", "negative_prompt", "walk", *SIZE_KEYS), True)
    spec = call_spec_of("image", name)
    names = frozenset(spec.names) if spec is not None else None
    prompted = takes_prompt(slot_task("image", name))
    shown = {
        key: (names is None or key in names) and (prompted or key not in PROMPT_KEYWORDS)
        for key in ("negative_prompt", *SIZE_KEYS)
    }
    return {"prompt": prompted, "walk": can_walk(name), **shown}


class ImageTab(Tab):
    """Pictures from a prompt, or from seeds for an unconditional model."""

    async def generate(
        self,
        model: str,
        prompt: str,
        negative_prompt: str,
        steps: float,
        guidance: float | None,
        width: float,
        height: float,
        seed: Any,
        num_images: float,
        interpolate_to: float | None = -1,
        frames: float | None = 8,
        progress=gr.Progress(),  # noqa: B008
    ) -> tuple[list[tuple[str, str]], list[str], str]:
        """Pictures as PNG files with their parameters: (gallery, files, summary)."""
        with shown_in_page():
            name = self.studio.model_name("image", model)
            drawn_from_prompt = takes_prompt(slot_task("image", name))
            if drawn_from_prompt:
                prompt = require_text(prompt, "The prompt")
            guidance = number(guidance, "guidance_scale")
            walk_to = number(interpolate_to, "interpolate_to")
            keywords = checked(
                call_spec_of("image", name),
                negative_prompt=(negative_prompt or "").strip() or None,
                num_inference_steps=number(steps, "num_inference_steps") or None,  # 0: default
                guidance_scale=None if guidance is None or guidance < 0 else guidance,
                width=number(width, "width") or None,
                height=number(height, "height") or None,
                seed=as_seed(seed),
                num_images=number(num_images, "num_images"),
            )
            if walk_to is not None and walk_to >= 0:
                keywords.update(interpolate_to=walk_to, frames=number(frames, "frames") or 8)
            resample = catalog_defaults(name).get("resample")
            if resample:
                keywords["resample"] = resample
        started = time.perf_counter()
        generator, result, paths = await paint(
            self.studio, name, prompt, keywords, folder="images", progress=progress
        )
        gallery = [(path, image_caption(result, i)) for i, path in enumerate(paths)]
        note = "" if takes_prompt(generator.task) else f" · {result.model} draws without a prompt"
        made = "a strip of frames" if "frames" in result.parameters else f"{len(paths)} picture(s)"
        summary = (
            f"{made} in {time.perf_counter() - started:.1f} s on "
            f"{result.device} / {result.dtype} · seeds {', '.join(map(str, result.seeds))} · "
            f"each PNG carries its parameters{note}"
        )
        return gallery, paths, summary

    def settings(self, name: str) -> tuple[Any, ...]:
        """Another model: its defaults and bounds, only the controls it takes, its examples."""
        if not self.studio.knows("image", name):
            return (gr.skip(),) * 10
        found = catalog_defaults(name)
        shown = shown_controls(self.studio, name)
        sizes = []
        for key, fallback in zip(SIZE_KEYS, (STEPS, GUIDANCE, WIDTH, HEIGHT), strict=True):
            low, high = bounds("image", name, key, fallback.low, fallback.high or 1e9)
            sizes.append(
                gr.update(
                    value=found.get(key, fallback.default),
                    visible=shown[key],
                    **({"maximum": high} if fallback.high else {}),
                )
            )
        _, most = bounds("image", name, "num_images", 1, MAX_IMAGES)
        rows, labels = seed_examples(name)
        return (
            gr.update(visible=shown["prompt"]),
            gr.update(value="", visible=shown["negative_prompt"]),
            *sizes,
            gr.update(value=min(found.get("num_images", 1), most), maximum=most),
            gr.update(visible=shown["walk"]),
            gr.Dataset(samples=prompt_examples(name) or [[""]], visible=shown["prompt"]),
            gr.Dataset(
                samples=rows or [[-1, 1, -1, 8]],
                sample_labels=labels or None,
                visible=not shown["prompt"],
            ),
        )

    def build(self, default: str, limit: dict[str, Any]) -> Picker:
        defaults = catalog_defaults(default)
        shown = shown_controls(self.studio, default)
        picker = model_picker(
            "image", default, api_name="load_image", served=self.studio.served("image")
        )

        def sized(param: Param, **look: Any) -> gr.Component:
            """A control that starts at the model's default, within its bounds, shown if taken."""
            low, high = bounds("image", default, param.name, param.low, param.high or 1e9)
            if param.high is not None:
                look.setdefault("maximum", high)
            return control(
                "image",
                param,
                value=defaults.get(param.name),
                info=param.help,
                visible=shown[param.name],
                **look,
            )

        with gr.Row():
            with gr.Column(scale=2):
                prompt = gr.Textbox(
                    label="Prompt",
                    lines=3,
                    elem_id="image-prompt",
                    placeholder="a lighthouse on a cliff at sunset, oil painting",
                    visible=shown["prompt"],
                )
                negative = gr.Textbox(
                    label="Negative prompt",
                    elem_id="image-negative",
                    info="what the picture should not have (needs guidance above 1)",
                    visible=shown["negative_prompt"],
                )
                with gr.Row():
                    steps = sized(STEPS, label="Steps", minimum=0, elem_id="image-steps")
                    guidance = sized(GUIDANCE, label="Guidance", minimum=-1, maximum=None)
                with gr.Row():
                    width, height = (
                        sized(param, step=8, minimum=0, elem_id=f"image-{param.name}")
                        for param in (WIDTH, HEIGHT)
                    )
                seed = seed_box("image-seed")
                _, most = bounds("image", default, "num_images", 1, MAX_IMAGES)
                num_images = control(
                    "image",
                    NUM_IMAGES,
                    value=min(defaults.get("num_images", 1), most),
                    label="Pictures",
                    info=None,
                    maximum=most,
                    elem_id="image-count",
                )
                with gr.Row(visible=shown["walk"]) as walk_row:
                    walk_to = checked_control(
                        gr.Number,
                        "interpolate_to",
                        label="Walk to seed",
                        value=-1,
                        precision=0,
                        minimum=-1,
                        info="-1: separate pictures; a seed: a strip from Seed to this one",
                        elem_id="image-walk-to",
                    )
                    frames = checked_control(
                        gr.Slider,
                        "frames",
                        minimum=2,
                        maximum=16,
                        value=8,
                        step=1,
                        label="Frames",
                        elem_id="image-frames",
                    )
                with gr.Row():
                    go = gr.Button("Generate", variant="primary", elem_id="image-generate")
                    stop = stop_button("image-stop")
                prompt_rows = prompt_examples(default)
                prompted_examples = gr.Examples(
                    prompt_rows or [[""]],
                    inputs=[prompt],
                    cache_examples=False,
                    visible=shown["prompt"],
                    elem_id="image-examples",
                )
                rows, labels = seed_examples(default)
                seed_rows = gr.Examples(
                    rows or [[-1, 1, -1, 8]],
                    inputs=[seed, num_images, walk_to, frames],
                    example_labels=labels or None,
                    cache_examples=False,
                    visible=not shown["prompt"],
                    label="Examples (this model draws without a prompt: seeds)",
                    elem_id="image-seed-examples",
                )
            with gr.Column(scale=3):
                gallery = gr.Gallery(
                    label="Pictures",
                    columns=4,
                    height=460,
                    object_fit="scale-down",
                    elem_id="image-gallery",
                    elem_classes=["crisp"],
                    format="png",
                    buttons=["download", "fullscreen"],
                )
                files = gr.File(
                    label="PNG files (with their parameters)",
                    file_count="multiple",
                    elem_id="image-files",
                )
                summary = gr.Markdown(elem_id="image-summary")
        inputs = [
            picker.dropdown,
            prompt,
            negative,
            steps,
            guidance,
            width,
            height,
            seed,
            num_images,
            walk_to,
            frames,
        ]
        outputs = [gallery, files, summary]
        event = wire_run(
            go,
            stop,
            self.generate,
            inputs,
            outputs,
            api_name="image",
            limit=limit,
            pickers=[picker],
            status=self.studio.status_of,
        )
        event.then(gallery_layout, summary, gallery, **PRIVATE)
        controls = [
            prompt,
            negative,
            steps,
            guidance,
            width,
            height,
            num_images,
            walk_row,
            prompted_examples.dataset,
            seed_rows.dataset,
        ]
        picker.dropdown.change(self.settings, picker.dropdown, controls, **PRIVATE)
        return picker
