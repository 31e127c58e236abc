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
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidParameterError
from ..params import Param, ParamSpec
from ..seeding import MAX_SEED

MAX_SAMPLE_RATE = 384_000
LOUDNESS_RANGE = (-70.0, 0.0)  # LUFS a normalisation target may take
POST_OPTIONS = ("sample_rate", "normalize", "fade_in", "fade_out", "trim")
# Speech text a model takes by default (about 6 minutes of speech); a catalog entry may lower it.
MAX_TEXT_CHARS = 5000


def _callable(name: str, what: str):
    def check(value: Any) -> Any:
        if not callable(value):
            raise InvalidParameterError(f"{name}={value!r} must be a callable {what}")
        return value

    return check


def _event(value: Any) -> Any:
    if not (hasattr(value, "is_set") and callable(value.is_set)):
        raise InvalidParameterError(
            f"cancel={value!r} must be a threading.Event (set it to stop the job)"
        )
    return value


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
            "speed", float, 1.0, "speaking speed, 1.0 = normal", low=0.0, low_open=True, high=4.0
        ),
        Param("pause", float, None, "seconds of silence between sentences", low=0.0, high=10.0),
        Param(
            "max_text_chars",
            int,
            MAX_TEXT_CHARS,
            "longest text accepted (characters)",
            low=1,
            flag="",
            record=False,
        ),
        # --- music and sound
        Param("duration", float, 5.0, "length in seconds", low=0.0, low_open=True),
        Param(
            "max_duration",
            float,
            30.0,
            "longest duration accepted (seconds)",
            low=0.0,
            low_open=True,
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
        Param("temperature", float, 1.0, "sampling temperature", low=0.0, low_open=True, high=10.0),
        # --- output
        Param("sample_rate", int, None, "resample to this rate in Hz", low=1, high=MAX_SAMPLE_RATE),
        Param(
            "normalize",
            float,
            None,
            "normalise loudness to this many LUFS, e.g. -16",
            low=LOUDNESS_RANGE[0],
            high=LOUDNESS_RANGE[1],
        ),
        Param("fade_in", float, 0.0, "fade in over this many seconds", low=0.0),
        Param("fade_out", float, 0.0, "fade out over this many seconds", low=0.0),
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
