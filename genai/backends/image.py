"""Images with diffusers: Stable Diffusion-style pipelines (SD 1.x/2.x, sd-turbo, SDXL, LCM),
aMUSEd, and unconditional DDPM/DDIM, from a hub id, a folder or one checkpoint file.

Reads top to bottom: load (pipeline, tiny autoencoder, memory options, placement), validate,
generate, unload. What differs between pipelines lives in their kind (genai.backends.
image_kinds); loading files in genai.backends.image_load.

Every picture gets its own seed and its own CPU ``torch.Generator`` (its starting noise is
the same on every machine), and all the pictures of a call are made in one batched pipeline
call where the pipeline takes a list of generators (aMUSEd draws from one generator for
the whole batch, so it makes its pictures one call each). A batch's kernels round
differently from a single picture's: picture i made alone with seed ``seed + i`` matches
it to within a level or so, not bit for bit, so a saved picture records its batch (size
and position) and ``genai verify`` re-runs that batch to check it exactly.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from ..device import oom_guard
from ..errors import InvalidParameterError, require
from ..generator import Generator
from ..params import check_int
from ..results.image import ImageResult
from ..seeding import torch_generator
from ..specs.image import DIFFUSION_LOAD_OPTIONS, IMAGE_SPEC
from .image_kinds import kind_of, make_scheduler, scheduler_name
from .image_load import declared_pipeline, load_pipeline, load_tiny_vae
from .image_settings import Settings, Steps, check_call, no_image_to_image

logger = logging.getLogger("genai.image")

# The largest side a call may ask for, in multiples of the model's native size: a CPU takes
# minutes beyond twice the native size (load with max_size=N to allow more).
SIZE_BUDGET = {"cpu": 2, "accelerator": 4}
# Pipelines that cannot start from a picture: refused before their weights load.
NO_IMAGE_TO_IMAGE = ("AmusedPipeline", "DDPMPipeline", "DDIMPipeline")

_OOM_ADVICE = (
    "try a smaller width/height, fewer images (num_images), or load with "
    "attention_slicing=True, vae_tiling=True, tiny_vae=True or cpu_offload=True"
)


class ImageGenerator(Generator):
    """A diffusers image pipeline: ``gen(prompt, seed=1)`` returns an ImageResult."""

    modality = "image"
    engine = "diffusers"
    call_spec = IMAGE_SPEC
    load_option_names = DIFFUSION_LOAD_OPTIONS

    def __init__(self, source, family, task, placement, **options: Any):
        super().__init__(source, family, task, placement, **options)
        for name in ("attention_slicing", "vae_tiling", "cpu_offload"):
            if not isinstance(options.get(name, False), bool):
                raise InvalidParameterError(f"{name}={options[name]!r} must be True or False")
        if options.get("max_size") is not None:
            check_int("max_size", options["max_size"], low=8, high=16384)
        require("diffusers", "image")
        declared = declared_pipeline(source) if task == "image-to-image" else None
        if declared in NO_IMAGE_TO_IMAGE:  # known from model_index.json: no weights loaded
            raise no_image_to_image(self, declared)
        started = time.perf_counter()
        self.pipe = load_pipeline(source, placement, options.get("config"))
        self.kind = kind_of(self.pipe)
        if task == "image-to-image" and not self.kind.image_to_image:
            raise no_image_to_image(self, type(self.pipe).__name__)
        if options.get("tiny_vae"):
            if not self.kind.has_kl_autoencoder:
                raise InvalidParameterError(
                    f"tiny_vae={options['tiny_vae']!r}: {type(self.pipe).__name__} has no KL "
                    "autoencoder to replace; tiny_vae fits Stable Diffusion-style models"
                )
            self.pipe.vae = load_tiny_vae(self.pipe, options["tiny_vae"], placement)
        if options.get("vae_tiling"):
            self._enable_vae_tiling()
        if options.get("attention_slicing"):
            self.pipe.enable_attention_slicing()
        self.offloaded = self._place(options.get("cpu_offload", False))
        self.pipe.set_progress_bar_config(disable=True)  # progress goes through `progress=`
        self.native_size = self.kind.native_size(self.pipe)
        self.size_multiple = max(8, int(getattr(self.pipe, "vae_scale_factor", 1) or 1))
        self.max_side = (
            options.get("max_size")
            or max(self.native_size)
            * SIZE_BUDGET["cpu" if placement.device == "cpu" else "accelerator"]
        )
        self._default_scheduler = self.pipe.scheduler
        self.default_scheduler_name = scheduler_name(self.pipe.scheduler)
        self._schedulers: dict[str, Any] = {}
        self._img2img = None
        self._lock = threading.Lock()  # a pipeline holds per-call state (scheduler timesteps)
        self.load_seconds = time.perf_counter() - started
        self._unreported_load_s = self.load_seconds  # the first result's load_s

    # --- loading --------------------------------------------------------------------------

    def _enable_vae_tiling(self) -> None:
        vae = getattr(self.pipe, "vae", None)
        if vae is None or not hasattr(vae, "enable_tiling"):
            raise InvalidParameterError(
                f"vae_tiling=True: {type(self.pipe).__name__} has no autoencoder that decodes in tiles"
            )
        vae.enable_tiling()

    def _place(self, cpu_offload: bool) -> bool:
        """Move the pipeline to its device (or offload it); True when offloaded."""
        if cpu_offload and self.placement.device != "cpu":
            self.pipe.enable_model_cpu_offload(device=self.placement.device)
            return True
        if cpu_offload:  # a no-op, so one script runs on a small GPU and on a laptop
            logger.warning(
                "cpu_offload=True has no effect on the CPU: the model already runs there"
            )
        if self.placement.device_map is None:
            self.pipe.to(self.placement.device)
        return False

    @property
    def defaults(self) -> dict[str, Any]:
        """The kind's defaults under the catalog entry's."""
        return {**self.kind.defaults, **super().defaults}

    def scheduler_names(self) -> tuple[str, ...]:
        """The ``scheduler=`` values this model takes (its own scheduler's name always works)."""
        names = self.kind.scheduler_names()
        own = self.default_scheduler_name
        return names if own in names else (own, *names)

    def info(self) -> dict[str, Any]:
        record = super().info()
        record.update(
            pipeline=type(self.pipe).__name__ if self.pipe is not None else None,
            native_size=list(self.native_size),
            size_multiple=self.size_multiple,
            max_size=self.max_side,
            scheduler=self.default_scheduler_name,
            schedulers=list(self.scheduler_names()),
            image_to_image=self.kind.image_to_image,
            max_images=IMAGE_SPEC["num_images"].high,
            cpu_offload=self.offloaded,
            load_seconds=round(self.load_seconds, 2),
        )
        return record

    # --- validation -----------------------------------------------------------------------

    def __call__(self, prompt: str | None = None, **parameters: Any) -> ImageResult:
        """Make ``num_images`` pictures; picture i has seed ``seed + i``.

        The keywords are those of ``genai.specs.image.IMAGE_SPEC`` (``num_inference_steps``,
        ``guidance_scale``, ``width``, ``height``, ``num_images``, ``seed``, ``scheduler``,
        ``negative_prompt``; ``init_image`` with ``strength`` in (0, 1] for image-to-image);
        unknown ones are refused with the nearest valid name. ``progress(done, total)`` is
        called after every denoising step, in picture-steps (a step of a batch of 4 counts
        4; total = steps x pictures); setting the ``cancel`` event (or raising
        GenerationCancelled in ``progress``) stops the call at the next step.
        """
        started = time.perf_counter()
        settings = check_call(self, prompt, parameters)
        steps = Steps(settings, self.name, calls=len(self._calls(settings)))
        generating = time.perf_counter()
        with self._lock, oom_guard(f"model {self.name!r}", self.placement.device, _OOM_ADVICE):
            pipe = self._pipeline_for(settings)
            pipe.scheduler = self._scheduler(settings.scheduler)
            images = []
            for seeds in self._calls(settings):
                steps.check()
                images += self._run(pipe, settings, seeds, steps)
        now = time.perf_counter()
        load_s, self._unreported_load_s = self._unreported_load_s, 0.0
        return ImageResult(
            **self.result_fields(),
            parameters=settings.parameters(),
            seed=settings.seeds[0],
            timings={
                "load_s": round(load_s, 4),
                "generate_s": round(now - generating, 4),
                "total_s": round(load_s + now - started, 4),
                "seconds_per_image": round((now - generating) / len(images), 4),
            },
            images=images,
            seeds=list(settings.seeds),
            prompt=settings.prompt,
            negative_prompt=settings.negative_prompt,
            device=self.placement.device,
            dtype=self.placement.dtype_name,
            notes=settings.notes,
        )

    def _pipeline_for(self, settings: Settings):
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
            self._schedulers[name] = make_scheduler(name, self._default_scheduler)
        return self._schedulers[name]

    def _calls(self, settings: Settings) -> list[list[int]]:
        """The seeds of each pipeline call: all in one where the pipeline batches them."""
        if self.kind.batches:
            return [list(settings.seeds)]
        return [[seed] for seed in settings.seeds]

    def _run(self, pipe, settings: Settings, seeds: list[int], steps: Steps) -> list:
        """The pictures of one pipeline call, picture i seeded by its own CPU generator."""
        kwargs = self.kind.pipeline_arguments(settings, len(seeds))
        # CPU generators: the same noise on every machine (diffusers draws it there and moves it).
        generators = [torch_generator(seed) for seed in seeds]
        kwargs["generator"] = generators[0] if len(generators) == 1 else generators
        output = self.kind.run(pipe, kwargs, steps)
        flagged = getattr(output, "nsfw_content_detected", None) or []
        for seed, blanked in zip(seeds, flagged, strict=False):
            if blanked:
                logger.warning("the model's safety checker blanked a picture (seed %s)", seed)
        return list(output.images)

    def _release(self) -> None:
        self.pipe = None
        self._img2img = None
        self._default_scheduler = None
        self._schedulers = {}
