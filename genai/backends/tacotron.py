"""Speech with torchaudio's Tacotron2 bundles: characters (or phonemes) to mel spectrogram to waveform.

A catalog entry names a bundle as ``torchaudio:<BUNDLE>`` (for example
``torchaudio:TACOTRON2_WAVERNN_CHAR_LJSPEECH``). torchaudio downloads the weights from
download.pytorch.org on first use into torch.hub's cache (``$TORCH_HOME/hub/checkpoints``)
and reads them from there afterwards. The WaveRNN vocoder makes one sample at a time
(slow on a CPU); the Griffin-Lim bundles need no vocoder weights and are much faster.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .. import audio_text
from ..errors import ModelNotAvailableError, UnsupportedModelError, require
from ..params import check_int
from .audio import SpeechBase

PREFIX = "torchaudio:"


class TacotronGenerator(SpeechBase):
    """A torchaudio Tacotron2 text-to-speech bundle (Tacotron2 + WaveRNN or Griffin-Lim)."""

    max_chars = 200  # the decoder stops after max_decoder_steps frames (about 23 s by default)
    load_option_names = (*SpeechBase.load_option_names, "max_decoder_steps")

    def _load(self) -> None:
        torchaudio = require("torchaudio", "audio")
        name = self.source.location.removeprefix(PREFIX)
        bundle = getattr(torchaudio.pipelines, name, None)
        if bundle is None or not hasattr(bundle, "get_tacotron2"):
            raise UnsupportedModelError(
                f"{self.source.location!r} is not a torchaudio Tacotron2 bundle; torchaudio has: "
                + ", ".join(n for n in dir(torchaudio.pipelines) if n.startswith("TACOTRON2"))
            )
        try:
            self.processor = bundle.get_text_processor()
            self.model = bundle.get_tacotron2()
            self.vocoder = bundle.get_vocoder()
        except OSError as error:  # urllib's URLError and HTTPError are OSErrors
            import torch

            raise ModelNotAvailableError(
                f"the weights of {self.name} ({name}) are not in torch.hub's cache "
                f"({torch.hub.get_dir()}/checkpoints) and could not be downloaded from "
                f"download.pytorch.org ({error}); load it once with internet access, or pick another model"
            ) from error
        steps = self.options.get("max_decoder_steps")
        if steps is not None:
            self.model.decoder.decoder_max_step = check_int("max_decoder_steps", steps, low=1)
        # The tacotron runs in float32 everywhere: its LSTM cells and Griffin-Lim want it
        # (and results say so: the placement's dtype is what ran).
        reason = f"{self.placement.reason}; Tacotron2 runs in float32"
        self.placement = dataclasses.replace(self.placement, dtype_name="float32", reason=reason)
        self.model = self.model.to(self.placement.device).eval()
        self.vocoder = self.vocoder.to(self.placement.device).eval()

    @property
    def sample_rate(self) -> int:
        return int(self.vocoder.sample_rate)

    def _check_text(self, text: str) -> None:
        tokens = set(self.processor.tokens)

        def known(char: str) -> bool:
            if "a" in tokens:  # a character bundle: its alphabet is its token list
                return char.lower() in tokens
            return audio_text.script_of(char) == "LATIN"  # a phoneme bundle reads English words

        audio_text.check_speakable(text, known, model=self.name, language="English")

    def _has_speech(self, piece: str) -> bool:
        return any(c.isalpha() and c.isascii() for c in piece)

    def _speak(self, text: str, voice: Any, speed: float, seed: int) -> np.ndarray:
        device = self.placement.device
        tokens, lengths = self.processor(text)
        spectrogram, spectrogram_lengths, _ = self.model.infer(
            tokens.to(device), lengths.to(device)
        )
        # One sentence at a time, so nothing is padded and the whole waveform is speech.
        waveforms, _ = self.vocoder(spectrogram, spectrogram_lengths)
        return waveforms[0].float().cpu().numpy()

    def _release(self) -> None:
        self.model = None
        self.vocoder = None
        self.processor = None
