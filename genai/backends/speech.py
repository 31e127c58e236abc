"""Speech from text with transformers models (VITS/MMS, SpeechT5 + HiFi-GAN, Bark), and what every audio generator shares.

``AudioGenerator`` is the common part of all audio backends (this module, tacotron,
piper, music, sound): it merges catalog defaults, load options and call arguments,
refuses unknown ones, seeds the run, post-processes (resample, fades, loudness) and
builds the AudioResult. ``SpeechBase`` adds what text-to-speech shares: long text is
split at sentence ends (long sentences at commas), each piece spoken and the pieces
joined with a short pause; text the voice cannot say is refused before any model work.

``SpeechGenerator`` picks the class of the model's family: VitsSpeech, SpeechT5Speech or
BarkSpeech.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .. import audio_dsp
from ..errors import GenaiMemoryError, InvalidParameterError, ModelNotAvailableError, require
from ..generator import Generator
from ..hub import hub_errors, local_files_only
from ..params import check_float, check_prompt
from ..seeding import GLOBAL_RNG_LOCK, derive_seed, resolve_seed

logger = logging.getLogger("genai.audio")

RNG_LOCK = GLOBAL_RNG_LOCK  # shared with every backend that seeds torch's global generator


class AudioGenerator(Generator):
    """Shared by every audio backend: settings, seeding, post-processing, the result."""

    modality = "audio"
    # Keyword arguments __call__ takes besides the prompt, seed, progress and POST_OPTIONS.
    call_options: tuple[str, ...] = ()
    # Keyword arguments only genai.load takes (a vocoder path, say).
    load_options: tuple[str, ...] = ()
    # Longest ``duration`` the model makes, seconds (a catalog ``max_duration`` default wins).
    max_duration: float = 30.0

    def __init__(self, source, family, task, placement, **options: Any):
        super().__init__(source, family, task, placement, **options)
        allowed = set(self.call_options) | set(audio_dsp.POST_OPTIONS) | set(self.load_options)
        unknown = sorted(set(options) - allowed)
        if unknown:
            raise InvalidParameterError(
                f"genai.load({self.name!r}) got unknown option(s) {', '.join(unknown)}; "
                f"a {family} model takes: {', '.join(sorted(allowed))}"
            )
        audio_dsp.check_post_options(options)
        started = time.perf_counter()
        self._load()
        self.load_seconds = time.perf_counter() - started

    def _load(self) -> None:
        raise NotImplementedError

    @property
    def sample_rate(self) -> int:
        """The rate the model makes audio at (before any ``sample_rate=`` resampling)."""
        raise NotImplementedError

    # --- settings --------------------------------------------------------------------------

    def _settings(self, given: dict[str, Any]) -> dict[str, Any]:
        """Catalog defaults, then load options, then call arguments; unknown names are refused."""
        given = _speaker_is_voice(given)
        allowed = set(self.call_options) | set(audio_dsp.POST_OPTIONS)
        unknown = sorted(set(given) - allowed - {"seed", "progress"})
        if unknown:
            raise InvalidParameterError(
                f"{self.name} ({self.family}) does not take {', '.join(unknown)}; "
                f"it takes: {', '.join(sorted(allowed | {'seed', 'progress'}))}"
            )
        settings = {k: v for k, v in self.defaults.items() if k in allowed}
        settings.update({k: v for k, v in _speaker_is_voice(self.options).items() if k in allowed})
        settings.update({k: v for k, v in given.items() if v is not None and k in allowed})
        settings.update(audio_dsp.check_post_options(settings))
        progress = given.get("progress")
        if progress is not None and not callable(progress):
            raise InvalidParameterError(
                f"progress={progress!r} must be a callable progress(step, total)"
            )
        return settings

    def _check_duration(self, settings: dict[str, Any], *, minimum: float = 0.0) -> float:
        """``duration`` in seconds, above 0 (and ``minimum``) and at most the model's ``max_duration``."""
        limit = float(self.defaults.get("max_duration", self.max_duration))
        duration = check_float("duration", settings.get("duration", 5.0), low=0.0, low_open=True)
        if duration > limit:
            raise InvalidParameterError(
                f"duration={duration} s is above the {limit:g} s {self.name} can make; give at most {limit:g}"
            )
        if duration < minimum:
            raise InvalidParameterError(
                f"duration={duration} s is below the {minimum:g} s {self.name} can make; give at least {minimum:g}"
            )
        return duration

    # --- running ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _seeded(self, seed: int) -> Iterator[None]:
        """Seed torch for this run only (global random state is restored afterwards).

        transformers' generate and torchaudio draw from torch's global generator, one per
        process, so seeded runs take turns (RNG_LOCK): two threads generating at once would
        otherwise draw from each other's stream and a seed would not give the same audio.
        """
        import torch

        devices = [self.placement.device] if self.placement.is_cuda else []
        with RNG_LOCK, torch.random.fork_rng(devices=devices), torch.inference_mode():
            torch.manual_seed(seed)
            yield

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        """Out-of-memory becomes GenaiMemoryError with advice."""
        import torch

        try:
            yield
        except torch.OutOfMemoryError as error:
            raise GenaiMemoryError(
                f"{self.name} ran out of memory on {self.placement.device}; try shorter audio "
                "(duration, or less text), dtype='float16', or device='cpu'"
            ) from error

    def _result(
        self,
        waveform: np.ndarray,
        rate: int,
        *,
        prompt: str,
        seed: int,
        settings: dict[str, Any],
        started: float,
    ):
        from ..results.audio import AudioResult

        generated = time.perf_counter()
        waveform, rate = audio_dsp.postprocess(audio_dsp.as_waveform(waveform), rate, settings)
        finished = time.perf_counter()
        parameters = {k: _describe(v) for k, v in settings.items()}
        duration = waveform.shape[1] / rate
        timings = {
            "generate": round(generated - started, 4),
            "postprocess": round(finished - generated, 4),
            "real_time_factor": round((generated - started) / duration, 4) if duration else 0.0,
        }
        return AudioResult(
            model=self.name,
            parameters=parameters,
            seed=seed,
            timings=timings,
            waveform=waveform,
            sample_rate=int(rate),
            prompt=prompt,
            device=self.placement.device,
            dtype=self.placement.dtype_name,
        )

    def info(self) -> dict[str, Any]:
        record = super().info()
        if self.loaded:
            record["sample_rate"] = self.sample_rate
        return record


