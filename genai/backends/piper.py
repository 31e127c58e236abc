"""Piper voices: VITS exported to ONNX, phonemized by espeak-ng and run by onnxruntime (extra ``piper``).

A voice is an ``.onnx`` file with its ``.onnx.json`` config beside it (or a folder holding
one). Piper's own code does the text work (``PiperVoice.phonemize``, ``phonemes_to_ids``);
genai runs the ONNX session itself for one reason: seeds.

Seeds. A VITS voice draws noise twice per sentence (phoneme durations and the latent
audio) with ONNX ``RandomNormalLike`` nodes. onnxruntime seeds those once, when the
session is created, and the stream then runs on from call to call, so the same text
never sounds the same twice. genai loads the graph with each such node replaced by a
slice of a graph input (``Shape -> ReduceProd -> Slice -> Reshape``, same shape and
dtype as before) and feeds that input with normal noise from a numpy generator seeded per
call: same seed, same audio, at the cost of drawing the noise in numpy. Each noise size is
also a graph output, so genai learns how much noise the voice needs and draws little more
(the graph edit is in genai.backends.piper_graph). The noise comes from numpy generators of
each sentence's own, so no process-wide lock is ever taken.
"""

from __future__ import annotations

import json
import logging
import os
import unicodedata
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .. import audio_dsp, audio_text
from ..errors import InvalidParameterError, ModelNotAvailableError, UnsupportedModelError, require
from ..params import check_int
from .audio import SpeechBase
from .piper_graph import NOISE_INPUT, SIZE_OUTPUT, seedable_graph

logger = logging.getLogger("genai.audio")

# Noise values per phoneme id offered before a voice has reported its needs: 192 latent
# channels times 12 frames (about 0.14 s) per id, twice what speech at normal speed takes.
_NOISE_PER_ID = 192 * 12


