"""Music from a text description with MusicGen (transformers MusicgenForConditionalGeneration).

MusicGen predicts EnCodec audio codes, ``frame_rate`` frames a second (50 for the public
checkpoints), with its codebooks offset by one step each (the "delay pattern"): ``duration``
seconds take ``duration * frame_rate + num_codebooks - 1`` new tokens. The audio is then
cut to exactly ``duration`` seconds. Sampling is on (top-k, as the checkpoints' generation
config says), classifier-free guidance at ``guidance_scale``.

transformers samples from torch's global generator, so the one generate call runs under
``seeded_unit`` (it takes turns with other seeded work; ``max_duration`` bounds how long).
``cancel`` is checked at every token: generation stops there and GenerationCancelled is
raised, freeing the model and the lock at once.
"""

from __future__ import annotations

import math
import time
from typing import Any

from ..errors import GenerationCancelled, InvalidParameterError, require
from ..params import check_prompt
from ..specs.audio import MUSIC
from .audio import AudioGenerator, report
from .transformers_util import load_pretrained


class MusicGenerator(AudioGenerator):
    """MusicGen: ``generator("lo-fi piano beat", duration=8)``."""

    call_spec = MUSIC
    load_option_names = ("max_duration",)
    engine = "transformers"

    def _load(self) -> None:
        require("transformers", "audio")
        from transformers import AutoProcessor, MusicgenForConditionalGeneration

        self.processor, self.model = load_pretrained(
            self, AutoProcessor, MusicgenForConditionalGeneration
        )

    @property
    def sample_rate(self) -> int:
        return int(self.model.config.audio_encoder.sampling_rate)

    @property
    def frame_rate(self) -> float:
        return float(self.model.config.audio_encoder.frame_rate)

    def __call__(self, prompt: str, **parameters: Any):
        """Make ``duration`` seconds of music (default 5) from ``prompt``.

        Keywords: ``seed``, ``duration``, ``guidance_scale`` (above 1 turns classifier-free
        guidance on; 3 by default), ``progress(step, total)`` (tokens), ``cancel`` (a
        threading.Event), and ``sample_rate``, ``normalize`` (LUFS), ``fade_in``,
        ``fade_out``, ``trim``.
        """
        check_prompt(prompt)
        settings = self._settings(parameters)
        duration = self.check_duration(settings, minimum=1.0 / self.frame_rate)
        if settings["guidance_scale"] is None:
            settings["guidance_scale"] = self.model.generation_config.guidance_scale or 1.0
        codebooks = int(self.model.decoder.config.num_codebooks)
        channels = int(self.model.decoder.config.audio_channels)
        new_tokens = math.ceil(duration * self.frame_rate) + codebooks // channels - 1
        inputs = self.processor(text=[prompt], padding=True, return_tensors="pt")
        inputs = inputs.to(self.model.device)
        cancel = settings["cancel"]
        started = time.perf_counter()
        try:
            with self.running(), self.seeded_unit(settings["seed"]):
                audio = self.model.generate(
                    **inputs,
                    do_sample=True,
                    guidance_scale=float(settings["guidance_scale"]),
                    max_new_tokens=new_tokens,
                    stopping_criteria=_token_watch(settings["progress"], cancel, new_tokens),
                )
        except RuntimeError as error:
            # Stopped before every codebook had a token, the codec cannot decode what is left.
            if cancel is not None and cancel.is_set():
                raise GenerationCancelled(f"{self.name}: cancelled by the caller") from error
            raise
        if cancel is not None and cancel.is_set():
            raise GenerationCancelled(f"{self.name}: cancelled by the caller")
        waveform = audio[0, :, : int(round(duration * self.sample_rate))].float().cpu().numpy()
        if waveform.shape[1] == 0:
            raise InvalidParameterError(f"duration={duration} s is too short for {self.name}")
        return self._result(
            waveform, self.sample_rate, prompt=prompt, settings=settings, started=started
        )

    def _release(self) -> None:
        self.model = None
        self.processor = None


def _token_watch(progress, cancel, total: int):
    """A stopping criterion called once a token: it reports progress and stops on ``cancel``.

    (MusicGen's generate in transformers 5 does not hand its ``streamer`` to the sampling loop.)
    """
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    class Watch(StoppingCriteria):
        step = 0

        def __call__(self, input_ids, scores, **kwargs):
            self.step += 1
            report(progress, min(self.step, total), total)
            stop = cancel is not None and cancel.is_set()
            return torch.full(
                (input_ids.shape[0],), stop, dtype=torch.bool, device=input_ids.device
            )

    return StoppingCriteriaList([Watch()])
