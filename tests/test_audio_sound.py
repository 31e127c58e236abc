"""genai.backends.sound: AudioLDM on a tiny random pipeline loaded from a folder."""

from __future__ import annotations

import numpy as np
import pytest

import genai
from genai import InvalidParameterError
from genai.backends.sound import SoundGenerator
from genai.testing.audio import make_tiny_audioldm, torch_threads
from genai.testing.audio_checks import assert_sound

RATE = 16_000


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    with torch_threads(1):
        yield


@pytest.fixture(scope="module")
def audioldm(tmp_path_factory):
    return genai.load(str(make_tiny_audioldm(tmp_path_factory.mktemp("audioldm"))))


def test_sound_lasts_the_duration_asked(audioldm):
    assert isinstance(audioldm, SoundGenerator) and audioldm.task == "text-to-audio"
    assert audioldm.sample_rate == RATE
    for duration in (0.1, 0.25):
        result = audioldm("rain on a roof", duration=duration, num_inference_steps=2, seed=1)
        assert result.sample_rate == RATE and result.channels == 1
        assert result.num_samples == round(duration * RATE)
        assert_sound(result.waveform, RATE, max_quiet=0.0)  # sounds (noise) from start to end


def test_same_seed_same_sound_and_the_negative_prompt_matters(audioldm):
    call = {"duration": 0.1, "num_inference_steps": 2, "seed": 4}
    first = audioldm("a dog barking", **call)
    assert np.array_equal(first.waveform, audioldm("a dog barking", **call).waveform)
    assert not np.array_equal(
        first.waveform, audioldm("a dog barking", **{**call, "seed": 5}).waveform
    )
    negative = audioldm("a dog barking", negative_prompt="low quality", **call)
    assert not np.array_equal(first.waveform, negative.waveform)
    assert negative.parameters["negative_prompt"] == "low quality"


def test_progress_reports_each_step(audioldm):
    steps = []
    audioldm(
        "wind",
        duration=0.1,
        num_inference_steps=3,
        seed=1,
        progress=lambda s, t: steps.append((s, t)),
    )
    assert steps == [(1, 3), (2, 3), (3, 3)]


def test_catalog_style_defaults_apply(audioldm):
    result = audioldm("wind", duration=0.1, seed=1)
    assert result.parameters["num_inference_steps"] == 10
    assert result.parameters["guidance_scale"] == 2.5
    # and they are what ran: the same as asking for them, not what two steps give
    explicit = audioldm("wind", duration=0.1, seed=1, num_inference_steps=10, guidance_scale=2.5)
    assert np.array_equal(result.waveform, explicit.waveform)
    fewer = audioldm("wind", duration=0.1, seed=1, num_inference_steps=2)
    assert not np.array_equal(result.waveform, fewer.waveform)


@pytest.mark.parametrize(
    "parameters, message",
    [
        ({"duration": 0}, "duration"),
        ({"duration": -1}, "duration"),
        ({"duration": 0.001}, "below"),
        ({"duration": 60}, "above the 30 s"),
        ({"num_inference_steps": 0}, "num_inference_steps"),
        ({"num_inference_steps": 2.5}, "num_inference_steps"),
        ({"guidance_scale": -3}, "guidance_scale"),
        ({"negative_prompt": 7}, "negative_prompt"),
        ({"sample_rate": -16000}, "sample_rate"),
        ({"speed": 2}, "unknown parameter 'speed'"),
    ],
)
def test_bad_input_is_refused(audioldm, parameters, message):
    with pytest.raises(InvalidParameterError, match=message):
        audioldm("thunder", **parameters)