def _speaker_is_voice(options: dict[str, Any]) -> dict[str, Any]:
    """``speaker=`` is another name for ``voice=``; giving both is an error."""
    if options.get("speaker") is None:
        return options
    if options.get("voice") is not None:
        raise InvalidParameterError(
            "give voice= or speaker= (two names for the same thing), not both"
        )
    options = dict(options)
    options["voice"] = options.pop("speaker")
    return options


def _describe(value: Any) -> Any:
    """Settings as they go in the record: arrays by their shape, not their numbers."""
    if hasattr(value, "shape") and getattr(value, "ndim", 0) > 0:
        return f"<array {tuple(value.shape)}>"
    return value


def report(progress: Callable[[int, int], None] | None, step: int, total: int) -> None:
    if progress is not None:
        progress(step, total)


def transformers_location(generator: Generator) -> tuple[str, dict[str, Any]]:
    """The path or repo id to pass to from_pretrained, with the keywords every call needs."""
    return generator.source.location, {"local_files_only": offline_for(generator.source.location)}


def offline_for(location: str) -> bool:
    """``local_files_only`` for one location: a local folder never asks the hub (nor probes it)."""
    return True if Path(location).expanduser().exists() else local_files_only()


# --- text to speech ------------------------------------------------------------------------


class SpeechBase(AudioGenerator):
    """What every text-to-speech backend shares: pieces of text in, one joined waveform out."""

    call_options = ("voice", "speaker", "speed", "pause")
    # Longest piece of text the model says in one go (characters).
    max_chars = 300
    # Pause between pieces, seconds.
    pause = 0.2
    speed_supported = False

    def __call__(self, text: str, **parameters: Any):
        """Speak ``text``; long text is split at sentence ends and the pieces joined.

        Keywords: ``seed``, ``voice`` (or ``speaker``), ``speed`` (1.0 = normal, where the
        model supports it), ``pause`` (seconds between sentences), ``progress(done, total)``
        (pieces), and ``sample_rate``, ``normalize`` (LUFS), ``fade_in``, ``fade_out``, ``trim``.
        """
        check_prompt(text, "text")
        settings = self._settings(parameters)
        progress = parameters.get("progress")
        seed = resolve_seed(parameters.get("seed"))
        voice = self._voice_setting(settings)
        speed = settings.get("speed", 1.0)
        check_float("speed", speed, low=0.0, low_open=True, high=4.0, fix="1.0 is normal speed")
        if speed != 1.0 and not self.speed_supported:
            raise InvalidParameterError(
                f"speed={speed}: {self.family} models speak at one speed; leave speed=1.0"
            )
        pause = check_float("pause", settings.get("pause", self.pause), low=0.0, high=10.0)
        settings["pause"] = pause
        self._check_text(text)
        pieces = [
            piece for piece in audio_dsp.split_text(text, self.max_chars) if self._has_speech(piece)
        ]
        if not pieces:
            raise InvalidParameterError(
                f"text={text!r} has nothing {self.name} can say (no letters or digits)"
            )
        prepared = self._prepare_voice(voice)
        import torch

        started = time.perf_counter()
        clips = []
        with self._guard(), self._seeded(seed):
            for index, piece in enumerate(pieces):
                # Each piece has a seed of its own, so it sounds the same wherever it stands.
                piece_seed = derive_seed(seed, f"piece {index}")
                torch.manual_seed(piece_seed)
                clips.append(audio_dsp.as_waveform(self._speak(piece, prepared, speed, piece_seed)))
                report(progress, index + 1, len(pieces))
        waveform = audio_dsp.join(clips, self.sample_rate, pause)
        return self._result(
            waveform, self.sample_rate, prompt=text, seed=seed, settings=settings, started=started
        )

    @property
    def voices(self) -> list[str]:
        """Named voices for ``voice=`` (empty when the model has one voice or takes other values)."""
        return []

    def _voice_setting(self, settings: dict[str, Any]) -> Any:
        settings.pop("speaker", None)  # folded into voice by _settings
        return settings.get("voice")

    def _has_speech(self, piece: str) -> bool:
        return any(c.isalnum() for c in piece)

    def _check_text(self, text: str) -> None:
        """Refuse text in a script the voice cannot say (subclasses say which letters they know)."""

    def _prepare_voice(self, voice: Any) -> Any:
        """Check and load the voice once per call (a preset, a speaker id, an x-vector)."""
        if voice is not None:
            raise InvalidParameterError(
                f"voice={voice!r}: {self.name} has a single voice; leave voice unset"
            )
        return None

    def _speak(self, text: str, voice: Any, speed: float, seed: int) -> np.ndarray:
        raise NotImplementedError


