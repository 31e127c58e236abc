"""genai.backends.music: MusicGen on tiny random models (mono and stereo) loaded from folders."""

from __future__ import annotations

import numpy as np
import pytest

import genai
from genai import InvalidParameterError
from genai.backends.music import MusicGenerator
from genai.testing.audio import make_tiny_musicgen, torch_threads
from genai.testing.audio_checks import assert_sound

RATE = 32_000


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    with torch_threads(1):
        yield


@pytest.fixture(scope="module")
def musicgen(tmp_path_factory):
    return genai.load(str(make_tiny_musicgen(tmp_path_factory.mktemp("musicgen"))))


@pytest.fixture(scope="module")
def stereo(tmp_path_factory):
    return genai.load(str(make_tiny_musicgen(tmp_path_factory.mktemp("stereo"), stereo=True)))


def test_music_lasts_exactly_the_duration_asked(musicgen):
    assert isinstance(musicgen, MusicGenerator) and musicgen.task == "text-to-audio"
    assert musicgen.sample_rate == RATE and musicgen.frame_rate == 50
    for duration in (0.2, 0.33):
        result = musicgen("calm piano", duration=duration, seed=1)
        assert result.sample_rate == RATE and result.channels == 1
        assert result.num_samples == round(duration * RATE)
        assert result.parameters["duration"] == duration
        # random weights make noise, but it must sound from start to end: nothing silenced,
        # clipped or reduced to an offset on the way out
        assert_sound(result.waveform, RATE, max_quiet=0.0)


def test_stereo_models_give_two_channels(stereo):
    result = stereo("rock drum beat", duration=0.2, seed=1)
    assert result.waveform.shape == (2, round(0.2 * RATE))
    for channel in result.waveform:
        assert_sound(channel, RATE, max_quiet=0.0)
    assert not np.array_equal(result.waveform[0], result.waveform[1])  # two channels, not one twice


def test_same_seed_same_music(musicgen):
    first = musicgen("lo fi beat", duration=0.2, seed=9)
    assert np.array_equal(first.waveform, musicgen("lo fi beat", duration=0.2, seed=9).waveform)
    assert not np.array_equal(
        first.waveform, musicgen("lo fi beat", duration=0.2, seed=10).waveform
    )


def test_progress_counts_the_audio_frames(musicgen):
    steps = []
    musicgen("jazz", duration=0.2, seed=1, progress=lambda step, total: steps.append((step, total)))
    # 10 frames at 50 a second, plus 3 for the delay between the 4 codebooks.
    assert steps == [(i, 13) for i in range(1, 14)]


def test_guidance_and_output_options(musicgen):
    from genai.audio_dsp import resample

    result = musicgen("jazz", duration=0.2, seed=1, guidance_scale=1.0, sample_rate=16_000)
    assert result.sample_rate == 16_000 and result.num_samples == round(0.2 * 16_000)
    assert_sound(result.waveform, 16_000, max_quiet=0.0)
    # the same music at the model's rate, resampled: the option changes the rate, nothing else
    native = musicgen("jazz", duration=0.2, seed=1, guidance_scale=1.0)
    np.testing.assert_allclose(result.waveform, resample(native.waveform, RATE, 16_000), atol=1e-6)
    # guidance changes the music; the default (3.0) is what a call without it gets
    default = musicgen("jazz", duration=0.2, seed=1)
    assert default.parameters["guidance_scale"] == 3.0
    assert not np.array_equal(default.waveform, native.waveform)
    explicit = musicgen("jazz", duration=0.2, seed=1, guidance_scale=3.0)
    assert np.array_equal(default.waveform, explicit.waveform)


@pytest.mark.parametrize(
    "prompt, parameters, message",
    [
        ("", {}, "empty"),
        ("jazz", {"duration": 0}, "duration"),
        ("jazz", {"duration": -2}, "duration"),
        ("jazz", {"duration": 31}, "above the 30 s"),
        ("jazz", {"duration": 0.005}, "below"),
        ("jazz", {"duration": "long"}, "number"),
        ("jazz", {"guidance_scale": -1}, "guidance_scale"),
        ("jazz", {"num_inference_steps": 4}, "unknown parameter 'num_inference_steps'"),
        ("jazz", {"voice": "v2/en_speaker_1"}, "unknown parameter 'voice'"),
        ("jazz", {"sample_rate": 0}, "sample_rate"),
        ("jazz", {"normalize": 6}, "normalize"),
    ],
)
def test_bad_input_is_refused(musicgen, prompt, parameters, message):
    with pytest.raises(InvalidParameterError, match=message):
        musicgen(prompt, **parameters)
