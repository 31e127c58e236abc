"""Checking one call of a diffusers image generator: every argument checked against the
image spec and the model (native size, size budget, schedulers, image-to-image), defaults
filled in, nothing clamped, before any model work; and the per-step hook that reports
progress and stops a cancelled call.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from ..errors import GenerationCancelled, InputTooLongError, InvalidParameterError, WrongTaskError
from ..params import check_int
from ..params import check_prompt as check_prompt_text
from ..seeding import MAX_SEED, resolve_seed
from ..specs.image import IMAGE_SPEC
from .image_load import open_image

logger = logging.getLogger("genai.image")

MIN_SIDE = 64  # or the model's native size, if smaller
DEFAULT_STRENGTH = 0.75


@dataclass
class Settings:
    """Checked settings for one call."""

    prompt: str | None
    negative_prompt: str | None
    num_inference_steps: int
    guidance_scale: float | None
    width: int
    height: int
    seeds: list[int]
    scheduler: str
    init_image: Any = None  # a PIL image, or None for text-to-image
    init_image_path: str | None = None
    strength: float | None = None
    progress: Any = None
    cancel: Any = None
    notes: list[str] = field(default_factory=list)

    def parameters(self) -> dict[str, Any]:
        record = IMAGE_SPEC.without("negative_prompt", "seed").record(
            {**self.__dict__, "num_images": len(self.seeds)}
        )
        if self.init_image is not None:
            record["init_image"] = self.init_image_path
        else:
            record.pop("strength", None)
        if any("prompt was cut" in note for note in self.notes):
            record["prompt_truncated"] = True
        return record


class Steps:
    """Counts denoising steps over all pipeline calls of a call (one for a batch, one per
    picture where the pipeline does not batch), reports ``progress(done, total)`` in
    picture-steps (a step of a batch of 4 is 4 of them, so the total is steps x pictures
    whether or not the pipeline batched) and stops the call (GenerationCancelled) once
    ``cancel`` is set."""

    def __init__(self, settings: Settings, name: str, calls: int = 1):
        self.progress, self.cancel = settings.progress, settings.cancel
        self.images, self.name = len(settings.seeds), name
        self.per_call = max(1, self.images // calls)  # pictures each pipeline call makes
        self.steps_run = 0  # pipeline steps, for the message

    def check(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise GenerationCancelled(
                f"model {self.name!r}: cancelled after {self.steps_run} denoising steps"
            )

    def __call__(self, steps_per_call: int) -> None:
        self.steps_run += 1
        if self.progress is not None:
            done = self.steps_run * self.per_call
            self.progress(done, steps_per_call * self.images)
        self.check()


def check_call(gen, prompt: Any, given: dict[str, Any]) -> Settings:
    """Every argument checked (nothing clamped), defaults filled in, before any model work."""
    if not gen.loaded:
        raise InvalidParameterError(
            f"model {gen.name!r} was unloaded; load it again with genai.load"
        )
    values = gen.settings(given)  # unknown names, types, bounds; defaults filled in
    asked = {k: v for k, v in {**gen.options, **given}.items() if v is not None}
    notes: list[str] = []
    prompt = _check_prompt(gen, prompt, asked, notes)
    image, image_path, strength = _check_init_image(gen, values, asked)
    steps = _check_steps(gen, values["num_inference_steps"], strength, asked)
    width, height = _check_size(gen, values, asked, image)
    if image is not None and image.size != (width, height):
        from PIL import Image

        image = image.resize((width, height), Image.LANCZOS)
    guidance = values["guidance_scale"] if gen.kind.takes_prompt else None
    negative = (values["negative_prompt"] or "").strip() and values["negative_prompt"]
    if negative and not gen.kind.takes_negative_prompt:
        raise InvalidParameterError(f"negative_prompt: model {gen.name!r} takes none")
    if negative and guidance is not None and guidance <= 1.0:
        logger.warning("negative_prompt has no effect with guidance_scale <= 1 (here %s)", guidance)
    base_seed = resolve_seed(values["seed"])
    return Settings(
        prompt=prompt,
        negative_prompt=negative or None,
        num_inference_steps=steps,
        guidance_scale=guidance,
        width=width,
        height=height,
        seeds=[(base_seed + i) % (MAX_SEED + 1) for i in range(values["num_images"])],
        scheduler=_check_scheduler(gen, values["scheduler"]),
        init_image=image,
        init_image_path=image_path,
        strength=strength,
        progress=values["progress"],
        cancel=values["cancel"],
        notes=notes,
    )


def _check_prompt(gen, prompt: Any, asked: dict[str, Any], notes: list[str]) -> str | None:
    if not gen.kind.takes_prompt:
        if prompt is not None:
            raise InvalidParameterError(
                f"model {gen.name!r} is unconditional: it takes no prompt; call it with none"
            )
        for key in ("negative_prompt", "guidance_scale"):
            if key in asked:
                raise InvalidParameterError(
                    f"{key}={asked[key]!r}: model {gen.name!r} is unconditional and takes no {key}"
                )
        return None
    if prompt is None:
        raise InvalidParameterError(
            f"prompt is missing; model {gen.name!r} makes pictures from a text prompt"
        )
    check_prompt_text(prompt)
    note = _truncation_note(gen, prompt)
    if note:
        logger.warning(note)
        notes.append(note)
        _quiet_library_truncation_warning()
    return prompt


class _SaidByGenai(logging.Filter):
    """Drops diffusers' own truncation warning, which prints the whole cut-off text (a 1 MB
    prompt: a 1 MB line); genai's note above says the same in one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("The following part of your input was truncated")


