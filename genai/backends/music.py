"""Music from a text description with MusicGen (transformers MusicgenForConditionalGeneration).

MusicGen predicts EnCodec audio codes, ``frame_rate`` frames a second (50 for the public
checkpoints), with its codebooks offset by one step each (the "delay pattern"): ``duration``
seconds take ``duration * frame_rate + num_codebooks - 1`` new tokens. The audio is then
cut to exactly ``duration`` seconds. Sampling is on (top-k, as the checkpoints' generation
config says), classifier-free guidance at ``guidance_scale``.
"""

from __future__ import annotations

import math
import time
from typing import Any

from ..errors import InvalidParameterError, require
from ..hub import hub_errors
from ..params import check_float, check_prompt
from ..seeding import resolve_seed
from .speech import AudioGenerator, report, transformers_location


class MusicGenerator(AudioGenerator):
    """MusicGen: ``generator("lo-fi piano beat", duration=8)``."""

    call_options = ("duration", "guidance_scale")
    max_duration = 30.0  # MusicGen was trained on 30-second clips

    def _load(self) -> None:
        require("transformers", "audio")
        from transformers import AutoProcessor, MusicgenForConditionalGeneration

        location, keywords = transformers_location(self)
        extra: dict[str, Any] = {"dtype": self.placement.dtype}
        if self.placement.device_map is not None:
            extra["device_map"] = self.placement.device_map
        with hub_errors(self.name):
            self.processor = AutoProcessor.from_pretrained(location, **keywords)
            model = MusicgenForConditionalGeneration.from_pretrained(location, **keywords, **extra)
        if self.placement.device_map is None:
            model = model.to(self.placement.device)
        self.model = model.eval()

    @property
    def sample_rate(self) -> int:
        return int(self.model.config.audio_encoder.sampling_rate)

    @property
    def frame_rate(self) -> float:
        return float(self.model.config.audio_encoder.frame_rate)

    def __call__(self, prompt: str, **parameters: Any):
        """Make ``duration`` seconds of music (default 5) from ``prompt``.

        Keywords: ``seed``, ``duration``, ``guidance_scale`` (above 1 turns classifier-free
        guidance on; 3 by default), ``progress(step, total)`` (tokens), and ``sample_rate``,
        ``normalize`` (LUFS), ``fade_in``, ``fade_out``, ``trim``.
        """
        check_prompt(prompt)
        settings = self._settings(parameters)
        progress = parameters.get("progress")
        seed = resolve_seed(parameters.get("seed"))
        duration = self._check_duration(settings, minimum=1.0 / self.frame_rate)
        guidance = settings.setdefault(
            "guidance_scale", self.model.generation_config.guidance_scale or 1.0
        )
        check_float(
            "guidance_scale",
            guidance,
            low=0.0,
            high=30.0,
            fix="3 is usual; 1 or less turns guidance off",
        )
        settings["duration"] = duration
        codebooks = int(self.model.decoder.config.num_codebooks)
        channels = int(self.model.decoder.config.audio_channels)
        new_tokens = math.ceil(duration * self.frame_rate) + codebooks // channels - 1
        inputs = self.processor(text=[prompt], padding=True, return_tensors="pt").to(
            self.model.device
        )
        started = time.perf_counter()
        with self._guard(), self._seeded(seed):
            audio = self.model.generate(
                **inputs,
                do_sample=True,
                guidance_scale=float(guidance),
                max_new_tokens=new_tokens,
                stopping_criteria=_progress_counter(progress, new_tokens) if progress else None,
            )
        waveform = audio[0, :, : int(round(duration * self.sample_rate))].float().cpu().numpy()
        if waveform.shape[1] == 0:
            raise InvalidParameterError(f"duration={duration} s is too short for {self.name}")
        return self._result(
            waveform, self.sample_rate, prompt=prompt, seed=seed, settings=settings, started=started
        )

    def _release(self) -> None:
        self.model = None
        self.processor = None


def _progress_counter(progress, total: int):
    """A stopping criterion that never stops: it is called once a token, so it reports progress.

    (MusicGen's generate in transformers 5 does not hand its ``streamer`` to the sampling loop.)
    """
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    class Counter(StoppingCriteria):
        step = 0

        def __call__(self, input_ids, scores, **kwargs):
            self.step += 1
            report(progress, min(self.step, total), total)
            return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)

    return StoppingCriteriaList([Counter()])
