"""Sound effects and ambience from text with AudioLDM (diffusers AudioLDMPipeline).

AudioLDM denoises a mel-spectrogram latent (as Stable Diffusion does a picture latent)
conditioned on a CLAP text embedding, and a HiFi-GAN vocoder turns the spectrogram into
audio. Noise comes from a CPU ``torch.Generator`` seeded per call, so a seed gives the
same sound on every machine and no global lock is taken. ``cancel`` is checked after each
denoising step.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..errors import require
from ..hub import hub_errors
from ..params import check_prompt
from ..seeding import torch_generator
from ..specs.audio import SOUND
from .audio import AudioGenerator, report, stop_if_cancelled
from .transformers_util import pretrained_args


class SoundGenerator(AudioGenerator):
    """AudioLDM: ``generator("rain on a tin roof", duration=5, num_inference_steps=10)``."""

    call_spec = SOUND
    load_option_names = ("max_duration",)
    engine = "diffusers"
    uses_global_rng = False

    def _load(self) -> None:
        require("diffusers", "audio")
        from diffusers import AudioLDMPipeline

        location, keywords = pretrained_args(self)
        with hub_errors(self.name):
            pipe = AudioLDMPipeline.from_pretrained(
                location, dtype=self.placement.dtype, **keywords
            )
        pipe.set_progress_bar_config(disable=True)  # progress goes through progress=
        self.pipe = pipe.to(self.placement.device)

    @property
    def sample_rate(self) -> int:
        return int(self.pipe.vocoder.config.sampling_rate)

    @property
    def min_duration(self) -> float:
        """One latent frame: the vocoder's samples per frame times the VAE's downscaling, in seconds."""
        vocoder = self.pipe.vocoder.config
        frame = float(np.prod(vocoder.upsample_rates)) / vocoder.sampling_rate
        return frame * self.pipe.vae_scale_factor

    def __call__(self, prompt: str, **parameters: Any):
        """Make ``duration`` seconds of sound (default 5) from ``prompt``.

        Keywords: ``seed``, ``duration``, ``num_inference_steps`` (10), ``guidance_scale``
        (2.5), ``negative_prompt``, ``progress(step, total)``, ``cancel`` (a threading.Event),
        and ``sample_rate``, ``normalize`` (LUFS), ``fade_in``, ``fade_out``, ``trim``.
        """
        check_prompt(prompt)
        settings = self._settings(parameters)
        duration = self.check_duration(settings, minimum=self.min_duration)
        steps = settings["num_inference_steps"] = settings["num_inference_steps"] or 10
        if settings["guidance_scale"] is None:
            settings["guidance_scale"] = 2.5
        progress, cancel = settings["progress"], settings["cancel"]

        def step_done(step: int, timestep, latents) -> None:
            report(progress, step + 1, steps)
            stop_if_cancelled(cancel, step + 1, steps)

        started = time.perf_counter()
        with self.running():
            output = self.pipe(
                prompt,
                audio_length_in_s=duration,
                num_inference_steps=steps,
                guidance_scale=settings["guidance_scale"],
                negative_prompt=settings["negative_prompt"] or None,
                generator=torch_generator(settings["seed"]),
                callback=step_done if progress or cancel else None,
                output_type="np",
            )
        waveform = np.asarray(output.audios[0], dtype=np.float32)
        return self._result(
            waveform, self.sample_rate, prompt=prompt, settings=settings, started=started
        )

    def _release(self) -> None:
        self.pipe = None
