"""Sound effects and ambience from text with AudioLDM (diffusers AudioLDMPipeline).

AudioLDM denoises a mel-spectrogram latent (as Stable Diffusion does a picture latent)
conditioned on a CLAP text embedding, and a HiFi-GAN vocoder turns the spectrogram into
audio. Noise comes from a CPU ``torch.Generator`` seeded per call, so a seed gives the
same sound on every machine.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..errors import InvalidParameterError, require
from ..hub import hub_errors
from ..params import check_float, check_int, check_prompt
from ..seeding import resolve_seed, torch_generator
from .speech import AudioGenerator, report, transformers_location


class SoundGenerator(AudioGenerator):
    """AudioLDM: ``generator("rain on a tin roof", duration=5, num_inference_steps=10)``."""

    call_options = ("duration", "num_inference_steps", "guidance_scale", "negative_prompt")
    max_duration = 30.0  # trained on 10-second clips; longer ones lose their shape

    def _load(self) -> None:
        require("diffusers", "audio")
        from diffusers import AudioLDMPipeline

        location, keywords = transformers_location(self)
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
        return (
            float(np.prod(vocoder.upsample_rates))
            / vocoder.sampling_rate
            * self.pipe.vae_scale_factor
        )

    def __call__(self, prompt: str, **parameters: Any):
        """Make ``duration`` seconds of sound (default 5) from ``prompt``.

        Keywords: ``seed``, ``duration``, ``num_inference_steps``, ``guidance_scale``,
        ``negative_prompt``, ``progress(step, total)``, and ``sample_rate``, ``normalize``
        (LUFS), ``fade_in``, ``fade_out``, ``trim``.
        """
        check_prompt(prompt)
        settings = self._settings(parameters)
        progress = parameters.get("progress")
        seed = resolve_seed(parameters.get("seed"))
        settings["duration"] = duration = self._check_duration(settings, minimum=self.min_duration)
        steps = check_int(
            "num_inference_steps", settings.setdefault("num_inference_steps", 10), low=1, high=1000
        )
        guidance = check_float(
            "guidance_scale", settings.setdefault("guidance_scale", 2.5), low=0.0, high=30.0
        )
        negative = settings.get("negative_prompt")
        if negative is not None and not isinstance(negative, str):
            raise InvalidParameterError(
                f"negative_prompt={negative!r} must be a string (what the sound should not have)"
            )

        def step_done(step: int, timestep, latents) -> None:
            report(progress, step + 1, steps)

        started = time.perf_counter()
        with self._guard(), self._seeded(seed):
            output = self.pipe(
                prompt,
                audio_length_in_s=duration,
                num_inference_steps=steps,
                guidance_scale=guidance,
                negative_prompt=negative or None,
                generator=torch_generator(seed),
                callback=step_done if progress else None,
                output_type="np",
            )
        waveform = np.asarray(output.audios[0], dtype=np.float32)
        return self._result(
            waveform, self.sample_rate, prompt=prompt, seed=seed, settings=settings, started=started
        )

    def _release(self) -> None:
        self.pipe = None
