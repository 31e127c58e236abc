"""What every audio backend shares: checked settings, caps, cancellation, post-processing, the result.

A backend family (vits.py, speecht5.py, bark.py, tacotron.py, piper.py, music.py, sound.py,
performance_rnn.py) sets ``call_spec`` (the audio spec of genai.specs.audio, narrowed),
loads in ``_load`` and generates in ``__call__``; this base class checks the call against
the spec (unknown keywords refused with the nearest valid name), applies the per-model
caps (``max_text_chars``, ``max_duration``: InputTooLongError before any work), stops a
job between units when its ``cancel`` event is set, post-processes and builds the
AudioResult.

Seeding never holds a process-wide lock across a whole job: a family whose library draws
from torch's global generator (``uses_global_rng``) seeds each short unit (one sentence,
one generate call) through genai.seeding.seeded; the others use generators of their own.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .. import audio_dsp, audio_text
from ..device import oom_guard
from ..errors import GenerationCancelled, InputTooLongError, InvalidParameterError
from ..generator import Generator
from ..params import check_prompt
from ..seeding import derive_seed, deterministic_kernels, resolve_seed, seeded
from ..specs.audio import AUDIO, SPEECH, check_audio_size, speech_seconds


class AudioGenerator(Generator):
    """Shared by every audio backend: settings, caps, seeding, post-processing, the result."""

    modality = "audio"
    call_spec = AUDIO
    engine = "torch"
    # True when the library samples from torch's global generator (transformers, torchaudio):
    # each unit then runs under genai.seeding.seeded, which takes turns with other threads.
    uses_global_rng = True

    def __init__(self, source, family, task, placement, **options: Any):
        super().__init__(source, family, task, placement, **options)
        self.options = _speaker_is_voice(options)
        # Load options that are call parameters (defaults for every call) are checked now.
        given = {k: v for k, v in _speaker_is_voice(options).items() if k in self.call_spec}
        self.call_spec.check(given, owner=f"genai.load({self.name!r})")
        started = time.perf_counter()
        self._load()
        self.load_s = time.perf_counter() - started
        self._load_reported = False

    def _load(self) -> None:
        raise NotImplementedError

    @property
    def sample_rate(self) -> int:
        """The rate the model makes audio at (before any ``sample_rate=`` resampling)."""
        raise NotImplementedError

    # --- validate ----------------------------------------------------------------------------

    def _settings(self, given: dict[str, Any]) -> dict[str, Any]:
        """The call's settings: spec defaults < catalog defaults < load options < ``given``."""
        settings = self.settings(_speaker_is_voice(given))
        settings["seed"] = resolve_seed(settings.get("seed"))
        return settings

    def check_duration(self, settings: dict[str, Any], *, minimum: float = 0.0) -> float:
        """``duration`` in seconds, at least ``minimum`` and at most the model's ``max_duration``."""
        duration, limit = float(settings["duration"]), float(settings["max_duration"])
        if duration > limit:
            raise InputTooLongError(
                f"duration={duration:g} s is above the {limit:g} s {self.name} makes; give at "
                f"most {limit:g} (or load it with max_duration=... to allow more)"
            )
        if duration < minimum:
            raise InvalidParameterError(
                f"duration={duration:g} s is below the {minimum:g} s {self.name} can make; "
                f"give at least {minimum:g}"
            )
        check_audio_size(duration, self.sample_rate, settings, model=self.name)  # H5a: size
        return duration

    # --- run -----------------------------------------------------------------------------------

    @contextlib.contextmanager
    def seeded_unit(self, seed: int) -> Iterator[None]:
        """Seed one short unit of work (never a whole job) when the library uses torch's global RNG.

        Libraries also draw from numpy's and Python's global generators where it changes
        nothing (VITS' encoder draws a LayerDrop number even in eval mode): their states are
        put back too, so the caller's are as they were.
        """
        if not self.uses_global_rng:
            yield
            return
        import random

        with seeded(seed, self.placement.device):
            states = random.getstate(), np.random.get_state()
            try:
                yield
            finally:
                random.setstate(states[0])
                np.random.set_state(states[1])

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        """No autograd, deterministic kernels on CUDA (a vocoder's transposed convolutions
        would otherwise add in a random order), and out-of-memory as GenaiMemoryError."""
        import torch

        advice = "try shorter audio (duration, or less text), dtype='float16', or device='cpu'"
        device = self.placement.device
        with oom_guard(self.name, device, advice), deterministic_kernels(device):
            with torch.inference_mode():
                yield

    def _result(
        self,
        waveform: Any,
        rate: int,
        *,
        prompt: str | None,
        settings: dict[str, Any],
        started: float,
        **extra: Any,
    ):
        from ..results.audio import AudioResult

        generated = time.perf_counter()
        waveform, rate = audio_dsp.postprocess(audio_dsp.as_waveform(waveform), rate, settings)
        finished = time.perf_counter()
        duration = waveform.shape[1] / rate
        load_s = 0.0 if self._load_reported else self.load_s
        self._load_reported = True
        timings = {
            "load_s": round(load_s, 4),
            "generate_s": round(generated - started, 4),
            "postprocess_s": round(finished - generated, 4),
            "total_s": round(load_s + finished - started, 4),
            "real_time_factor": round((generated - started) / duration, 4) if duration else 0.0,
        }
        parameters = {k: _describe(v) for k, v in self.call_spec.record(settings).items()}
        parameters.pop("seed", None)
        return AudioResult(
            **self.result_fields(),
            parameters=parameters,
            seed=settings["seed"],
            timings=timings,
            waveform=waveform,
            sample_rate=int(rate),
            prompt=prompt,
            device=self.placement.device,
            dtype=self.placement.dtype_name,
            **extra,
        )

    def info(self) -> dict[str, Any]:
        record = super().info()
        if self.loaded:
            record["sample_rate"] = self.sample_rate
        return record


