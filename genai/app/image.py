"""The Image tab: pictures from a prompt (or none, for an unconditional model), as PNG files
that carry their parameters."""

from __future__ import annotations

import time
from typing import Any

import gradio as gr

from ..params import Param
from .callbacks import Studio, Tab, as_int, as_seed, given, in_thread, require_text
from .models import call_names, catalog_defaults, slot_task, takes_prompt
from .widgets import PRIVATE, Picker, control, model_picker, seed_box, stop_button, wire_run

MAX_IMAGES = 4
# The controls, as the image spec declares them once it does (genai.specs.image). The
# sliders start at 0 (and guidance at -1): "the model's own default".
STEPS = Param("num_inference_steps", int, 0, "0: the model's default", low=0, high=100)
GUIDANCE = Param("guidance_scale", float, -1, "-1: the model's default", low=-1)
WIDTH = Param("width", int, 0, "0: the model's own size", low=0, high=2048)
HEIGHT = Param("height", int, 0, "0: the model's own size", low=0, high=2048)
NUM_IMAGES = Param("num_images", int, 1, low=1, high=MAX_IMAGES)
# Keywords that only a model drawing from a prompt takes.
PROMPT_KEYWORDS = ("negative_prompt", "guidance_scale")
EXAMPLES = [
    ["a lighthouse on a cliff at sunset, oil painting", ""],
    ["a red fox in the snow, watercolor", "blurry"],
    ["a cozy cabin in a pine forest, digital art", ""],
]


def image_caption(result: Any, index: int) -> str:
    p = result.parameters
    guidance = p.get("guidance_scale")
    steps = p.get("num_inference_steps")
    parts = [
        f"seed {result.seeds[index]}",
        f"{steps} steps" if steps else None,
        f"guidance {guidance:g}" if isinstance(guidance, (int, float)) else None,
        f"{p.get('width')}×{p.get('height')}" if p.get("width") else None,
        result.model,
    ]
    return " · ".join(part for part in parts if part)


async def paint(
    studio: Studio,
    generator: Any,
    prompt: str | None,
    keywords: dict[str, Any],
    *,
    folder: str,
    progress: gr.Progress | None,
) -> tuple[Any, list[str]]:
    """Call an image generator (no prompt for an unconditional one) and save its PNGs."""
    accepted = frozenset(getattr(generator, "call_spec", ()) and generator.call_spec.names)
    keywords = {k: v for k, v in keywords.items() if not accepted or k in accepted}
    if not takes_prompt(generator.task):
        keywords = {k: v for k, v in keywords.items() if k not in PROMPT_KEYWORDS}
    arguments = [prompt] if takes_prompt(generator.task) else []
    result, saved = await studio.generate(
        generator,
        arguments,
        keywords,
        folder=folder,
        progress=progress,
        what="denoising",
        unit="steps",
    )
    files = [str(path) for path in saved]
    return result, [path for path in files if path.endswith(".png")]


def model_control(
    param: Param, defaults: dict[str, Any], shown: dict[str, bool], **look: Any
) -> gr.Component:
    """A control that starts at the model's catalog default and shows if the model takes it."""
    return control(
        "image",
        param,
        value=defaults.get(param.name),
        info=param.help,
        visible=shown[param.name],
        **look,
    )


def shown_controls(name: str) -> dict[str, bool]:
    """Which controls a model takes: its call spec's keywords, and no prompt box (nor negative
    prompt, nor guidance) for a model that draws without a prompt."""
    names = call_names("image", name)
    prompted = takes_prompt(slot_task("image", name))
    keys = ("negative_prompt", "num_inference_steps", "guidance_scale", "width", "height")
    shown = {
        key: (names is None or key in names) and (prompted or key not in PROMPT_KEYWORDS)
        for key in keys
    }
    return {"prompt": prompted, **shown}


class ImageTab(Tab):
    """Pictures from a prompt, or from nothing for an unconditional model."""

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
        progress=gr.Progress(),  # noqa: B008
    ) -> tuple[list[tuple[str, str]], list[str], str]:
        """Pictures as PNG files with their parameters: (gallery, files, summary)."""
        drawn_from_prompt = takes_prompt(slot_task("image", model or self.studio.defaults["image"]))
        if drawn_from_prompt:
            prompt = require_text(prompt, "The prompt")
        generator = await in_thread(lambda _: self.studio.load("image", model, progress))
        keywords = given(
            negative_prompt=(negative_prompt or "").strip() or None,
            num_inference_steps=as_int(steps) or None,  # 0: the model's default
            guidance_scale=None if guidance is None or guidance < 0 else guidance,
            width=as_int(width) or None,
            height=as_int(height) or None,
            seed=as_seed(seed),
            num_images=as_int(num_images),
        )
        started = time.perf_counter()
        result, paths = await paint(
            self.studio, generator, prompt, keywords, folder="images", progress=progress
        )
        gallery = [(path, image_caption(result, i)) for i, path in enumerate(paths)]
        note = "" if takes_prompt(generator.task) else f" · {result.model} draws without a prompt"
        summary = (
            f"{len(paths)} picture(s) in {time.perf_counter() - started:.1f} s on "
            f"{result.device} / {result.dtype} · seeds {', '.join(map(str, result.seeds))} · "
            f"each PNG carries its parameters{note}"
        )
        return gallery, paths, summary

    def settings(self, name: str) -> tuple[Any, ...]:
        """Another model: its defaults, and only the controls it takes."""
        found = catalog_defaults(name)
        shown = shown_controls(name)
        return (
            gr.update(visible=shown["prompt"]),
            gr.update(value="", visible=shown["negative_prompt"]),
            *(
                gr.update(value=found.get(key, fallback.default), visible=shown[key])
                for key, fallback in (
                    ("num_inference_steps", STEPS),
                    ("guidance_scale", GUIDANCE),
                    ("width", WIDTH),
                    ("height", HEIGHT),
                )
            ),
        )

    def build(self, default: str, limit: dict[str, Any]) -> Picker:
        defaults = catalog_defaults(default)
        shown = shown_controls(default)
        picker = model_picker("image", default, api_name="load_image")
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
                    steps = model_control(STEPS, defaults, shown, label="Steps", minimum=0)
                    guidance = model_control(
                        GUIDANCE, defaults, shown, label="Guidance", minimum=-1, maximum=None
                    )
                with gr.Row():
                    width, height = (
                        model_control(param, defaults, shown, step=8, minimum=0)
                        for param in (WIDTH, HEIGHT)
                    )
                seed = seed_box("image-seed")
                num_images = control("image", NUM_IMAGES, value=1, label="Pictures", info=None)
                with gr.Row():
                    go = gr.Button("Generate", variant="primary", elem_id="image-generate")
                    stop = stop_button("image-stop")
                gr.Examples(EXAMPLES, inputs=[prompt, negative], cache_examples=False)
            with gr.Column(scale=3):
                gallery = gr.Gallery(
                    label="Pictures",
                    columns=2,
                    height=460,
                    elem_id="image-gallery",
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
        ]
        outputs = [gallery, files, summary]
        wire_run(
            go,
            stop,
            self.generate,
            inputs,
            outputs,
            api_name="image",
            limit=limit,
            pickers=[picker],
        )
        controls = [prompt, negative, steps, guidance, width, height]
        picker.dropdown.change(self.settings, picker.dropdown, controls, **PRIVATE)
        return picker
