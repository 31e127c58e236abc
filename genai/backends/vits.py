"""VITS voices (Meta MMS-TTS) with transformers: text straight to waveform in one pass.

VITS draws noise (phoneme durations, the latent) from torch's global generator, so each
sentence runs under ``seeded_unit`` with a seed of its own; ``speed`` is its speaking rate,
``voice`` a speaker number of a multi-speaker model.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import audio_text
from ..errors import InvalidParameterError
from .audio import SpeechBase


class VitsGenerator(SpeechBase):
    """``genai.load("mms-tts-eng")("Hello there.", seed=1, speed=1.2)``."""

    engine = "transformers"
    pretrained_classes = ("AutoTokenizer", "VitsModel")
    max_chars = 400
    speed_supported = True

    @property
    def sample_rate(self) -> int:
        return int(self.model.config.sampling_rate)

    @property
    def voices(self) -> list[str]:
        """Speaker numbers of a multi-speaker model, as text."""
        speakers = int(self.model.config.num_speakers)
        return [str(i) for i in range(speakers)] if speakers > 1 else []

    # --- validate ------------------------------------------------------------------------------

    def _check_text(self, text: str) -> None:
        tokenizer = self.processor
        if getattr(tokenizer, "phonemize", False) or getattr(tokenizer, "is_uroman", False):
            return  # the text goes through espeak or uroman first; the vocabulary is not of letters
        vocab = tokenizer.get_vocab()
        audio_text.check_speakable(
            text, lambda c: c in vocab or c.lower() in vocab, model=self.name
        )

    def _has_speech(self, piece: str) -> bool:
        vocab = self.processor.get_vocab()
        return any(c.isalnum() and (c in vocab or c.lower() in vocab) for c in piece)

    def _prepare_voice(self, voice: Any) -> Any:
        speakers = int(self.model.config.num_speakers)
        if voice is None:
            return None
        if speakers <= 1:
            raise InvalidParameterError(
                f"voice={voice!r}: {self.name} has a single speaker; leave voice unset"
            )
        if isinstance(voice, bool) or not isinstance(voice, int) or not 0 <= voice < speakers:
            raise InvalidParameterError(
                f"voice={voice!r}: {self.name} has speakers 0 to {speakers - 1}; give one of "
                "those numbers"
            )
        return voice

    # --- speak ---------------------------------------------------------------------------------

    def _speak(self, text: str, voice: Any, speed: float, seed: int) -> np.ndarray:
        import torch

        device = self.model.device
        inputs = self.processor(text, return_tensors="pt").to(device)
        extra = {} if voice is None else {"speaker_id": torch.tensor([voice], device=device)}
        output = self.model(**inputs, speaking_rate=speed, **extra)
        return output.waveform[0].float().cpu().numpy()

    def _release(self) -> None:
        self.model = None
        self.processor = None
