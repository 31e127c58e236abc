"""genai.backends.tacotron: torchaudio Tacotron2 bundles, with random full-size weights planted in torch.hub's cache."""

from __future__ import annotations

import numpy as np
import pytest

import genai
from genai import InvalidParameterError, ModelNotAvailableError
from genai.backends.tacotron import TacotronGenerator
from genai.testing.audio import plant_tacotron2_bundle, torch_threads
from genai.testing.audio_checks import assert_sound, longest_quiet

pytestmark = pytest.mark.filterwarnings("ignore:Reached max decoder steps")

RATE = 22_050
HOP = 256  # Griffin-Lim vocoder: samples per spectrogram frame
STEPS = 12


@pytest.fixture(scope="module")
def torch_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("torch_home")
    plant_tacotron2_bundle(home, "TACOTRON2_GRIFFINLIM_CHAR_LJSPEECH")
    plant_tacotron2_bundle(home, "TACOTRON2_WAVERNN_CHAR_LJSPEECH")
    with pytest.MonkeyPatch.context() as patch, torch_threads(1):
        patch.setenv("TORCH_HOME", str(home))
        yield home


@pytest.fixture(scope="module")
def griffinlim(torch_home):
    generator = genai.load("tacotron2-griffinlim", max_decoder_steps=STEPS)
    yield generator
    generator.unload()


def test_griffinlim_bundle_speaks_for_a_known_length(griffinlim):
    assert isinstance(griffinlim, TacotronGenerator) and griffinlim.sample_rate == RATE
    # The planted decoder never stops on its own, so each sentence is max_decoder_steps frames,
    # which Griffin-Lim (a centred inverse STFT) turns into (frames - 1) hops of samples.
    one = griffinlim("Hello there.", seed=1)
    assert one.sample_rate == RATE and one.num_samples == (STEPS - 1) * HOP
    assert_sound(one.waveform, RATE, max_quiet=0.0)
    two = griffinlim("Hello there. Goodbye now.", seed=1, pause=0.5)
    assert two.num_samples == 2 * (STEPS - 1) * HOP + int(0.5 * RATE)
    assert np.array_equal(two.waveform[:, : one.num_samples], one.waveform)
    pause = two.waveform[0, one.num_samples : one.num_samples + int(0.5 * RATE)]
    assert pause.size == int(0.5 * RATE) and not np.any(pause)
    assert longest_quiet(two.waveform, RATE) <= 0.5  # the pause is the only silence
    assert_sound(two.waveform, RATE, max_quiet=0.5)


def test_tacotron_same_seed_same_audio(griffinlim):
    # The prenet's dropout stays on at inference (as in the paper): the seed fixes it.
    first, second = griffinlim("Speech synthesis.", seed=5), griffinlim("Speech synthesis.", seed=5)
    other = griffinlim("Speech synthesis.", seed=6)
    assert np.array_equal(first.waveform, second.waveform)
    assert not np.array_equal(first.waveform, other.waveform)


def test_tacotron_refuses_other_scripts_and_voices(griffinlim):
    with pytest.raises(InvalidParameterError, match="not in the alphabet"):
        griffinlim("こんにちは世界")
    with pytest.raises(InvalidParameterError, match="single voice"):
        griffinlim("Hello.", voice="anna")
    with pytest.raises(InvalidParameterError, match="one speed"):
        griffinlim("Hello.", speed=2.0)


def test_wavernn_bundle_makes_one_sample_at_a_time(torch_home):
    generator = genai.load("tacotron2", max_decoder_steps=1)
    try:
        first = generator("Hi.", seed=3)
        assert first.sample_rate == RATE and first.num_samples == 275  # one frame: one WaveRNN hop
        assert np.array_equal(generator("Hi.", seed=3).waveform, first.waveform)
    finally:
        generator.unload()


def test_missing_weights_say_where_they_come_from(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr("torch.hub.download_url_to_file", _offline)
    with pytest.raises(ModelNotAvailableError, match="download.pytorch.org"):
        genai.load("tacotron2-griffinlim", max_decoder_steps=3)


def _offline(*args, **kwargs):
    from urllib.error import URLError

    raise URLError("no network in this test")
