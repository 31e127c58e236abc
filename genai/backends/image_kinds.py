"""The kinds of diffusers image pipeline genai runs, one small class each.

A kind says what its pipeline takes (a prompt? a negative prompt? image-to-image?), its
defaults for a model outside the catalog, its native size, the schedulers it can swap in,
and how one picture is made with a per-step hook (for progress and cancelling). The
generator (genai.backends.image) picks the kind from the loaded pipeline and asks it;
it never compares kind names.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from ..errors import UnsupportedModelError

# Short scheduler names -> diffusers class and the config changes that make it that sampler.
SCHEDULERS: dict[str, tuple[str, dict[str, Any]]] = {
    "euler": ("EulerDiscreteScheduler", {}),
    "euler_a": ("EulerAncestralDiscreteScheduler", {}),
    "dpm++": ("DPMSolverMultistepScheduler", {}),
    "dpm++_karras": ("DPMSolverMultistepScheduler", {"use_karras_sigmas": True}),
    "ddim": ("DDIMScheduler", {}),
    "ddpm": ("DDPMScheduler", {}),
    "pndm": ("PNDMScheduler", {}),
    "lms": ("LMSDiscreteScheduler", {}),
    "heun": ("HeunDiscreteScheduler", {}),
    "unipc": ("UniPCMultistepScheduler", {}),
    "lcm": ("LCMScheduler", {}),
}

Step = Callable[[int], None]  # called after each denoising step with the steps per picture


class Kind:
    """Stable Diffusion-style: UNet + KL autoencoder + CLIP text (SD 1.x/2.x, sd-turbo, SDXL)."""

    name: ClassVar[str] = "sd"
    takes_prompt: ClassVar[bool] = True
    takes_negative_prompt: ClassVar[bool] = True
    image_to_image: ClassVar[bool] = True
    has_kl_autoencoder: ClassVar[bool] = True  # tiny_vae replaces it
    fixed_size: ClassVar[bool] = False  # True: the model makes its native size only
    # True: one pipeline call makes all the pictures, each from its own generator in a list.
    batches: ClassVar[bool] = True
    defaults: ClassVar[dict[str, Any]] = {"num_inference_steps": 25, "guidance_scale": 7.5}

    def native_size(self, pipe) -> tuple[int, int]:
        """(width, height) the model was trained at, from its own config."""
        size = getattr(pipe, "default_sample_size", None) or pipe.unet.config.sample_size
        return _scaled(size, pipe.vae_scale_factor)

    def scheduler_names(self) -> tuple[str, ...]:
        return tuple(SCHEDULERS)

    def pipeline_arguments(self, settings, images: int = 1) -> dict[str, Any]:
        """Keyword arguments of one pipeline call making ``images`` pictures, without the
        generator and step hook."""
        kwargs: dict[str, Any] = {
            "num_inference_steps": settings.num_inference_steps,
            "prompt": settings.prompt,
            "guidance_scale": settings.guidance_scale,
            "num_images_per_prompt": images,
        }
        if settings.negative_prompt is not None:
            kwargs["negative_prompt"] = settings.negative_prompt
        if settings.init_image is not None:
            kwargs.update(image=settings.init_image, strength=settings.strength)
        else:
            kwargs.update(width=settings.width, height=settings.height)
        return kwargs

    def run(self, pipe, kwargs: dict[str, Any], step: Step):
        """One pipeline call; ``step`` after every denoising step (it may raise to stop)."""

        def on_step_end(pipeline, index, timestep, tensors):
            step(pipeline.num_timesteps)
            return {}

        return pipe(**kwargs, callback_on_step_end=on_step_end)


class LatentConsistency(Kind):
    """LCM: Stable Diffusion distilled to a few steps; no negative prompt."""

    name = "lcm"
    takes_negative_prompt = False
    defaults = {"num_inference_steps": 4, "guidance_scale": 8.5}


class Amused(Kind):
    """aMUSEd: masked-token prediction over a VQ autoencoder; its own scheduler only."""

    name = "amused"
    image_to_image = False
    has_kl_autoencoder = False
    # Its scheduler samples the whole batch from one generator (AmusedScheduler.step takes
    # no list): a picture would depend on the others, so each picture is a call of its own.
    batches = False
    defaults = {"num_inference_steps": 12, "guidance_scale": 10.0}

    def native_size(self, pipe) -> tuple[int, int]:
        return _scaled(pipe.transformer.config.sample_size, pipe.vae_scale_factor)

    def scheduler_names(self) -> tuple[str, ...]:
        return ()

    def run(self, pipe, kwargs: dict[str, Any], step: Step):
        steps = kwargs["num_inference_steps"]
        return pipe(**kwargs, callback=lambda *_: step(steps), callback_steps=1)


class Unconditional(Kind):
    """DDPM/DDIM in pixel space: no prompt, no guidance, the native size only."""

    name = "unconditional"
    takes_prompt = False
    takes_negative_prompt = False
    image_to_image = False
    has_kl_autoencoder = False
    fixed_size = True
    defaults = {"num_inference_steps": 50}

    def native_size(self, pipe) -> tuple[int, int]:
        return _scaled(pipe.unet.config.sample_size, 1)

    def scheduler_names(self) -> tuple[str, ...]:
        # Pixel-space pipelines call scheduler.step(output, t, sample, generator=...) only.
        return ("ddpm", "ddim")

    def pipeline_arguments(self, settings, images: int = 1) -> dict[str, Any]:
        return {"num_inference_steps": settings.num_inference_steps, "batch_size": images}

    def run(self, pipe, kwargs: dict[str, Any], step: Step):
        # output_type="pt", made into pictures here: the pipeline hands its tensor to numpy
        # as it is, which fails for bfloat16 (a GPU's default); float32 first, then as
        # diffusers' numpy_to_pil does (x 255, rounded).
        with _counting_steps(pipe.scheduler, step):
            output = pipe(**kwargs, output_type="pt")
        array = output.images.float().cpu().permute(0, 2, 3, 1).numpy()
        output.images = pipe.numpy_to_pil(array)
        return output


def kind_of(pipe) -> Kind:
    """The kind of a loaded pipeline, read from its components."""
    name = type(pipe).__name__
    if hasattr(pipe, "vqvae") and hasattr(pipe, "transformer"):
        return Amused()
    if "prompt" not in inspect.signature(pipe.__call__).parameters:
        return Unconditional()
    if not (hasattr(pipe, "unet") and hasattr(pipe, "vae")):
        raise UnsupportedModelError(f"{name} is not a pipeline genai's image backend runs")
    return LatentConsistency() if name.startswith("LatentConsistency") else Kind()


def scheduler_name(scheduler) -> str:
    """The short name of a scheduler object, or its class name when none fits."""
    class_name = type(scheduler).__name__
    karras = bool(scheduler.config.get("use_karras_sigmas"))
    for name, (candidate, changes) in SCHEDULERS.items():
        if candidate == class_name and bool(changes.get("use_karras_sigmas")) == karras:
            return name
    return class_name


def make_scheduler(name: str, base):
    """Scheduler ``name`` built from the model's own scheduler config."""
    import diffusers

    class_name, changes = SCHEDULERS[name]
    return getattr(diffusers, class_name).from_config(base.config, **changes)


def _scaled(size, scale: int) -> tuple[int, int]:
    height, width = (size, size) if isinstance(size, int) else size
    return int(width) * scale, int(height) * scale


@contextlib.contextmanager
def _counting_steps(scheduler, step: Step) -> Iterator[None]:
    """Report steps of a pipeline that has no step callback (DDPM, DDIM) from its scheduler."""
    original = scheduler.step

    def counted(*args, **kwargs):
        result = original(*args, **kwargs)
        step(len(scheduler.timesteps))
        return result

    scheduler.step = counted
    try:
        yield
    finally:
        del scheduler.step  # the class's own method shows through again
