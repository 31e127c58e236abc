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

from .. import audio_dsp
from ..device import oom_guard
from ..errors import GenerationCancelled, InputTooLongError, InvalidParameterError
from ..generator import Generator
from ..seeding import resolve_seed, seeded
from ..specs.audio import AUDIO


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
        return duration

    # --- run -----------------------------------------------------------------------------------

    def seeded_unit(self, seed: int):
        """Seed one short unit of work (never a whole job) when the library uses torch's global RNG."""
        if not self.uses_global_rng:
            return contextlib.nullcontext()
        return seeded(seed, self.placement.device)

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        """No autograd, and out-of-memory as GenaiMemoryError with advice."""
        import torch

        advice = "try shorter audio (duration, or less text), dtype='float16', or device='cpu'"
        with oom_guard(self.name, self.placement.device, advice), torch.inference_mode():
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
            model=self.name,
            parameters=parameters,
            seed=settings["seed"],
            timings=timings,
            source=self.shared_source,
            engine=self.engine,
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


__all__ = ["AudioGenerator", "report", "stop_if_cancelled"]