def _quiet_library_truncation_warning() -> None:
    for handler in logging.getLogger("diffusers").handlers:
        if not any(isinstance(f, _SaidByGenai) for f in handler.filters):
            handler.addFilter(_SaidByGenai())


def _truncation_note(gen, prompt: str) -> str | None:
    """Say so when the text encoder reads only the start of the prompt (CLIP: 77 tokens)."""
    tokenizer = getattr(gen.pipe, "tokenizer", None)
    limit = getattr(tokenizer, "model_max_length", None)
    if tokenizer is None or not isinstance(limit, int) or limit > 100_000:
        return None
    head = prompt[: limit * 20]  # enough text for more tokens than the limit
    count = len(tokenizer(head, truncation=False).input_ids)
    if count <= limit:
        return None
    more = "+" if len(head) < len(prompt) else ""
    return (
        f"the prompt is {count}{more} tokens long; model {gen.name!r} reads only the first "
        f"{limit}, so the prompt was cut there"
    )


def _check_init_image(gen, values: dict[str, Any], asked: dict[str, Any]):
    """(RGB image, its path, strength) for image-to-image, or (None, None, None)."""
    init_image = values["init_image"]
    if init_image is None and "strength" not in asked and gen.task != "image-to-image":
        return None, None, None
    if not gen.kind.image_to_image:
        raise no_image_to_image(gen, type(gen.pipe).__name__)
    if init_image is None:
        raise InvalidParameterError(
            "init_image is missing: image-to-image starts from a picture (a PIL image or a file path)"
        )
    image, path = open_image(init_image)
    strength = values["strength"] if values["strength"] is not None else DEFAULT_STRENGTH
    return image, path, strength


def _check_steps(gen, steps: int, strength: float | None, asked: dict[str, Any]) -> int:
    high = int(gen._default_scheduler.config.get("num_train_timesteps") or 1000)
    if strength is not None and "num_inference_steps" not in asked:
        steps = max(steps, _min_steps(strength))  # img2img runs int(steps * strength)
    check_int("num_inference_steps", steps, low=1, high=high)
    if strength is not None and int(steps * strength) < 1:
        raise InvalidParameterError(
            f"num_inference_steps={steps} with strength={strength} runs no step (image-to-image runs "
            f"int(steps * strength)); use num_inference_steps={_min_steps(strength)} or a higher strength"
        )
    return steps


def _check_size(gen, values: dict[str, Any], asked: dict[str, Any], image) -> tuple[int, int]:
    """(width, height): asked, else the input picture's (rounded down to the multiple), else the default."""
    width, height = values["width"], values["height"]
    if image is not None:
        multiple = gen.size_multiple
        if "width" not in asked:
            width = max(image.width // multiple * multiple, multiple)
        if "height" not in asked:
            height = max(image.height // multiple * multiple, multiple)
    native_width, native_height = gen.native_size
    if gen.kind.fixed_size:
        if ("width" in asked or "height" in asked) and (width, height) != gen.native_size:
            raise InvalidParameterError(
                f"width={width}, height={height}: model {gen.name!r} makes "
                f"{native_width}x{native_height} pictures only; leave width and height out"
            )
        return gen.native_size
    width = native_width if width is None else width
    height = native_height if height is None else height
    return _check_side(gen, "width", width), _check_side(gen, "height", height)


def _check_side(gen, name: str, value: int) -> int:
    low = min(MIN_SIDE, min(gen.native_size))
    check_int(name, value, low=low, fix=f"the model's native size is {gen.native_size[0]}")
    if value > gen.max_side:
        raise InputTooLongError(
            f"{name}={value} is above {gen.max_side}, the largest model {gen.name!r} makes on "
            f"{gen.placement.device} (native {max(gen.native_size)}); ask for less, or load "
            "with max_size=N to allow more"
        )
    if value % gen.size_multiple:
        below = value // gen.size_multiple * gen.size_multiple
        raise InvalidParameterError(
            f"{name}={value} is not a multiple of {gen.size_multiple}; use {below} or "
            f"{below + gen.size_multiple}"
        )
    return value


def _check_scheduler(gen, scheduler: str | None) -> str:
    if scheduler is None:
        return gen.default_scheduler_name
    allowed = gen.scheduler_names()
    if scheduler.lower() not in [n.lower() for n in allowed]:
        raise InvalidParameterError(
            f"scheduler={scheduler!r} does not fit model {gen.name!r}; use one of: {', '.join(allowed)}"
        )
    return next(n for n in allowed if n.lower() == scheduler.lower())


# --- generation -----------------------------------------------------------------------


def no_image_to_image(gen, pipeline: str) -> WrongTaskError:
    return WrongTaskError(
        f"model {gen.name!r} ({pipeline}) cannot do image-to-image in genai; "
        "use a Stable Diffusion-style model such as sd-turbo"
    )


def _min_steps(strength: float) -> int:
    """The fewest steps for which image-to-image at this strength runs at least one."""
    steps = 1
    while int(steps * strength) < 1:
        steps += 1
    return steps
