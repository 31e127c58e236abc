"""Images with diffusers: Stable Diffusion-style pipelines (SD 1.x/2.x, sd-turbo, SDXL, LCM),
aMUSEd, and unconditional DDPM/DDIM, from a hub id, a folder or one checkpoint file.

Reads top to bottom: load (pipeline, tiny autoencoder, memory options, placement), validate,
generate, unload. Every picture gets its own seed and its own CPU ``torch.Generator`` and
is made in its own pipeline call, so any one of them can be made again alone, pixel for
pixel (a batched call differs from a single one in the last float bits).
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import (
    GenaiMemoryError,
    InvalidParameterError,
    ModelNotAvailableError,
    UnsupportedModelError,
    WrongTaskError,
    require,
)
from ..generator import Generator
from ..hub import hub_errors, local_files_only, not_downloadable
from ..params import check_float, check_int, check_prompt
from ..results.image import ImageResult
from ..seeding import MAX_SEED, resolve_seed, torch_generator

logger = logging.getLogger("genai.image")

MAX_IMAGES = 8
MIN_SIDE = 64  # or the model's native size, if smaller
MAX_SIDE = 2048  # or twice the native size, if larger
DEFAULT_STRENGTH = 0.75
DEFAULT_TINY_VAE = "madebyollin/taesd"
DEFAULT_TINY_VAE_XL = "madebyollin/taesdxl"

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
# Where from_single_file finds the layout of a checkpoint of each kind (its default, said in errors).
_SINGLE_FILE_BASES = {
    "StableDiffusionPipeline": "stable-diffusion-v1-5/stable-diffusion-v1-5",
    "StableDiffusionXLPipeline": "stabilityai/stable-diffusion-xl-base-1.0",
}
# Pixel-space DDPM/DDIM pipelines call scheduler.step(output, t, sample, generator=...) only.
_UNCONDITIONAL_SCHEDULERS = ("ddpm", "ddim")

# Defaults for a model outside the catalog, by pipeline kind (catalog entries override them).
_KIND_DEFAULTS: dict[str, dict[str, Any]] = {
    "sd": {"num_inference_steps": 25, "guidance_scale": 7.5},
    "lcm": {"num_inference_steps": 4, "guidance_scale": 8.5},
    "amused": {"num_inference_steps": 12, "guidance_scale": 10.0},
    "unconditional": {"num_inference_steps": 50},
}

_OOM_ADVICE = (
    "out of memory while generating; try a smaller width/height, fewer images (num_images), "
    "or load with attention_slicing=True, vae_tiling=True, tiny_vae=True or cpu_offload=True"
)


@dataclass
class _Settings:
    """Checked settings for one call."""

    prompt: str | None
    negative_prompt: str | None
    num_inference_steps: int
    guidance_scale: float | None
    width: int
    height: int
    seeds: list[int]
    scheduler: str
    init_image: Any  # a PIL image, or None for text-to-image
    init_image_path: str | None
    strength: float | None

    def parameters(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "num_inference_steps": self.num_inference_steps,
            "guidance_scale": self.guidance_scale,
            "width": self.width,
            "height": self.height,
            "scheduler": self.scheduler,
            "num_images": len(self.seeds),
        }
        if self.init_image is not None:
            record.update(strength=self.strength, init_image=self.init_image_path)
        return record


class _Progress:
    """Counts denoising steps over all pictures of a call and reports ``progress(step, total)``."""

    def __init__(self, callback: Callable[[int, int], Any] | None, images: int):
        self.callback = callback
        self.images = images
        self.done = 0

    def step(self, steps_per_image: int) -> None:
        self.done += 1
        if self.callback is not None:
            self.callback(self.done, steps_per_image * self.images)


class ImageGenerator(Generator):
    """A diffusers image pipeline: ``gen(prompt, seed=1)`` returns an ImageResult."""

    modality = "image"

    def __init__(
        self,
        source,
        family,
        task,
        placement,
        *,
        attention_slicing: bool = False,
        vae_tiling: bool = False,
        cpu_offload: bool = False,
        tiny_vae: bool | str | os.PathLike | None = None,
        **options: Any,
    ):
        super().__init__(
            source,
            family,
            task,
            placement,
            attention_slicing=attention_slicing,
            vae_tiling=vae_tiling,
            cpu_offload=cpu_offload,
            tiny_vae=tiny_vae,
            **options,
        )
        for name, value in (
            ("attention_slicing", attention_slicing),
            ("vae_tiling", vae_tiling),
            ("cpu_offload", cpu_offload),
        ):
            if not isinstance(value, bool):
                raise InvalidParameterError(f"{name}={value!r} must be True or False")
        require("diffusers", "image")
        started = time.perf_counter()
        self.pipe = self._load_pipeline(options.get("config"))
        self.kind = self._kind(self.pipe)
        if task == "image-to-image" and not self.supports_img2img:
            raise WrongTaskError(
                f"model {self.name!r} ({type(self.pipe).__name__}) cannot do image-to-image in genai; "
                "use a Stable Diffusion-style model such as sd-turbo"
            )
        if tiny_vae:
            self._use_tiny_vae(tiny_vae)
        if vae_tiling:
            self._enable_vae_tiling()
        if attention_slicing:
            self.pipe.enable_attention_slicing()
        self._place(cpu_offload)
        self.pipe.set_progress_bar_config(disable=True)  # progress goes through `progress=`
        self.native_size = self._native_size()
        self.size_multiple = self._size_multiple()
        self._default_scheduler = self.pipe.scheduler
        self.default_scheduler_name = _scheduler_name(self.pipe.scheduler)
        self._schedulers: dict[str, Any] = {}
        self._img2img = None
        self._lock = threading.Lock()  # a pipeline holds per-call state (scheduler timesteps)
        self.load_seconds = time.perf_counter() - started

    # --- loading --------------------------------------------------------------------------

    def _load_pipeline(self, config: str | None):
        import diffusers

        kwargs: dict[str, Any] = {"torch_dtype": self.placement.dtype}  # see _quiet_dtype_rename
        if self.source.kind == "hub":
            kwargs["local_files_only"] = local_files_only()
        if self.placement.device_map is not None:
            device_map = self.placement.device_map
            kwargs["device_map"] = "balanced" if device_map == "auto" else device_map
        with hub_errors(self.source.name), _quiet_dtype_rename():
            if self.source.kind == "file":
                return self._load_single_file(kwargs, config)
            # DiffusionPipeline reads the class from model_index.json and prefers safetensors.
            return diffusers.DiffusionPipeline.from_pretrained(self.source.location, **kwargs)

    def _load_single_file(self, kwargs: dict[str, Any], config: str | None):
        """One original-format .safetensors/.ckpt checkpoint (SD 1.x/2.x or SDXL)."""
        import diffusers

        path = Path(self.source.location)
        if path.suffix not in (".safetensors", ".ckpt"):
            raise UnsupportedModelError(
                f"{path.name}: image checkpoints load from .safetensors or .ckpt files"
            )
        pipeline_class = diffusers.StableDiffusionPipeline
        if path.suffix == ".safetensors" and _is_sdxl_checkpoint(path):
            pipeline_class = diffusers.StableDiffusionXLPipeline
        kwargs.setdefault("local_files_only", local_files_only())
        if config is not None:
            kwargs["config"] = config  # a diffusers folder or hub id with the matching configs
        base = _SINGLE_FILE_BASES[pipeline_class.__name__]
        try:
            return pipeline_class.from_single_file(str(path), **kwargs)
        except OSError as error:  # diffusers reads the layout from the base model's configs
            raise ModelNotAvailableError(
                f"{path.name}: a single checkpoint file needs the configs of its base model ({base} for "
                f"this kind), which are not on disk ({error}); pass config=<a diffusers folder or hub id "
                "of the same kind> or convert the file to a diffusers folder"
            ) from error
        except (ValueError, KeyError, RuntimeError) as error:
            raise UnsupportedModelError(
                f"{path.name} could not be read as a Stable Diffusion or SDXL checkpoint ({error}); "
                "convert it to a diffusers folder, or pass config=<diffusers folder> with its configs"
            ) from error

    @staticmethod
    def _kind(pipe) -> str:
        """sd (UNet + KL autoencoder + text), lcm, amused, or unconditional (no prompt)."""
        name = type(pipe).__name__
        if hasattr(pipe, "vqvae") and hasattr(pipe, "transformer"):
            return "amused"
        if "prompt" not in inspect.signature(pipe.__call__).parameters:
            return "unconditional"
        if not (hasattr(pipe, "unet") and hasattr(pipe, "vae")):
            raise UnsupportedModelError(f"{name} is not a pipeline genai's image backend runs")
        return "lcm" if name.startswith("LatentConsistency") else "sd"

    @property
    def supports_img2img(self) -> bool:
        return self.kind in ("sd", "lcm")

    def _use_tiny_vae(self, tiny_vae: bool | str | os.PathLike) -> None:
        """Swap the autoencoder for AutoencoderTiny (TAESD): much faster decoding, slightly softer."""
        from diffusers import AutoencoderTiny
        from huggingface_hub import try_to_load_from_cache

        if self.kind not in ("sd", "lcm"):
            raise InvalidParameterError(
                f"tiny_vae={tiny_vae!r}: {type(self.pipe).__name__} has no KL autoencoder to replace; "
                "tiny_vae fits Stable Diffusion-style models"
            )
        if tiny_vae is True:
            xl = "XL" in type(self.pipe).__name__
            tiny_vae = DEFAULT_TINY_VAE_XL if xl else DEFAULT_TINY_VAE
        location = str(tiny_vae)
        kwargs: dict[str, Any] = {"torch_dtype": self.placement.dtype}
        if Path(location).expanduser().exists():
            location = str(Path(location).expanduser())
        else:
            kwargs["local_files_only"] = local_files_only()
            if kwargs["local_files_only"] and not isinstance(
                try_to_load_from_cache(location, "config.json"), str
            ):
                raise not_downloadable(location)
        with hub_errors(location), _quiet_dtype_rename():
            vae = AutoencoderTiny.from_pretrained(location, **kwargs)
        wanted = self.pipe.vae.config.latent_channels
        if vae.config.latent_channels != wanted:
            raise InvalidParameterError(
                f"tiny_vae={str(tiny_vae)!r} has {vae.config.latent_channels} latent channels, the model "
                f"{wanted}; use the tiny autoencoder made for this model family"
            )
        self.pipe.vae = vae

    def _enable_vae_tiling(self) -> None:
        vae = getattr(self.pipe, "vae", None)
        if vae is None or not hasattr(vae, "enable_tiling"):
            raise InvalidParameterError(
                f"vae_tiling=True: {type(self.pipe).__name__} has no autoencoder that decodes in tiles"
            )
        vae.enable_tiling()

    def _place(self, cpu_offload: bool) -> None:
        if cpu_offload:
            if self.placement.device == "cpu":
                # Decided: a no-op with a warning, so one script runs on a small GPU and on a laptop.
                logger.warning(
                    "cpu_offload=True has no effect on the CPU: the model already runs there"
                )
            else:
                self.pipe.enable_model_cpu_offload(device=self.placement.device)
                self.offloaded = True
                return
        self.offloaded = False
        if self.placement.device_map is None:
            self.pipe.to(self.placement.device)

    def _native_size(self) -> tuple[int, int]:
        """(width, height) the model was trained at, from its own config."""
        pipe = self.pipe
        if self.kind == "unconditional":
            size, scale = pipe.unet.config.sample_size, 1
        elif self.kind == "amused":
            size, scale = pipe.transformer.config.sample_size, pipe.vae_scale_factor
        else:
            size = getattr(pipe, "default_sample_size", None) or pipe.unet.config.sample_size
            scale = pipe.vae_scale_factor
        height, width = (size, size) if isinstance(size, int) else size
        return int(width) * scale, int(height) * scale

    def _size_multiple(self) -> int:
        scale = int(getattr(self.pipe, "vae_scale_factor", 1) or 1)
        return max(8, scale)

    def _release(self) -> None:
        self.pipe = None
        self._img2img = None
        self._default_scheduler = None
        self._schedulers = {}

    def info(self) -> dict[str, Any]:
        record = super().info()
        record.update(
            {
                "pipeline": type(self.pipe).__name__ if self.pipe is not None else None,
                "native_size": list(self.native_size),
                "size_multiple": self.size_multiple,
                "scheduler": self.default_scheduler_name,
                "schedulers": list(self.scheduler_names()),
                "image_to_image": self.supports_img2img,
                "max_images": MAX_IMAGES,
                "cpu_offload": self.offloaded,
                "load_seconds": round(self.load_seconds, 2),
            }
        )
        return record

    # --- validation -----------------------------------------------------------------------

    def scheduler_names(self) -> tuple[str, ...]:
        """The ``scheduler=`` values this model takes (its own scheduler's name always works)."""
        if self.kind == "amused":
            names: tuple[str, ...] = ()
        elif self.kind == "unconditional":
            names = _UNCONDITIONAL_SCHEDULERS
        else:
            names = tuple(SCHEDULERS)
        return (
            names if self.default_scheduler_name in names else (self.default_scheduler_name, *names)
        )

    def _default(self, key: str, fallback: Any = None) -> Any:
        if key in self.defaults:
            return self.defaults[key]
        return _KIND_DEFAULTS[self.kind].get(key, fallback)

    def _check(
        self,
        prompt,
        *,
        negative_prompt,
        num_inference_steps,
        guidance_scale,
        width,
        height,
        num_images,
        seed,
        scheduler,
        init_image,
        strength,
        progress,
    ) -> _Settings:
        """Every argument checked (nothing clamped), defaults filled in, before any model work."""
        negative_prompt = self._check_prompts(prompt, negative_prompt, guidance_scale)
        if progress is not None and not callable(progress):
            raise InvalidParameterError(
                f"progress={progress!r} must be a function progress(step, total)"
            )
        check_int(
            "num_images",
            num_images,
            low=1,
            high=MAX_IMAGES,
            fix=f"make at most {MAX_IMAGES} per call",
        )
        base_seed = resolve_seed(seed)
        if self.kind != "unconditional":
            guidance_scale = check_float(
                "guidance_scale",
                self._default("guidance_scale", 7.5) if guidance_scale is None else guidance_scale,
                low=0.0,
            )
            if negative_prompt is not None and guidance_scale <= 1.0:
                logger.warning(
                    "negative_prompt has no effect with guidance_scale <= 1 (here %s)",
                    guidance_scale,
                )
        image, image_path, strength = self._check_init_image(init_image, strength)
        num_inference_steps = self._check_steps(num_inference_steps, strength)
        width, height = self._check_size(width, height, image)
        if image is not None and image.size != (width, height):
            from PIL import Image

            image = image.resize((width, height), Image.LANCZOS)
        return _Settings(
            prompt=prompt,
            negative_prompt=negative_prompt,
            num_inference_steps=num_inference_steps,
            guidance_scale=guidance_scale,
            width=width,
            height=height,
            seeds=[(base_seed + i) % (MAX_SEED + 1) for i in range(num_images)],
            scheduler=self._check_scheduler(scheduler),
            init_image=image,
            init_image_path=image_path,
            strength=strength,
        )

    def _check_prompts(self, prompt: Any, negative_prompt: Any, guidance_scale: Any) -> str | None:
        """Check the prompt (none for unconditional models); returns the negative prompt or None."""
        name = self.name
        if self.kind == "unconditional":
            if prompt is not None:
                raise InvalidParameterError(
                    f"model {name!r} is unconditional: it takes no prompt; call it with none"
                )
            for key, value in (
                ("negative_prompt", negative_prompt),
                ("guidance_scale", guidance_scale),
            ):
                if value is not None:
                    raise InvalidParameterError(
                        f"{key}={value!r}: model {name!r} is unconditional and takes no {key}"
                    )
            return None
        if prompt is None:
            raise InvalidParameterError(
                f"prompt is missing; model {name!r} makes pictures from a text prompt"
            )
        check_prompt(prompt)
        if negative_prompt is None:
            return None
        if not isinstance(negative_prompt, str):
            raise InvalidParameterError(
                f"negative_prompt must be a string, got {type(negative_prompt).__name__}"
            )
        if negative_prompt.strip() and self.kind == "lcm":
            raise InvalidParameterError(
                f"negative_prompt: model {name!r} (latent consistency) takes none"
            )
        return negative_prompt if negative_prompt.strip() else None

    def _check_init_image(self, init_image: Any, strength: Any):
        """(RGB image, its path, strength) for image-to-image, or (None, None, None)."""
        if init_image is None and strength is None and self.task != "image-to-image":
            return None, None, None
        if not self.supports_img2img:
            raise WrongTaskError(
                f"init_image: model {self.name!r} ({type(self.pipe).__name__}) cannot do image-to-image "
                "in genai; use a Stable Diffusion-style model such as sd-turbo"
            )
        if init_image is None:
            raise InvalidParameterError(
                "init_image is missing: image-to-image starts from a picture (a PIL image or a file path)"
            )
        image, path = _open_image(init_image)
        strength = check_float(
            "strength",
            self._default("strength", DEFAULT_STRENGTH) if strength is None else strength,
            low=0.0,
            high=1.0,
            low_open=True,
        )
        return image, path, strength

    def _check_steps(self, steps: Any, strength: float | None) -> int:
        high = int(self._default_scheduler.config.get("num_train_timesteps") or 1000)
        if steps is None:
            steps = self._default("num_inference_steps", 25)
            if (
                strength is not None
            ):  # image-to-image runs int(steps * strength) steps: at least one
                steps = max(steps, _min_steps(strength))
        check_int("num_inference_steps", steps, low=1, high=high)
        if strength is not None and int(steps * strength) < 1:
            raise InvalidParameterError(
                f"num_inference_steps={steps} with strength={strength} runs no step (image-to-image runs "
                f"int(steps * strength)); use num_inference_steps={_min_steps(strength)} or a higher strength"
            )
        return steps

    def _check_size(self, width: Any, height: Any, image) -> tuple[int, int]:
        """(width, height): given, else the input picture's (rounded down to the multiple), else the default."""
        native_width, native_height = self.native_size
        if image is not None:
            multiple = self.size_multiple
            width = max(image.width // multiple * multiple, multiple) if width is None else width
            height = (
                max(image.height // multiple * multiple, multiple) if height is None else height
            )
        width = self._default("width", native_width) if width is None else width
        height = self._default("height", native_height) if height is None else height
        if self.kind == "unconditional":
            if (width, height) != (native_width, native_height):
                raise InvalidParameterError(
                    f"width={width}, height={height}: model {self.name!r} makes "
                    f"{native_width}x{native_height} pictures only; leave width and height out"
                )
            return width, height
        return self._check_side("width", width, native_width), self._check_side(
            "height", height, native_height
        )

    def _check_side(self, name: str, value: Any, native: int) -> int:
        low, high = min(MIN_SIDE, native), max(MAX_SIDE, 2 * native)
        check_int(name, value, low=low, high=high, fix=f"the model's native size is {native}")
        if value % self.size_multiple:
            below = value // self.size_multiple * self.size_multiple
            raise InvalidParameterError(
                f"{name}={value} is not a multiple of {self.size_multiple}; use {below} or "
                f"{below + self.size_multiple}"
            )
        return value

    def _check_scheduler(self, scheduler: Any) -> str:
        if scheduler is None:
            return self.default_scheduler_name
        allowed = self.scheduler_names()
        if not isinstance(scheduler, str) or scheduler.lower() not in [n.lower() for n in allowed]:
            raise InvalidParameterError(
                f"scheduler={scheduler!r} does not fit model {self.name!r}; use one of: {', '.join(allowed)}"
            )
        return next(n for n in allowed if n.lower() == scheduler.lower())

    # --- generation -----------------------------------------------------------------------

    def __call__(
        self,
        prompt: str | None = None,
        *,
        negative_prompt: str | None = None,
        num_inference_steps: int | None = None,
        guidance_scale: float | None = None,
        width: int | None = None,
        height: int | None = None,
        num_images: int = 1,
        seed: int | None = None,
        scheduler: str | None = None,
        init_image: Any = None,
        strength: float | None = None,
        progress: Callable[[int, int], Any] | None = None,
    ) -> ImageResult:
        """Make ``num_images`` pictures; picture i has seed ``seed + i``.

        ``init_image`` (a PIL image or a file path) with ``strength`` in (0, 1] turns this
        into image-to-image. ``progress(step, total)`` is called after every denoising step.
        """
        if not self.loaded:
            raise InvalidParameterError(
                f"model {self.name!r} was unloaded; load it again with genai.load"
            )
        settings = self._check(
            prompt,
            negative_prompt=negative_prompt,
            num_inference_steps=num_inference_steps,
            guidance_scale=guidance_scale,
            width=width,
            height=height,
            num_images=num_images,
            seed=seed,
            scheduler=scheduler,
            init_image=init_image,
            strength=strength,
            progress=progress,
        )
        import torch

        started = time.perf_counter()
        with self._lock:
            pipe = self._pipeline_for(settings)
            pipe.scheduler = self._scheduler(settings.scheduler)
            counter = _Progress(progress, len(settings.seeds))
            images = []
            try:
                for seed_i in settings.seeds:
                    images.append(self._one(pipe, settings, seed_i, counter))
            except torch.OutOfMemoryError as error:
                raise GenaiMemoryError(f"model {self.name!r}: {_OOM_ADVICE}") from error
        seconds = time.perf_counter() - started
        return ImageResult(
            model=self.source.location if self.source.is_local else self.name,
            parameters=settings.parameters(),
            seed=settings.seeds[0],
            timings={
                "seconds": round(seconds, 4),
                "seconds_per_image": round(seconds / len(images), 4),
            },
            images=images,
            seeds=list(settings.seeds),
            prompt=settings.prompt,
            negative_prompt=settings.negative_prompt,
            device=self.placement.device,
            dtype=self.placement.dtype_name,
        )

    def _pipeline_for(self, settings: _Settings):
        if settings.init_image is None:
            return self.pipe
        if self._img2img is None:
            from diffusers import AutoPipelineForImage2Image

            # from_pipe shares the loaded components: no second copy of the weights.
            self._img2img = AutoPipelineForImage2Image.from_pipe(self.pipe)
            self._img2img.set_progress_bar_config(disable=True)
        return self._img2img

    def _scheduler(self, name: str):
        if name == self.default_scheduler_name:
            return self._default_scheduler
        if name not in self._schedulers:
            import diffusers

            class_name, changes = SCHEDULERS[name]
            scheduler_class = getattr(diffusers, class_name)
            self._schedulers[name] = scheduler_class.from_config(
                self._default_scheduler.config, **changes
            )
        return self._schedulers[name]

    def _one(self, pipe, settings: _Settings, seed: int, counter: _Progress):
        """One picture from one pipeline call, seeded by its own CPU generator."""
        generator = torch_generator(seed)  # CPU: the same noise on every machine
        kwargs: dict[str, Any] = {
            "num_inference_steps": settings.num_inference_steps,
            "generator": generator,
        }
        if self.kind == "unconditional":
            with _counting_steps(pipe.scheduler, counter):
                output = pipe(batch_size=1, **kwargs)
            return output.images[0]
        kwargs.update(prompt=settings.prompt, guidance_scale=settings.guidance_scale)
        if settings.negative_prompt is not None:
            kwargs["negative_prompt"] = settings.negative_prompt
        if settings.init_image is not None:
            kwargs.update(image=settings.init_image, strength=settings.strength)
        else:
            kwargs.update(width=settings.width, height=settings.height)
        if self.kind == "amused":
            steps = settings.num_inference_steps
            kwargs.update(callback=lambda *_: counter.step(steps), callback_steps=1)
        else:

            def on_step_end(pipeline, step, timestep, tensors):
                counter.step(pipeline.num_timesteps)
                return {}

            kwargs["callback_on_step_end"] = on_step_end
        output = pipe(**kwargs)
        if getattr(output, "nsfw_content_detected", None) and any(output.nsfw_content_detected):
            logger.warning("the model's safety checker blanked a picture (seed %s)", seed)
        return output.images[0]


@contextlib.contextmanager
def _quiet_dtype_rename():
    """diffusers 0.42 renamed torch_dtype to dtype, which older versions ignore: keep the old name, mute the notice."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=".*torch_dtype.*deprecated", category=FutureWarning
        )
        yield


@contextlib.contextmanager
def _counting_steps(scheduler, counter: _Progress):
    """Report steps of a pipeline that has no step callback (DDPM, DDIM) from its scheduler."""
    step = scheduler.step

    def counted(*args, **kwargs):
        result = step(*args, **kwargs)
        counter.step(len(scheduler.timesteps))
        return result

    scheduler.step = counted
    try:
        yield
    finally:
        del scheduler.step  # the class's own method shows through again


def _min_steps(strength: float) -> int:
    """The fewest steps for which image-to-image at this strength runs at least one."""
    steps = 1
    while int(steps * strength) < 1:
        steps += 1
    return steps


def _scheduler_name(scheduler) -> str:
    """The short name of a scheduler object, or its class name when none fits."""
    class_name = type(scheduler).__name__
    karras = bool(scheduler.config.get("use_karras_sigmas"))
    for name, (candidate, changes) in SCHEDULERS.items():
        if candidate == class_name and bool(changes.get("use_karras_sigmas")) == karras:
            return name
    return class_name


def _is_sdxl_checkpoint(path: Path) -> bool:
    """SDXL checkpoints carry a second (OpenCLIP) text encoder under conditioner.embedders.1."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        return any(key.startswith("conditioner.embedders.1.") for key in handle.keys())


def _open_image(value: Any):
    """(RGB PIL image, path or None) from a PIL image, a numpy array or an image file path."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(value, Image.Image):
        return value.convert("RGB"), None
    if isinstance(value, (str, os.PathLike)):
        path = Path(value).expanduser()
        if not path.is_file():
            raise InvalidParameterError(
                f"init_image={str(value)!r}: no such file; give an image file or a PIL image"
            )
        try:
            with Image.open(path) as opened:
                return opened.convert("RGB"), str(path.resolve())
        except (UnidentifiedImageError, OSError) as error:
            raise InvalidParameterError(
                f"init_image={str(value)!r} is not an image file PIL can read ({error})"
            ) from error
    if type(value).__module__ == "numpy" and getattr(value, "ndim", 0) in (2, 3):
        try:
            return Image.fromarray(value).convert("RGB"), None
        except (TypeError, ValueError) as error:
            raise InvalidParameterError(
                f"init_image: this array is not an image ({error})"
            ) from error
    raise InvalidParameterError(
        f"init_image must be a PIL image, an image file path or a numpy array, got {type(value).__name__}"
    )
