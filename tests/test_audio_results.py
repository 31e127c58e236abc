"""genai.results.audio: AudioResult fields, WAV/FLAC round trips, tags, JSON sidecar, atomic saves."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from genai import InvalidParameterError
from genai.results.audio import AudioResult, read_audio
from genai.testing.audio import sine

RATE = 22_050


def make_result(**overrides) -> AudioResult:
    fields = {
        "model": "tiny-voice",
        "parameters": {"voice": "v2/en_speaker_1", "normalize": -16.0, "sample_rate": None},
        "seed": 1234,
        "timings": {"generate": 0.5},
        "waveform": sine(440.0, 0.5, RATE),
        "sample_rate": RATE,
        "prompt": "Hello there.",
        "device": "cpu",
        "dtype": "float32",
    }
    fields.update(overrides)
    return AudioResult(**fields)


def test_fields_and_shapes():
    import torch

    result = make_result()
    assert result.waveform.dtype == np.float32 and result.waveform.shape == (1, RATE // 2)
    assert result.channels == 1 and result.num_samples == RATE // 2
    assert result.duration == pytest.approx(0.5)
    assert result.to_numpy() is result.waveform
    assert result.to_numpy(mono=True).shape == (RATE // 2,)
    assert torch.equal(result.to_tensor(), torch.from_numpy(result.waveform))
    # A 1-D tensor becomes (1, samples) float32; a (2, n) array stays stereo.
    assert make_result(waveform=torch.zeros(100, dtype=torch.float64)).waveform.shape == (1, 100)
    assert make_result(waveform=np.zeros((2, 100))).channels == 2
    assert "0.50s" in repr(result)


def test_call_arguments_make_it_again():
    result = make_result()
    assert result.call_arguments() == {
        "prompt": "Hello there.",
        "seed": 1234,
        "voice": "v2/en_speaker_1",
        "normalize": -16.0,
    }


@pytest.mark.parametrize("suffix", [".wav", ".flac"])
def test_save_round_trips_samples_rate_and_metadata(tmp_path, suffix):
    result = make_result(waveform=np.vstack([sine(440.0, 0.5, RATE)[0], sine(660.0, 0.5, RATE)[0]]))
    path = result.save(tmp_path / f"speech{suffix}")
    assert path == tmp_path / f"speech{suffix}"
    samples, rate = read_audio(path)
    assert rate == RATE and samples.shape == (2, RATE // 2)
    assert np.max(np.abs(samples - result.waveform)) < 2 / 32767  # 16-bit PCM
    info = sf.info(str(path))
    assert info.format == suffix[1:].upper() and info.subtype == "PCM_16"
    with sf.SoundFile(str(path)) as handle:
        assert handle.title == "Hello there."
        assert handle.software.startswith("genai")
        assert json.loads(handle.comment)["seed"] == 1234
    record = json.loads(path.with_suffix(".json").read_text())
    assert record["seed"] == 1234 and record["model"] == "tiny-voice"
    assert record["sample_rate"] == RATE and record["channels"] == 2
    assert record["duration"] == pytest.approx(0.5)
    assert record["call"]["voice"] == "v2/en_speaker_1"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [path.name, path.with_suffix(".json").name]
    )


def test_float_subtype_keeps_every_bit(tmp_path):
    result = make_result()
    samples, _ = read_audio(result.save(tmp_path / "exact.wav", subtype="FLOAT"))
    assert np.array_equal(samples, result.waveform)


def test_saving_into_a_folder_numbers_the_files(tmp_path):
    result = make_result()
    first, second = result.save(tmp_path), result.save(tmp_path)
    assert (first.name, second.name) == ("00001-1234.wav", "00002-1234.wav")
    assert first.with_suffix(".json").is_file()


def test_without_metadata_there_is_no_sidecar_and_no_tags(tmp_path):
    path = make_result().save(tmp_path / "bare.wav", metadata=False)
    assert not path.with_suffix(".json").exists()
    with sf.SoundFile(str(path)) as handle:
        assert not handle.comment


def test_other_suffixes_are_refused(tmp_path):
    with pytest.raises(InvalidParameterError, match=r"\.wav or \.flac"):
        make_result().save(tmp_path / "speech.mp3")


def test_saving_refuses_to_replace_then_replaces_a_file_whole_when_asked(tmp_path):
    from genai.errors import OutputPathError

    path = tmp_path / "speech.wav"
    make_result(waveform=sine(440.0, 2.0, RATE)).save(path)
    with pytest.raises(OutputPathError, match="speech.wav exists"):
        make_result().save(path)
    path.unlink()
    with pytest.raises(OutputPathError, match="speech.json exists"):
        make_result().save(path)  # the sidecar record is not replaced silently either
    assert not path.exists()
    make_result().save(path, overwrite=True)
    assert read_audio(path)[0].shape == (1, RATE // 2)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_save_files_and_summary_for_batch(tmp_path):
    result = make_result()
    files = result.save_files(tmp_path / "job-1")
    assert [f.name for f in files] == ["job-1.wav", "job-1.json"]
    assert all(f.is_file() for f in files)
    assert result.save_files(tmp_path / "job-1", suffix=".flac")[0].name == "job-1.flac"
    assert result.summary() == {"duration": 0.5, "sample_rate": RATE}


def test_bytes_and_spectrogram_for_the_web_app():
    result = make_result()
    data = result.to_bytes("WAV")
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    assert result.to_bytes("FLAC")[:4] == b"fLaC"
    picture = result.spectrogram(width=200, height=80)
    assert picture.size == (200, 80) and picture.mode == "RGB"
