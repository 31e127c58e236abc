"""The image parameter spec: what an image generator's call takes besides the prompt.

One list read by the generators (``Generator.settings`` checks a call with it), by
``genai image`` (``add_arguments`` / ``from_arguments`` build and read its flags) and by
results (``record``). A family narrows it with ``.only`` / ``.plus``: the face GAN takes no
steps, guidance or scheduler, and adds ``resample``. Bounds that depend on the model (its
native size, its scheduler's timesteps) are checked by the backend after these.
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidParameterError
from ..params import Param, ParamSpec, show_value
from ..seeding import MAX_SEED

MAX_STEPS = 1000  # denoising steps a call may ask for (schedulers are trained on 1000)
MAX_IMAGES = 8  # per call for diffusion models: each picture is a full pipeline call
MAX_GAN_IMAGES = 64  # a GAN makes a picture in one small forward pass

# Resampling filters for resizing a picture (PIL names); the GAN's upscale records which.
RESAMPLE_FILTERS = ("nearest", "bilinear", "bicubic", "lanczos")


def _callable(value: Any) -> Any:
    if not callable(value):
        raise InvalidParameterError(
            f"progress={show_value(value)} must be a function progress(step, total)"
        )
    return value


def _event(value: Any) -> Any:
    if not callable(getattr(value, "is_set", None)):
        raise InvalidParameterError(
            f"cancel={show_value(value)} must be a threading.Event (anything with is_set()); set it to stop"
        )
    return value


IMAGE_SPEC = ParamSpec(
    "image",
    (
        Param("negative_prompt", str, help="what to keep out of the picture"),
        Param(
            "num_inference_steps",
            int,
            low=1,
            high=MAX_STEPS,
            flag="--steps",
            help="denoising steps (default: the model's)",
        ),
        Param(
            "guidance_scale",
            float,
            low=0.0,
            high=100.0,
            flag="--guidance",
            help="guidance (CFG) scale (default: the model's)",
        ),
        Param("width", int, low=8, high=8192, help="width in pixels (a multiple of 8)"),
        Param("height", int, low=8, high=8192, help="height in pixels (a multiple of 8)"),
        Param(
            "num_images",
            int,
            default=1,
            low=1,
            high=MAX_IMAGES,
            help=f"how many pictures (at most {MAX_IMAGES} per call)",
        ),
        Param(
            "seed",
            int,
            low=0,
            high=MAX_SEED,
            help="seed of the first picture (seed+i for the i-th)",
        ),
        Param(
            "scheduler", str, help="euler, euler_a, dpm++, ddim, lcm, ... (default: the model's)"
        ),
        Param(
            "init_image",
            object,
            record=False,  # recorded as its file path by the backend, when it has one
            help="start from this picture (image-to-image): a file path or a PIL image",
        ),
        Param(
            "strength",
            float,
            low=0.0,
            low_open=True,
            high=1.0,
            help="how far to move from --init-image, 0 to 1",
        ),
        Param(
            "progress",
            object,
            record=False,
            flag="",
            check=_callable,
            help="progress(step, total) after every step; raise GenerationCancelled in it to stop",
        ),
        Param(
            "cancel",
            object,
            record=False,
            flag="",
            check=_event,
            help="a threading.Event: when set, generation stops at the next step",
        ),
    ),
)

# Call parameters of the DCGAN face generator: no text, no steps; width/height upscale.
GAN_SPEC = IMAGE_SPEC.only("width", "height", "num_images", "seed", "progress", "cancel").plus(
    Param(
        "num_images",
        int,
        default=1,
        low=1,
        high=MAX_GAN_IMAGES,
        help=f"how many pictures (at most {MAX_GAN_IMAGES} per call)",
    ),
    Param("width", int, low=8, high=1024, help="display width: the picture is resized to it"),
    Param("height", int, low=8, high=1024, help="display height: the picture is resized to it"),
    Param(
        "resample",
        str,
        choices=RESAMPLE_FILTERS,
        help="filter for resizing to width/height (default lanczos)",
    ),
)

# Options `genai.load` takes for diffusion image models besides device/dtype/device_map.
DIFFUSION_LOAD_OPTIONS = (
    "attention_slicing",
    "vae_tiling",
    "tiny_vae",
    "cpu_offload",
    "config",
    "max_size",
)

# Every image flag on the command line: the diffusion spec plus the GAN's own.
CLI_SPEC = IMAGE_SPEC.plus(GAN_SPEC["resample"])