def stop_if_cancelled(cancel: Any, done: int, total: int) -> None:
    """GenerationCancelled when the caller's ``cancel`` event is set (checked between units)."""
    if cancel is not None and cancel.is_set():
        raise GenerationCancelled(f"cancelled by the caller after {done} of {total} parts")


def report(progress: Callable[[int, int], None] | None, step: int, total: int) -> None:
    if progress is not None:
        progress(step, total)


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


class SpeechBase(AudioGenerator):
    """What every text-to-speech backend shares: pieces of text in, one joined waveform out.

    Long text is split at sentence ends (long sentences at commas) and each piece spoken
    with a seed of its own (derived from the call's seed), under ``seeded_unit``: the
    global RNG lock, where one is needed, is held for one sentence, never the whole text.
    Text longer than ``max_text_chars`` is refused before any work; ``cancel`` is checked
    before each sentence.
    """

    call_spec = SPEECH
    load_option_names = ("max_text_chars",)
    max_chars = 300  # longest piece of text the model says in one go (characters)
    pause = 0.2  # seconds between pieces, unless the call says
    speed_supported = False
    # The transformers classes a family loads with from_pretrained: (processor, model) names.
    pretrained_classes: tuple[str, str] | None = None

    def _load(self) -> None:
        """A processor (or tokenizer) and a model from the source, named by pretrained_classes."""
        from ..errors import require
        from .transformers_util import load_pretrained

        transformers = require("transformers", "audio")
        processor, model = (getattr(transformers, name) for name in self.pretrained_classes)
        self.processor, self.model = load_pretrained(self, processor, model)

    def __call__(self, text: str, **parameters: Any):
        """Speak ``text``; long text is split at sentence ends and the pieces joined.

        Keywords: ``seed``, ``voice`` (or ``speaker``), ``speed`` (1.0 = normal, where the
        model supports it), ``pause`` (seconds between sentences), ``progress(done, total)``
        (sentences), ``cancel`` (a threading.Event: set, the job stops before the next
        sentence with GenerationCancelled), and ``sample_rate``, ``normalize`` (LUFS),
        ``fade_in``, ``fade_out``, ``trim``.
        """
        check_prompt(text, "text")
        settings = self._settings(parameters)
        limit = settings["max_text_chars"]
        if len(text) > limit:
            raise InputTooLongError(
                f"text is {len(text)} characters long, above the {limit} {self.name} takes in "
                f"one call; split it, or load the model with max_text_chars=... to allow more"
            )
        speed = settings["speed"]
        if speed != 1.0 and not self.speed_supported:
            raise InvalidParameterError(
                f"speed={speed}: {self.family} models speak at one speed; leave speed=1.0"
            )
        if settings["pause"] is None:
            settings["pause"] = self.pause
        self._check_text(text)
        pieces = [p for p in audio_text.split_text(text, self.max_chars) if self._has_speech(p)]
        if not pieces:
            raise InvalidParameterError(
                f"text={text!r} has nothing {self.name} can say (no letters or digits)"
            )
        seconds = speech_seconds(text, speed, settings["pause"], len(pieces))  # H5a: size
        check_audio_size(seconds, self.sample_rate, settings, model=self.name, estimated=True)
        voice = self._prepare_voice(settings["voice"])
        progress, cancel = settings["progress"], settings["cancel"]
        started = time.perf_counter()
        clips = []
        with self.running():
            for index, piece in enumerate(pieces):
                stop_if_cancelled(cancel, index, len(pieces))
                # Each piece has a seed of its own, so it sounds the same wherever it stands.
                piece_seed = derive_seed(settings["seed"], f"piece {index}")
                with self.seeded_unit(piece_seed):
                    clip = self._speak(piece, voice, speed, piece_seed)
                clips.append(audio_dsp.as_waveform(clip))
                report(progress, index + 1, len(pieces))
        waveform = audio_dsp.join(clips, self.sample_rate, settings["pause"])
        return self._result(
            waveform, self.sample_rate, prompt=text, settings=settings, started=started
        )

    @property
    def voices(self) -> list[str]:
        """Named voices for ``voice=`` (empty when the model has one voice or takes other values)."""
        return []

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

    def _speak(self, text: str, voice: Any, speed: float, seed: int) -> Any:
        raise NotImplementedError


__all__ = ["AudioGenerator", "SpeechBase", "report", "stop_if_cancelled"]
