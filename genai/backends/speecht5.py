"""SpeechT5 with transformers: text to mel spectrogram, then the HiFi-GAN vocoder to waveform.

The voice is a 512-number speaker x-vector. Default: the zero x-vector, the placeholder
transformers' own SpeechT5 example uses (``torch.zeros((1, 512))``): the model
L2-normalises speaker embeddings and a zero vector stays zero, so the decoder gets no
speaker information and speaks in a neutral voice, the same on every machine, with no
download. For a chosen voice pass ``voice=`` (or ``speaker=``): an x-vector array/tensor
or a .npy file, such as the CMU ARCTIC x-vectors (Matthijs/cmu-arctic-xvectors; index 7306
is the voice of the model card). The decoder's dropout draws from torch's global
generator, so each sentence runs under ``seeded_unit``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .. import audio_text
from ..errors import InvalidParameterError, require
from ..hub import hub_errors
from .audio import SpeechBase
from .transformers_util import load_pretrained, pretrained_args

DEFAULT_VOCODER = "microsoft/speecht5_hifigan"


def load_xvector(voice: Any, size: int) -> np.ndarray:
    """A speaker x-vector from an array, a tensor, a list or a .npy file: ``size`` finite numbers."""
    if isinstance(voice, (str, Path)):
        path = Path(voice).expanduser()
        if path.suffix.lower() != ".npy" or not path.is_file():
            raise InvalidParameterError(
                f"voice={str(voice)!r}: SpeechT5 takes a speaker x-vector, {size} numbers as an "
                "array or a .npy file; this is not an existing .npy file"
            )
        voice = np.load(path, allow_pickle=False)
    if hasattr(voice, "detach"):
        voice = voice.detach().float().cpu().numpy()
    try:
        vector = np.asarray(voice, dtype=np.float32).reshape(-1)
    except (TypeError, ValueError) as error:
        raise InvalidParameterError(
            f"voice={voice!r}: SpeechT5 takes a speaker x-vector, {size} numbers as an array or "
            "a .npy file"
        ) from error
    if vector.size != size or not np.all(np.isfinite(vector)):
        raise InvalidParameterError(
            f"voice: the speaker x-vector must be {size} finite numbers, got {vector.size} "
            f"(shape {np.shape(voice)}); x-vectors come from a speaker-verification model such "
            "as speechbrain/spkrec-xvect-voxceleb"
        )
    return vector


class SpeechT5Generator(SpeechBase):
    """``genai.load("speecht5")("Hello there.", voice="speaker.npy", seed=1)``."""

    engine = "transformers"
    max_chars = 500  # the encoder takes up to 600 characters
    load_option_names = (*SpeechBase.load_option_names, "vocoder")

    def _load(self) -> None:
        require("transformers", "audio")
        from transformers import AutoProcessor, SpeechT5ForTextToSpeech, SpeechT5HifiGan

        self.processor, self.model = load_pretrained(self, AutoProcessor, SpeechT5ForTextToSpeech)
        vocoder, keywords = pretrained_args(self, self._vocoder_location())
        with hub_errors(vocoder):
            vocoder_model = SpeechT5HifiGan.from_pretrained(
                vocoder, **keywords, dtype=self.placement.dtype
            )
        self.vocoder = vocoder_model.to(self.placement.device).eval()

    def _vocoder_location(self) -> str:
        """``vocoder=`` if given, else a ``vocoder/`` folder beside the model, else the catalog's."""
        if self.options.get("vocoder"):
            return str(self.options["vocoder"])
        beside = Path(self.source.location) / "vocoder"
        if self.source.kind == "folder" and (beside / "config.json").is_file():
            return str(beside)
        if self.source.entry is not None and self.source.entry.extra_repos:
            return self.source.entry.extra_repos[0]
        return DEFAULT_VOCODER

    @property
    def sample_rate(self) -> int:
        return int(self.vocoder.config.sampling_rate)

    # --- validate ------------------------------------------------------------------------------

    def _check_text(self, text: str) -> None:
        tokenizer = self.processor.tokenizer
        unk = tokenizer.unk_token_id
        audio_text.check_speakable(
            text, lambda c: tokenizer.convert_tokens_to_ids(c) != unk, model=self.name
        )

    def _prepare_voice(self, voice: Any):
        import torch

        size = int(self.model.config.speaker_embedding_dim)
        vector = np.zeros(size, dtype=np.float32) if voice is None else load_xvector(voice, size)
        return torch.from_numpy(vector)[None].to(self.model.device, self.model.dtype)

    # --- speak ---------------------------------------------------------------------------------

    def _speak(self, text: str, voice: Any, speed: float, seed: int) -> np.ndarray:
        inputs = self.processor(text=text, return_tensors="pt")
        input_ids = inputs["input_ids"].to(self.model.device)
        waveform = self.model.generate(input_ids, speaker_embeddings=voice, vocoder=self.vocoder)
        return waveform.float().cpu().numpy()

    def _release(self) -> None:
        self.model = None
        self.processor = None
        self.vocoder = None
