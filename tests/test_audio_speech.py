"""genai.backends.vits, speecht5, bark: VITS, SpeechT5 + HiFi-GAN and Bark, on tiny random models loaded from folders."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import genai
from genai import InvalidParameterError
from genai.backends.audio import SpeechBase
from genai.backends.bark import BarkGenerator
from genai.backends.speecht5 import SpeechT5Generator
from genai.backends.vits import VitsGenerator
from genai.results.audio import AudioResult
from genai.testing.audio import (
    BARK_PRESETS,
    make_tiny_bark,
    make_tiny_speecht5,
    make_tiny_vits,
    torch_threads,
)

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

PAGE = " ".join(
    f"Paragraph {i} says something about the sea, the hills and the roads between the towns."
    for i in range(8)
)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    with torch_threads(1):
        yield


@pytest.fixture(scope="module")
def vits(tmp_path_factory):
    return genai.load(str(make_tiny_vits(tmp_path_factory.mktemp("vits"))), device="cpu")


@pytest.fixture(scope="module")
def speecht5(tmp_path_factory):
    return genai.load(str(make_tiny_speecht5(tmp_path_factory.mktemp("speecht5"))), device="cpu")


@pytest.fixture(scope="module")
def bark(tmp_path_factory):
    return genai.load(str(make_tiny_bark(tmp_path_factory.mktemp("bark"))), device="cpu")


# --- VITS ------------------------------------------------------------------------------------------


def test_vits_loads_from_a_folder_and_speaks(vits):
    assert isinstance(vits, VitsGenerator) and isinstance(vits, SpeechBase)
    assert vits.task == "text-to-speech" and vits.sample_rate == 16_000
    result = vits("Hello there, how are you?", seed=3)
    assert isinstance(result, AudioResult)
    assert result.sample_rate == 16_000 and result.waveform.dtype == np.float32
    assert result.channels == 1 and result.num_samples > 0
    assert result.duration == pytest.approx(result.num_samples / 16_000)
    assert result.seed == 3 and result.prompt == "Hello there, how are you?"
    assert result.timings["generate_s"] > 0
    assert vits.info()["sample_rate"] == 16_000 and vits.voices == []


def test_vits_same_seed_same_audio_and_the_global_rng_is_left_alone(vits):
    state = torch.random.get_rng_state()
    first = vits("The quick brown fox.", seed=11)
    assert torch.equal(torch.random.get_rng_state(), state)
    second = vits("The quick brown fox.", seed=11)
    other = vits("The quick brown fox.", seed=12)
    assert np.array_equal(first.waveform, second.waveform)
    assert other.num_samples != first.num_samples or not np.array_equal(
        other.waveform, first.waveform
    )


def test_vits_random_seed_is_recorded_and_reproduces(vits):
    first = vits("Jumps over the lazy dog.")
    assert isinstance(first.seed, int)
    assert np.array_equal(
        vits("Jumps over the lazy dog.", seed=first.seed).waveform, first.waveform
    )


def test_calls_from_several_threads_keep_their_seeds(vits):
    from concurrent.futures import ThreadPoolExecutor

    expected = {seed: vits(PAGE, seed=seed).waveform for seed in (21, 22)}
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda seed: (seed, vits(PAGE, seed=seed)), [21, 22, 21, 22]))
    for seed, result in results:
        assert np.array_equal(result.waveform, expected[seed])


def test_vits_speed_changes_the_length(vits):
    slow = vits("Pack my box with five dozen liquor jugs.", seed=5, speed=0.5)
    fast = vits("Pack my box with five dozen liquor jugs.", seed=5, speed=2.0)
    assert slow.num_samples > 2 * fast.num_samples
    assert slow.parameters["speed"] == 0.5


def test_a_page_of_text_is_spoken_sentence_by_sentence(vits):
    calls = []
    result = vits(PAGE, seed=1, pause=0.1, progress=lambda step, total: calls.append((step, total)))
    assert calls == [(i, 8) for i in range(1, 9)]
    # Each sentence has its own seed: the first one sounds as it does alone, and the
    # sentences are joined with 0.1 s pauses.
    first = vits(PAGE.split(". ")[0] + ".", seed=1)
    assert np.array_equal(result.waveform[:, : first.num_samples], first.waveform)
    pause = result.waveform[0, first.num_samples : first.num_samples + 1600]
    assert pause.size == 1600 and not np.any(pause)
    assert result.parameters["pause"] == 0.1


def test_vits_output_options_resample_and_normalise(vits):
    from genai.audio_dsp import loudness

    result = vits(PAGE, seed=2, sample_rate=8_000, normalize=-35.0, fade_in=0.01, fade_out=0.01)
    plain = vits(PAGE, seed=2)
    assert result.sample_rate == 8_000
    assert result.duration == pytest.approx(plain.duration, abs=0.002)
    assert loudness(result.waveform, 8_000) == pytest.approx(-35.0, abs=0.5)
    assert result.waveform[0, 0] == 0.0
    assert result.parameters["sample_rate"] == 8_000 and result.parameters["normalize"] == -35.0


def test_load_options_become_defaults(tmp_path):
    folder = make_tiny_vits(tmp_path / "vits")
    generator = genai.load(str(folder), sample_rate=22_050, device="cpu")
    assert generator("Hello.", seed=1).sample_rate == 22_050
    assert generator("Hello.", seed=1, sample_rate=8_000).sample_rate == 8_000
    with pytest.raises(InvalidParameterError, match="unknown parameter 'loudness'"):
        genai.load(str(folder), loudness=3)
    with pytest.raises(InvalidParameterError, match="did you mean speed"):
        genai.load(str(folder), sped=1.2)
    with pytest.raises(InvalidParameterError, match="sample_rate"):
        genai.load(str(folder), sample_rate=0)


@pytest.mark.parametrize(
    "text, parameters, message",
    [
        ("", {}, "empty"),
        ("   ", {}, "empty"),
        (None, {}, "must be a string"),
        ("你好，世界。今天天气很好。", {}, "not in the alphabet"),
        ("?!...", {}, "nothing"),
        ("Hello.", {"voice": 1}, "single speaker"),
        ("Hello.", {"speed": 0}, "speed"),
        ("Hello.", {"speed": 10}, "speed"),
        ("Hello.", {"sample_rate": 0}, "sample_rate"),
        ("Hello.", {"sample_rate": -1}, "sample_rate"),
        ("Hello.", {"duration": 3.0}, "unknown parameter 'duration'"),
        ("Hello.", {"sped": 1.2}, "did you mean speed"),
        ("x\ud800y", {}, "lone surrogate"),
        ("Hello.", {"seed": -1}, "seed"),
        ("Hello.", {"voice": 1, "speaker": 2}, "not both"),
        ("Hello.", {"progress": 3}, "progress"),
    ],
)
def test_vits_bad_input_is_refused_before_any_work(vits, text, parameters, message):
    with pytest.raises(InvalidParameterError, match=message):
        vits(text, **parameters)


def test_multi_speaker_vits_takes_a_speaker_number(tmp_path):
    generator = genai.load(str(make_tiny_vits(tmp_path / "multi", num_speakers=3)), device="cpu")
    assert generator.voices == ["0", "1", "2"]
    zero = generator("Hello there.", seed=1, voice=0)
    two = generator("Hello there.", seed=1, speaker=2)
    assert not (zero.num_samples == two.num_samples and np.array_equal(zero.waveform, two.waveform))
    with pytest.raises(InvalidParameterError, match="speakers 0 to 2"):
        generator("Hello there.", voice=3)
    with pytest.raises(InvalidParameterError, match="speakers 0 to 2"):
        generator("Hello there.", voice="anna")


# --- SpeechT5 --------------------------------------------------------------------------------------


def test_speecht5_speaks_with_the_default_voice_and_its_vocoder(speecht5):
    assert isinstance(speecht5, SpeechT5Generator)
    assert speecht5.vocoder is not None and speecht5.sample_rate == 16_000
    result = speecht5("Hello there.", seed=4)
    assert result.sample_rate == 16_000 and result.num_samples > 0
    assert result.num_samples % 16 == 0  # whole vocoder frames
    again = speecht5("Hello there.", seed=4)
    assert np.array_equal(result.waveform, again.waveform)
    assert "voice" not in result.parameters or result.parameters["voice"] is None


def test_speecht5_takes_an_xvector_as_array_tensor_or_npy_file(speecht5, tmp_path):
    vector = np.random.default_rng(0).standard_normal(512).astype(np.float32)
    np.save(tmp_path / "speaker.npy", vector)
    from_array = speecht5("Hello there.", seed=4, voice=vector)
    from_tensor = speecht5("Hello there.", seed=4, speaker=torch.from_numpy(vector)[None])
    from_file = speecht5("Hello there.", seed=4, voice=str(tmp_path / "speaker.npy"))
    default = speecht5("Hello there.", seed=4)
    assert np.array_equal(from_array.waveform, from_tensor.waveform)
    assert np.array_equal(from_array.waveform, from_file.waveform)
    assert not np.array_equal(from_array.waveform, default.waveform)
    assert from_array.parameters["voice"] == "<array (512,)>"
    assert from_file.parameters["voice"].endswith("speaker.npy")


@pytest.mark.parametrize(
    "voice, message",
    [
        (np.zeros(3), "512 finite numbers"),
        (np.full(512, np.nan), "512 finite numbers"),
        ("no-such-speaker", "not an existing .npy file"),
        ("missing.npy", "not an existing .npy file"),
    ],
)
def test_speecht5_bad_speakers_are_refused(speecht5, voice, message):
    with pytest.raises(InvalidParameterError, match=message):
        speecht5("Hello there.", voice=voice)


def test_speecht5_refuses_what_it_cannot_do(speecht5):
    with pytest.raises(InvalidParameterError, match="one speed"):
        speecht5("Hello there.", speed=1.5)
    with pytest.raises(InvalidParameterError, match="not in the alphabet"):
        speecht5("Привет, как дела?")


def test_speecht5_vocoder_can_be_named_at_load(tmp_path):
    folder = make_tiny_speecht5(tmp_path / "t5", vocoder=False)
    other = make_tiny_speecht5(tmp_path / "other", sampling_rate=8_000)
    generator = genai.load(str(folder), vocoder=str(other / "vocoder"), device="cpu")
    assert generator.sample_rate == 8_000
    assert generator("Hi there.", seed=1).sample_rate == 8_000


# --- Bark ------------------------------------------------------------------------------------------


def test_bark_speaks_with_a_preset_and_same_seed_same_audio(bark):
    assert isinstance(bark, BarkGenerator)
    assert bark.voices == sorted(BARK_PRESETS) and bark.sample_rate == 24_000
    first = bark("Hello there.", seed=7, voice="v2/en_speaker_1")
    second = bark("Hello there.", seed=7, voice="v2/en_speaker_1")
    assert first.sample_rate == 24_000 and first.num_samples > 0
    assert np.array_equal(first.waveform, second.waveform)
    assert first.parameters["voice"] == "v2/en_speaker_1"
    other = bark("Hello there.", seed=8, voice="v2/en_speaker_1")
    assert other.num_samples != first.num_samples or not np.array_equal(
        other.waveform, first.waveform
    )


def test_bark_takes_a_voice_file(bark, tmp_path):
    rng = np.random.default_rng(1)
    np.savez(
        tmp_path / "mine.npz",
        semantic_prompt=rng.integers(0, 10_000, 16),
        coarse_prompt=rng.integers(0, 1024, (2, 24)),
        fine_prompt=rng.integers(0, 1024, (8, 24)),
    )
    assert bark("Hello.", seed=1, voice=str(tmp_path / "mine.npz")).num_samples > 0


def test_bark_unknown_preset_names_the_presets(bark):
    with pytest.raises(InvalidParameterError, match=r"v2/en_speaker_0, v2/en_speaker_1"):
        bark("Hello.", voice="v2/en_speaker_99")
