"""The audio parameters: one spec that every audio family narrows with ``.only``/``.plus``.

Speech takes ``voice`` (``speaker`` is another name for it), ``speed``, ``pause`` and is
capped by ``max_text_chars``; music and sound take ``duration`` (capped by
``max_duration``), ``guidance_scale``, ``num_inference_steps``, ``negative_prompt``,
``temperature``; every family takes the post-processing options (``sample_rate``,
``normalize``, ``fade_in``, ``fade_out``, ``trim``), ``seed``, ``progress(done, total)`` and
``cancel`` (a ``threading.Event``: set it and the job stops at the next sentence or step
with GenerationCancelled).

The caps are per model: a catalog entry's ``defaults`` or a load option
(``genai.load("piper-joe", max_text_chars=2000)``) sets them; input above them is refused
with InputTooLongError before any work.

Every parameter that scales the work has a range (shown in ``--help`` and the README) and
the audio a call would make is estimated before any work (``check_audio_size``): at most
``MAX_AUDIO_SECONDS`` seconds and ``MAX_AUDIO_SAMPLES`` samples at the output rate, and a
``sample_rate`` that the model's rate converts to with a small filter
(``resample_kernel_size``). Speech is estimated from its text (``speech_seconds``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..errors import InputTooLongError, InvalidParameterError
from ..params import Param, ParamSpec, show_value
from ..seeding import MAX_SEED

SAMPLE_RATE_RANGE = (8_000, 192_000)
MAX_SAMPLE_RATE = SAMPLE_RATE_RANGE[1]
SPEED_RANGE = (0.25, 4.0)  # OpenAI's speech API takes the same
TEMPERATURE_RANGE = (0.01, 10.0)  # below 0.01 the sampling's probabilities overflow
MAX_AUDIO_SECONDS = 1800.0  # the longest audio one call makes (30 minutes)
MAX_AUDIO_SAMPLES = 86_400_000  # 30 minutes at 48 kHz: about 350 MB of float32 per channel
MAX_TEXT_CHARS_LIMIT = 100_000  # the highest max_text_chars a model may be loaded with
# A slow speaker at speed 1.0 (voices here say 12-16 characters a second): the estimate of
# how long speech lasts, so it errs on the long side.
SPEECH_CHARS_PER_SECOND = 12.0
# Rates the models here make audio at: a sample_rate must convert from each with a small filter.
MODEL_RATES = (16_000, 22_050, 24_000, 32_000, 44_100, 48_000)
# Elements of the sinc filter bank resampling builds (torchaudio.functional.resample): it
# grows with the two rates divided by their greatest common divisor (16000 -> 44101 Hz would
# build 705 million). Common rates need well under a million.
MAX_RESAMPLE_KERNEL = 1 << 22
LOUDNESS_RANGE = (-70.0, 0.0)  # LUFS a normalisation target may take
POST_OPTIONS = ("sample_rate", "normalize", "fade_in", "fade_out", "trim")
# Speech text a model takes by default (about 6 minutes of speech); a catalog entry may lower it.
MAX_TEXT_CHARS = 5000


def _callable(name: str, what: str):
    def check(value: Any) -> Any:
        if not callable(value):
            raise InvalidParameterError(f"{name}={show_value(value)} must be a callable {what}")
        return value

    return check


def _event(value: Any) -> Any:
    if not (hasattr(value, "is_set") and callable(value.is_set)):
        raise InvalidParameterError(
            f"cancel={show_value(value)} must be a threading.Event (set it to stop the job)"
        )
    return value


def resample_kernel_size(orig_rate: int, new_rate: int) -> int:
    """Elements of the filter bank torchaudio builds to resample ``orig_rate`` -> ``new_rate``."""
    if orig_rate == new_rate:
        return 0
    divisor = math.gcd(int(orig_rate), int(new_rate))
    orig, new = orig_rate // divisor, new_rate // divisor
    width = math.ceil(6 * orig / (min(orig, new) * 0.99))
    return new * (orig + 2 * width)


def check_resample(orig_rate: int, new_rate: int) -> None:
    """InvalidParameterError for a rate change whose filter would take too much memory."""
    size = resample_kernel_size(orig_rate, new_rate)
    if size > MAX_RESAMPLE_KERNEL:
        raise InvalidParameterError(
            f"sample_rate={new_rate}: converting from {orig_rate} Hz to it needs a filter of "
            f"{size:,} values (the two rates share no large divisor); pick a standard rate "
            "such as 16000, 22050, 24000, 32000, 44100 or 48000"
        )


def check_sample_rate(rate: int) -> int:
    """A sample rate every model here converts to cheaply (see MODEL_RATES)."""
    for model_rate in MODEL_RATES:
        check_resample(model_rate, rate)
    return rate


def speech_seconds(text: str, speed: float, pause: float, pieces: int) -> float:
    """How long speech of ``text`` may last at ``speed``, with ``pause`` s between ``pieces``
    (an estimate that errs on the long side: a slow speaker)."""
    return len(text) / SPEECH_CHARS_PER_SECOND / speed + pause * max(pieces - 1, 0)


def check_audio_size(
    seconds: float,
    model_rate: int,
    settings: Mapping[str, Any],
    *,
    model: str,
    estimated: bool = False,
) -> None:
    """Refuse, before any work, audio of more than MAX_AUDIO_SECONDS or MAX_AUDIO_SAMPLES
    samples at the output rate, a sample_rate too costly to convert to, and (for audio of a
    known length) fades longer than it."""
    about = "about " if estimated else ""
    fix = (
        "give less text, a higher speed or shorter pauses"
        if estimated
        else "ask for a shorter duration"
    )
    if seconds > MAX_AUDIO_SECONDS:
        raise InputTooLongError(
            f"{model} would make {about}{seconds:.0f} s of audio, above the "
            f"{MAX_AUDIO_SECONDS:g} s one call makes; {fix}"
        )
    rate = settings.get("sample_rate") or model_rate
    if seconds * rate > MAX_AUDIO_SAMPLES:
        raise InputTooLongError(
            f"{model} would make {about}{seconds:.0f} s of audio at {rate} Hz, "
            f"{seconds * rate:,.0f} samples, above the {MAX_AUDIO_SAMPLES:,} one call makes; "
            f"{fix}, or a lower sample_rate"
        )
    check_resample(model_rate, rate)
    fades = (settings.get("fade_in") or 0.0) + (settings.get("fade_out") or 0.0)
    if not estimated and fades > seconds:
        raise InvalidParameterError(
            f"fade_in={settings.get('fade_in') or 0:g} s + fade_out="
            f"{settings.get('fade_out') or 0:g} s is longer than the audio ({seconds:g} s); "
            "use shorter fades"
        )


AUDIO = ParamSpec(
    "audio",
    (
        # --- speech
        Param(
            "voice",
            object,
            help="voice preset, speaker name or number, or a voice file",
            flag="--voice",
        ),
        Param("speaker", object, help="another name for voice", flag="", record=False),
        Param(
            "speed",
            float,
            1.0,
            "speaking speed, 1.0 = normal",
            low=SPEED_RANGE[0],
            high=SPEED_RANGE[1],
        ),
        Param("pause", float, None, "seconds of silence between sentences", low=0.0, high=10.0),
        Param(
            "max_text_chars",
            int,
            MAX_TEXT_CHARS,
            "longest text accepted (characters)",
            low=1,
            high=MAX_TEXT_CHARS_LIMIT,
            flag="",
            record=False,
        ),
        # --- music and sound
        Param(
            "duration",
            float,
            5.0,
            "length in seconds (at most the model's max_duration)",
            low=0.0,
            low_open=True,
            high=MAX_AUDIO_SECONDS,
        ),
        Param(
            "max_duration",
            float,
            30.0,
            "longest duration accepted (seconds)",
            low=0.0,
            low_open=True,
            high=MAX_AUDIO_SECONDS,
            flag="",
            record=False,
        ),
        Param(
            "guidance_scale",
            float,
            None,
            "guidance (CFG) scale",
            low=0.0,
            high=30.0,
            flag="--guidance",
        ),
        Param(
            "num_inference_steps", int, None, "denoising steps", low=1, high=1000, flag="--steps"
        ),
        Param("negative_prompt", str, None, "what the sound should not have"),
        Param(
            "temperature",
            float,
            1.0,
            "sampling temperature (1.0 as trained; lower is tamer)",
            low=TEMPERATURE_RANGE[0],
            high=TEMPERATURE_RANGE[1],
        ),
        # --- output
        Param(
            "sample_rate",
            int,
            None,
            "resample to this rate in Hz (a standard rate: 16000, 22050, 44100, 48000...)",
            low=SAMPLE_RATE_RANGE[0],
            high=SAMPLE_RATE_RANGE[1],
            check=check_sample_rate,
        ),
        Param(
            "normalize",
            float,
            None,
            "normalise loudness to this many LUFS, e.g. -16",
            low=LOUDNESS_RANGE[0],
            high=LOUDNESS_RANGE[1],
        ),
        Param(
            "fade_in",
            float,
            0.0,
            "fade in over this many seconds",
            low=0.0,
            high=MAX_AUDIO_SECONDS,
        ),
        Param(
            "fade_out",
            float,
            0.0,
            "fade out over this many seconds",
            low=0.0,
            high=MAX_AUDIO_SECONDS,
        ),
        Param("trim", bool, False, "cut silence at the start and the end"),
        # --- every call
        Param("seed", int, None, "random seed (same seed, same audio)", low=0, high=MAX_SEED),
        Param(
            "progress",
            object,
            None,
            "progress(done, total)",
            flag="",
            record=False,
            check=_callable("progress", "progress(done, total)"),
        ),
        Param(
            "cancel",
            object,
            None,
            "a threading.Event that stops the job",
            flag="",
            record=False,
            check=_event,
        ),
    ),
)

COMMON = ("sample_rate", "normalize", "fade_in", "fade_out", "trim", "seed", "progress", "cancel")
SPEECH = AUDIO.only("voice", "speaker", "speed", "pause", "max_text_chars", *COMMON)
MUSIC = AUDIO.only("duration", "max_duration", "guidance_scale", *COMMON)
SOUND = AUDIO.only(
    "duration",
    "max_duration",
    "guidance_scale",
    "num_inference_steps",
    "negative_prompt",
    *COMMON,
)
