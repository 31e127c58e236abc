"""Suno Bark with transformers: text to semantic tokens to audio codes to waveform, all sampled.

Voices are presets shipped with the model (``v2/en_speaker_6``) or a ``.npz`` voice file.
Bark samples from torch's global generator, so each sentence (about 13 s at most, the
model's window) runs under ``seeded_unit`` with a seed of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .. import audio_text
from ..errors import InvalidParameterError, ModelNotAvailableError
from .audio import SpeechBase


class BarkGenerator(SpeechBase):
    """``genai.load("bark-small")("Hello!", voice="v2/en_speaker_6", seed=1)``."""

    engine = "transformers"
    pretrained_classes = ("AutoProcessor", "BarkModel")
    max_chars = 200  # Bark says about 13 seconds per generation

    @property
    def sample_rate(self) -> int:
        return int(self.model.generation_config.sample_rate)

    @property
    def voices(self) -> list[str]:
        """The voice presets this model ships (names for ``voice=``)."""
        return sorted(self.processor.available_voice_presets)

    # --- validate ------------------------------------------------------------------------------

    def _check_text(self, text: str) -> None:
        tokenizer = self.processor.tokenizer
        unk = tokenizer.unk_token
        audio_text.check_speakable(
            text, lambda c: unk not in tokenizer.tokenize(c), model=self.name
        )

    def _prepare_voice(self, voice: Any) -> Any:
        if voice is None:
            return None
        if isinstance(voice, dict):
            return voice
        if isinstance(voice, (str, Path)) and str(voice) in self.voices:
            return str(voice)
        path = Path(str(voice)).expanduser()
        if path.suffix == ".npz" and path.is_file():
            return str(path)
        shown = ", ".join(self.voices[:8]) + (", ..." if len(self.voices) > 8 else "")
        raise InvalidParameterError(
            f"voice={voice!r} is not a voice preset of {self.name} nor a .npz voice file; "
            f"presets: {shown or 'none'}"
        )

    # --- speak ---------------------------------------------------------------------------------

    def _speak(self, text: str, voice: Any, speed: float, seed: int) -> np.ndarray:
        device = self.model.device
        try:
            inputs = self.processor(text, voice_preset=voice)
        except (ValueError, OSError) as error:
            raise ModelNotAvailableError(
                f"the files of voice preset {voice!r} are not on disk and cannot be downloaded "
                f"({error}); run `genai pull {self.name}` with internet access, or pick another "
                "voice"
            ) from error
        history = inputs.pop("history_prompt", None)
        if history is not None:
            history = {key: value.to(device) for key, value in history.items()}
        inputs = {key: value.to(device) for key, value in inputs.items()}
        waveform = self.model.generate(**inputs, history_prompt=history, do_sample=True)
        return waveform[0].float().cpu().numpy()

    def _release(self) -> None:
        self.model = None
        self.processor = None