class SpeechGenerator(SpeechBase):
    """A transformers text-to-speech model; the instance is of its family's class."""

    def __new__(cls, source, family, *args, **kwargs):
        if cls is SpeechGenerator:
            cls = {"vits": VitsSpeech, "speecht5": SpeechT5Speech, "bark": BarkSpeech}[family]
        return super().__new__(cls)

    def _place(self, model):
        if self.placement.device_map is None:
            model = model.to(self.placement.device, self.placement.dtype)
        return model.eval()

    def _dtype_keywords(self) -> dict[str, Any]:
        keywords: dict[str, Any] = {"dtype": self.placement.dtype}
        if self.placement.device_map is not None:
            keywords["device_map"] = self.placement.device_map
        return keywords

    def _release(self) -> None:
        self.model = None
        self.processor = None


# --- VITS (MMS) ------------------------------------------------------------------------------


class VitsSpeech(SpeechGenerator):
    """VITS (Meta MMS voices): text straight to waveform in one pass; noise makes each take differ."""

    max_chars = 400
    speed_supported = True

    def _load(self) -> None:
        require("transformers", "audio")
        from transformers import AutoTokenizer, VitsModel

        location, keywords = transformers_location(self)
        with hub_errors(self.name):
            self.processor = AutoTokenizer.from_pretrained(location, **keywords)
            self.model = self._place(
                VitsModel.from_pretrained(location, **keywords, **self._dtype_keywords())
            )

    @property
    def sample_rate(self) -> int:
        return int(self.model.config.sampling_rate)

    def _check_text(self, text: str) -> None:
        tokenizer = self.processor
        if getattr(tokenizer, "phonemize", False) or getattr(tokenizer, "is_uroman", False):
            return  # the text goes through espeak or uroman first; the vocabulary is not of letters
        vocab = tokenizer.get_vocab()
        audio_dsp.check_speakable(text, lambda c: c in vocab or c.lower() in vocab, model=self.name)

    def _has_speech(self, piece: str) -> bool:
        vocab = self.processor.get_vocab()
        return any(c.isalnum() and (c in vocab or c.lower() in vocab) for c in piece)

    @property
    def voices(self) -> list[str]:
        """Speaker numbers of a multi-speaker model, as text."""
        speakers = int(self.model.config.num_speakers)
        return [str(i) for i in range(speakers)] if speakers > 1 else []

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
                f"voice={voice!r}: {self.name} has speakers 0 to {speakers - 1}; give one of those numbers"
            )
        return voice

    def _speak(self, text: str, voice: Any, speed: float, seed: int) -> np.ndarray:
        import torch

        inputs = self.processor(text, return_tensors="pt").to(self.model.device)
        extra = (
            {} if voice is None else {"speaker_id": torch.tensor([voice], device=self.model.device)}
        )
        output = self.model(**inputs, speaking_rate=speed, **extra)
        return output.waveform[0].float().cpu().numpy()