class PiperGenerator(SpeechBase):
    """A Piper voice (ONNX VITS); ``speed`` sets its length scale, ``voice`` picks a speaker of multi-speaker voices."""

    engine = "onnxruntime"
    max_chars = 400
    speed_supported = True
    uses_global_rng = False  # noise comes from numpy generators seeded per sentence
    load_option_names = (*SpeechBase.load_option_names, "threads")  # onnxruntime's intra-op

    def _load(self) -> None:
        require("piper", "piper")
        onnxruntime = require("onnxruntime", "piper")
        from piper import PiperVoice
        from piper.config import PiperConfig

        model_path, config_path = _voice_files(self.source.location, self.name)
        self.config_dict = json.loads(config_path.read_text(encoding="utf-8"))
        graph, self.noise_ops = seedable_graph(model_path.read_bytes())
        if not self.noise_ops:
            logger.warning(
                "%s: its noise cannot be seeded; the same seed may not give the same audio",
                self.name,
            )
        providers = ["CPUExecutionProvider"]
        if (
            self.placement.is_cuda
            and "CUDAExecutionProvider" in onnxruntime.get_available_providers()
        ):
            providers.insert(
                0,
                ("CUDAExecutionProvider", {"device_id": int(self.placement.device.split(":")[-1])}),
            )
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 4  # failures still raise; a short noise offer is retried
        # Half the cores by default, so a long speech job leaves room for other requests.
        threads = self.options.get("threads") or max(1, (os.cpu_count() or 2) // 2)
        options.intra_op_num_threads = check_int("threads", threads, low=1, high=1024)
        session = onnxruntime.InferenceSession(graph, options, providers=providers)
        self.voice = PiperVoice(session=session, config=PiperConfig.from_dict(self.config_dict))
        self._input_names = {i.name for i in session.get_inputs()}
        # The audio, then how many noise values each noise tensor took (see seedable_graph).
        self._outputs = [session.get_outputs()[0].name] + [
            SIZE_OUTPUT.format(k) for k in range(len(self.noise_ops))
        ]
        # Noise values used per phoneme id (at speed 1), per noise tensor, once a run has said.
        self._noise_per_id: list[float | None] = [None] * len(self.noise_ops)

    @property
    def sample_rate(self) -> int:
        return int(self.voice.config.sample_rate)

    @property
    def language(self) -> str:
        language = self.config_dict.get("language", {})
        return language.get("code") or self.voice.config.espeak_voice

    @property
    def voices(self) -> list[str]:
        """Speaker names of a multi-speaker voice (empty for single-speaker voices)."""
        return sorted(self.voice.config.speaker_id_map)

    # --- validate ------------------------------------------------------------------------

    def _check_text(self, text: str) -> None:
        from piper.config import PhonemeType

        config = self.voice.config
        language = self.config_dict.get("language", {}).get("name_english") or self.language
        scripts = audio_text.scripts_for_language(self.language)

        def known(char: str) -> bool:
            if config.phoneme_type == PhonemeType.TEXT:  # the letters are the phonemes
                return all(p in config.phoneme_id_map for p in unicodedata.normalize("NFD", char))
            # espeak reads out any character by its name ("Chinese letter"), so ask for the
            # voice language's script rather than what espeak can pronounce.
            return audio_text.script_of(char) in scripts

        audio_text.check_speakable(text, known, model=self.name, language=language)

    def _prepare_voice(self, voice: Any) -> int | None:
        config = self.voice.config
        if voice is None:
            return config.default_speaker_id if config.num_speakers > 1 else None
        if config.num_speakers <= 1:
            raise InvalidParameterError(
                f"voice={voice!r}: {self.name} has a single speaker; leave voice unset"
            )
        if isinstance(voice, str) and voice in config.speaker_id_map:
            return int(config.speaker_id_map[voice])
        if (
            isinstance(voice, int)
            and not isinstance(voice, bool)
            and 0 <= voice < config.num_speakers
        ):
            return voice
        shown = ", ".join(self.voices[:8]) + (", ..." if len(self.voices) > 8 else "")
        raise InvalidParameterError(
            f"voice={voice!r} is not a speaker of {self.name}; give a number from 0 to "
            f"{config.num_speakers - 1} or a name ({shown})"
        )

    # --- speak ---------------------------------------------------------------------------

    def _speak(self, text: str, voice: Any, speed: float, seed: int) -> np.ndarray:
        clips = [self._synthesize(ids, voice, speed, seed) for ids in self._phoneme_ids(text)]
        return audio_dsp.join(clips, self.sample_rate, 0.0)

    def _phoneme_ids(self, text: str) -> Iterator[list[int]]:
        for phonemes in self.voice.phonemize(text):
            if phonemes:
                yield self.voice.phonemes_to_ids(phonemes)

    def _synthesize(
        self, ids: list[int], speaker: int | None, speed: float, seed: int
    ) -> np.ndarray:
        """One sentence through the ONNX graph, noise drawn from ``seed``; peak-normalised as piper does.

        The noise of a sentence depends on the seed and the sentence's phonemes only (no
        state kept between calls), so a voice can serve several threads at once.
        """
        config = self.voice.config
        scales = np.array(
            [config.noise_scale, config.length_scale / speed, config.noise_w_scale],
            dtype=np.float32,
        )
        feed: dict[str, Any] = {
            "input": np.array([ids], dtype=np.int64),
            "input_lengths": np.array([len(ids)], dtype=np.int64),
            "scales": scales,
        }
        if speaker is not None and "sid" in self._input_names:
            feed["sid"] = np.array([speaker], dtype=np.int64)
        if not self.noise_ops:
            return _peak_normalised(self.voice.session.run(None, feed)[0].squeeze())
        # A noise tensor's size is known only inside the graph (it grows with the phoneme
        # durations), and each run reports it: offer what the voice has needed so far per
        # phoneme id, with a margin; on the rare run that needs more, offer four times as much.
        key = zlib.crc32(np.asarray(ids, dtype=np.int64).tobytes())
        margin = 1.25 / min(speed, 1.0)
        generous = 256 + int(len(ids) * _NOISE_PER_ID * margin)
        sizes = [
            generous if per_id is None else 256 + int(len(ids) * per_id * margin)
            for per_id in self._noise_per_id
        ]
        for attempt in range(4):
            for k, (mean, scale) in enumerate(self.noise_ops):
                # Draws are sequential, so the first n values do not depend on the size offered.
                rng = np.random.default_rng([seed, k, key])
                feed[NOISE_INPUT.format(k)] = (
                    rng.standard_normal(sizes[k], dtype=np.float32) * scale + mean
                )
            try:
                audio, *used = self.voice.session.run(self._outputs, feed)
                break
            except Exception as error:  # onnxruntime raises its own classes (InvalidArgument, Fail)
                if attempt == 3 or "genai_noise" not in str(error):
                    raise
                sizes = [max(size * 4, generous) for size in sizes]
        for k, count in enumerate(used):
            per_id = float(count[0]) / len(ids) * min(speed, 1.0)
            known = self._noise_per_id[k]
            self._noise_per_id[k] = per_id if known is None else max(known, per_id)
        return _peak_normalised(audio.squeeze())

    def _release(self) -> None:
        self.voice = None


def _peak_normalised(audio: np.ndarray) -> np.ndarray:
    """Scaled so the loudest sample is at full scale, as piper's own synthesize() does."""
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    audio = audio / peak if peak > 1e-8 else np.zeros_like(audio)
    return np.clip(audio, -1.0, 1.0).astype(np.float32)


def _voice_files(location: str, name: str) -> tuple[Path, Path]:
    """The ``.onnx`` model and its ``.onnx.json`` config, from a file path or a folder holding one voice."""
    path = Path(location)
    if path.is_dir():
        models = sorted(path.glob("*.onnx"))
        if len(models) != 1:
            raise UnsupportedModelError(
                f"{name!r} holds {len(models)} .onnx files; give the path of one voice's .onnx file"
            )
        path = models[0]
    config = Path(f"{path}.json")
    if not path.is_file() or not config.is_file():
        raise ModelNotAvailableError(
            f"a Piper voice is an .onnx file with its .onnx.json beside it; {name!r} lacks "
            f"{'the .onnx file' if not path.is_file() else config.name}"
        )
    return path, config