# --- SpeechT5 --------------------------------------------------------------------------------

DEFAULT_VOCODER = "microsoft/speecht5_hifigan"


def load_xvector(voice: Any, size: int) -> np.ndarray:
    """A speaker x-vector from an array, a tensor, a list or a .npy file: ``size`` finite numbers."""
    if isinstance(voice, (str, Path)):
        path = Path(voice).expanduser()
        if path.suffix.lower() != ".npy" or not path.is_file():
            raise InvalidParameterError(
                f"voice={str(voice)!r}: SpeechT5 takes a speaker x-vector, {size} numbers as an array "
                "or a .npy file; this is not an existing .npy file"
            )
        voice = np.load(path, allow_pickle=False)
    if hasattr(voice, "detach"):
        voice = voice.detach().float().cpu().numpy()
    try:
        vector = np.asarray(voice, dtype=np.float32).reshape(-1)
    except (TypeError, ValueError) as error:
        raise InvalidParameterError(
            f"voice={voice!r}: SpeechT5 takes a speaker x-vector, {size} numbers as an array or a .npy file"
        ) from error
    if vector.size != size or not np.all(np.isfinite(vector)):
        raise InvalidParameterError(
            f"voice: the speaker x-vector must be {size} finite numbers, got {vector.size} "
            f"(shape {np.shape(voice)}); x-vectors come from a speaker-verification model such as "
            "speechbrain/spkrec-xvect-voxceleb"
        )
    return vector


class SpeechT5Speech(SpeechGenerator):
    """SpeechT5 text-to-spectrogram + HiFi-GAN vocoder; the voice is a 512-number speaker x-vector.

    Default voice: the zero x-vector, the placeholder transformers' own SpeechT5 example
    uses (``torch.zeros((1, 512))``). The model L2-normalises speaker embeddings and a zero
    vector stays zero, so the decoder gets no speaker information and speaks in a neutral
    voice; it is the same on every machine, needs no download and no dataset. For a chosen
    voice pass ``voice=`` (or ``speaker=``): an x-vector array/tensor or a .npy file, such
    as the CMU ARCTIC x-vectors (Matthijs/cmu-arctic-xvectors, index 7306 is the voice of
    the model card).
    """

    max_chars = 500  # the encoder takes up to 600 characters
    load_options = ("vocoder",)

    def _load(self) -> None:
        require("transformers", "audio")
        from transformers import AutoProcessor, SpeechT5ForTextToSpeech, SpeechT5HifiGan

        location, keywords = transformers_location(self)
        with hub_errors(self.name):
            self.processor = AutoProcessor.from_pretrained(location, **keywords)
            self.model = self._place(
                SpeechT5ForTextToSpeech.from_pretrained(
                    location, **keywords, **self._dtype_keywords()
                )
            )
        vocoder = self._vocoder_location()
        with hub_errors(vocoder):
            self.vocoder = self._place(
                SpeechT5HifiGan.from_pretrained(
                    vocoder, local_files_only=offline_for(vocoder), dtype=self.placement.dtype
                )
            )

    def _vocoder_location(self) -> str:
        """``vocoder=`` if given, else a ``vocoder/`` folder beside the model, else the catalog's extra repo."""
        if self.options.get("vocoder"):
            return str(self.options["vocoder"])
        if (
            self.source.kind == "folder"
            and (Path(self.source.location) / "vocoder" / "config.json").is_file()
        ):
            return str(Path(self.source.location) / "vocoder")
        if self.source.entry is not None and self.source.entry.extra_repos:
            return self.source.entry.extra_repos[0]
        return DEFAULT_VOCODER

    @property
    def sample_rate(self) -> int:
        return int(self.vocoder.config.sampling_rate)

    def _check_text(self, text: str) -> None:
        tokenizer = self.processor.tokenizer
        unk = tokenizer.unk_token_id
        audio_dsp.check_speakable(
            text, lambda c: tokenizer.convert_tokens_to_ids(c) != unk, model=self.name
        )

    def _prepare_voice(self, voice: Any):
        import torch

        size = int(self.model.config.speaker_embedding_dim)
        vector = np.zeros(size, dtype=np.float32) if voice is None else load_xvector(voice, size)
        return torch.from_numpy(vector)[None].to(self.model.device, self.model.dtype)

    def _speak(self, text: str, voice: Any, speed: float, seed: int) -> np.ndarray:
        inputs = self.processor(text=text, return_tensors="pt")
        input_ids = inputs["input_ids"].to(self.model.device)
        waveform = self.model.generate(input_ids, speaker_embeddings=voice, vocoder=self.vocoder)
        return waveform.float().cpu().numpy()

    def _release(self) -> None:
        super()._release()
        self.vocoder = None


# --- Bark --------------------------------------------------------------------------------------


class BarkSpeech(SpeechGenerator):
    """Suno Bark: text to semantic tokens to audio codes to waveform, all sampled; voices are presets."""

    max_chars = 200  # Bark says about 13 seconds per generation

    def _load(self) -> None:
        require("transformers", "audio")
        from transformers import AutoProcessor, BarkModel

        location, keywords = transformers_location(self)
        with hub_errors(self.name):
            self.processor = AutoProcessor.from_pretrained(location, **keywords)
            self.model = self._place(
                BarkModel.from_pretrained(location, **keywords, **self._dtype_keywords())
            )

    @property
    def sample_rate(self) -> int:
        return int(self.model.generation_config.sample_rate)

    @property
    def voices(self) -> list[str]:
        """The voice presets this model ships (names for ``voice=``)."""
        return sorted(self.processor.available_voice_presets)

    def _check_text(self, text: str) -> None:
        tokenizer = self.processor.tokenizer
        unk = tokenizer.unk_token
        audio_dsp.check_speakable(text, lambda c: unk not in tokenizer.tokenize(c), model=self.name)

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

    def _speak(self, text: str, voice: Any, speed: float, seed: int) -> np.ndarray:
        device = self.model.device
        try:
            inputs = self.processor(text, voice_preset=voice)
        except (ValueError, OSError) as error:
            raise ModelNotAvailableError(
                f"the files of voice preset {voice!r} are not on disk and cannot be downloaded "
                f"({error}); run `genai pull {self.name}` with internet access, or pick another voice"
            ) from error
        history = inputs.pop("history_prompt", None)
        if history is not None:
            history = {key: value.to(device) for key, value in history.items()}
        inputs = {key: value.to(device) for key, value in inputs.items()}
        waveform = self.model.generate(**inputs, history_prompt=history, do_sample=True)
        return waveform[0].float().cpu().numpy()


__all__ = [
    "AudioGenerator",
    "SpeechBase",
    "SpeechGenerator",
    "VitsSpeech",
    "SpeechT5Speech",
    "BarkSpeech",
]
