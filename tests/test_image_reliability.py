"""Bad input to image generators (issue 13): each a typed GenaiError before any model work,
nothing overwritten, long calls bounded and cancellable, the caller's RNG left alone."""

from __future__ import annotations

import logging
import random
import shutil
import threading

import numpy as np
import pytest
import torch
from PIL import Image

import genai
from genai.errors import (
    GenerationCancelled,
    InputTooLongError,
    InvalidParameterError,
    OutputPathError,
    UnsupportedModelError,
    WrongTaskError,
)
from genai.testing.image import make_tiny_amused, make_tiny_ddpm, make_tiny_sd

PROMPT = "a red fox in snow"


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("image-reliability")
    return {
        "sd": str(make_tiny_sd(root / "sd")),
        "amused": str(make_tiny_amused(root / "amused")),
        "ddpm": str(make_tiny_ddpm(root / "ddpm")),
    }


@pytest.fixture(scope="module")
def sd(folders):
    return genai.load(folders["sd"], device="cpu")


def never_called(*args):
    raise AssertionError("the model ran")


# --- unknown names (item 6) ---------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_inference_step": 2}, "did you mean num_inference_steps"),
        ({"guidance": 2.0}, "did you mean guidance_scale"),
        ({"temprature": 0.5}, "unknown parameter 'temprature'"),
    ],
)
def test_unknown_call_keyword_names_the_nearest(sd, kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        sd(PROMPT, progress=never_called, **kwargs)


def test_unknown_load_option_names_the_nearest(folders):
    with pytest.raises(InvalidParameterError, match="did you mean attention_slicing"):
        genai.load(folders["sd"], device="cpu", attention_slicng=True)


def test_call_parameters_given_at_load_are_defaults(folders):
    gen = genai.load(folders["sd"], device="cpu", num_inference_steps=1, guidance_scale=2.0)
    result = gen(PROMPT, seed=1)
    assert result.parameters["num_inference_steps"] == 1
    assert result.parameters["guidance_scale"] == 2.0
    assert gen(PROMPT, seed=1, num_inference_steps=2).parameters["num_inference_steps"] == 2


# --- nonsense values and invalid text (items 3 and 7) -------------------------------------


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"guidance_scale": float("inf")}, "finite"),
        ({"guidance_scale": float("nan")}, "finite"),
        ({"guidance_scale": 1e308}, "at most 100"),
        ({"negative_prompt": "bad\ud800"}, "lone surrogate"),
        ({"negative_prompt": "a\x00b"}, "NUL"),
        ({"cancel": "stop"}, "threading.Event"),
    ],
)
def test_nonsense_values_are_refused(sd, kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        sd(PROMPT, progress=never_called, **kwargs)


@pytest.mark.parametrize("prompt", ["x\ud800y", "\udfff", "nul\x00here"])
def test_invalid_unicode_prompts_are_refused(sd, prompt):
    with pytest.raises(InvalidParameterError, match="prompt"):
        sd(prompt, progress=never_called)


def test_a_long_prompt_says_so_in_one_line_not_the_whole_text(folders):
    """diffusers' own warning prints all the text it cut (120 kB here); genai's line replaces it."""
    import subprocess
    import sys

    code = (
        "import genai, sys; g = genai.load(sys.argv[1], device='cpu'); "
        "g('a fox ' * 20000, seed=1, num_inference_steps=1)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(folders["sd"])], capture_output=True, text=True, check=True
    )
    said = [line for line in done.stderr.splitlines() if "a fox" in line or "cut" in line]
    assert said == [
        f"the prompt is 215+ tokens long; model {str(folders['sd'])!r} reads only the first 16, so "
        "the prompt was cut there"
    ], done.stderr[-2000:]


def test_a_long_prompt_is_cut_and_says_so(sd, caplog, tmp_path):
    prompt = "a fox " * 200_000  # 1.2 MB; the tiny text encoder reads 16 tokens
    with caplog.at_level(logging.WARNING, logger="genai.image"):
        result = sd(prompt, seed=1, num_inference_steps=1)
    assert "prompt was cut" in caplog.text
    assert result.notes and "reads only the first 16" in result.notes[0]
    assert result.parameters["prompt_truncated"] is True
    [path] = result.save(tmp_path / "long.png")
    assert genai.read_image_parameters(path)["notes"] == result.notes
    assert "notes" not in sd(PROMPT, seed=1, num_inference_steps=1).parameters
    assert sd(PROMPT, seed=1, num_inference_steps=1).notes == []


# --- damaged model files (item 4) ---------------------------------------------------------


def test_a_text_file_named_safetensors(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_text("this is not a checkpoint\n")
    with pytest.raises(
        UnsupportedModelError, match="model.safetensors: not a readable safetensors file"
    ):
        genai.load(str(path), device="cpu")


def test_junk_weights_in_a_model_folder(folders, tmp_path):
    broken = shutil.copytree(folders["sd"], tmp_path / "broken")
    next((broken / "unet").glob("*.safetensors")).write_bytes(b"\x00junk" * 10)
    with pytest.raises(UnsupportedModelError, match="broken.*could not be read"):
        genai.load(str(broken), device="cpu")


def test_amused_image_to_image_is_refused_before_its_weights_load(folders, tmp_path):
    broken = shutil.copytree(folders["amused"], tmp_path / "amused")
    for weights in broken.rglob("*.safetensors"):
        weights.write_bytes(b"junk")  # loading them would fail with another error
    with pytest.raises(WrongTaskError, match="AmusedPipeline.*cannot do image-to-image"):
        genai.load(str(broken), task="image-to-image", device="cpu")


# --- size budget and cancelling (item 9) --------------------------------------------------


def test_size_is_bounded_by_a_per_device_budget(folders, sd):
    assert sd.max_side == 64  # twice the native 32 on the CPU
    with pytest.raises(InputTooLongError, match="width=2048 is above 64.*max_size"):
        sd(PROMPT, width=2048, progress=never_called)
    roomy = genai.load(folders["sd"], device="cpu", max_size=96)
    assert roomy(PROMPT, seed=1, num_inference_steps=1, width=96).image.size == (96, 32)
    with pytest.raises(InvalidParameterError, match="max_size"):
        genai.load(folders["sd"], device="cpu", max_size=0)


@pytest.mark.parametrize("kind", ["sd", "amused", "ddpm"])
def test_a_cancel_event_stops_at_the_next_step(folders, kind):
    gen = genai.load(folders[kind], device="cpu")
    prompt = None if kind == "ddpm" else PROMPT
    stop, steps = threading.Event(), []

    def progress(step, total):
        steps.append(step)
        if len(steps) == 2:
            stop.set()  # as another thread would

    with pytest.raises(GenerationCancelled, match="cancelled after 2 denoising steps"):
        gen(prompt, seed=1, num_images=2, num_inference_steps=5, progress=progress, cancel=stop)
    # Picture-steps: a batched step makes both pictures; aMUSEd makes one picture at a time.
    assert steps == ([1, 2] if kind == "amused" else [2, 4])
    # the model is whole afterwards: the same call without cancelling matches a fresh one
    again = gen(prompt, seed=1, num_inference_steps=2)
    fresh = genai.load(folders[kind], device="cpu", attention_slicing=False)
    assert np.array_equal(
        np.asarray(again.image), np.asarray(fresh(prompt, seed=1, num_inference_steps=2).image)
    )


def test_raising_in_progress_cancels_too(sd):
    def progress(step, total):
        raise GenerationCancelled("stop")

    with pytest.raises(GenerationCancelled):
        sd(PROMPT, seed=1, num_inference_steps=3, progress=progress)


# --- seeds leave the caller's RNG alone ---------------------------------------------------


@pytest.mark.parametrize("kind", ["sd", "amused", "ddpm"])
def test_seeded_calls_leave_global_random_states_unchanged(folders, kind):
    gen = genai.load(folders[kind], device="cpu")
    random.seed(5)
    np.random.seed(5)
    torch.manual_seed(5)
    before = random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state().clone()
    gen(None if kind == "ddpm" else PROMPT, seed=3, num_images=2, num_inference_steps=2)
    assert random.getstate() == before[0]
    assert np.array_equal(np.random.get_state()[1], before[1])
    assert torch.equal(torch.get_rng_state(), before[2])


# --- output paths (items 5 and 8) ---------------------------------------------------------


def test_save_refuses_to_overwrite_and_checks_every_target_first(sd, tmp_path):
    result = sd(PROMPT, seed=1, num_images=2, num_inference_steps=1)
    (tmp_path / "pic-2.png").write_bytes(b"keep me")
    with pytest.raises(OutputPathError, match="pic-2.png exists"):
        result.save(tmp_path / "pic.png")
    assert not (tmp_path / "pic-1.png").exists()  # nothing written before the refusal
    assert (tmp_path / "pic-2.png").read_bytes() == b"keep me"
    paths = result.save(tmp_path / "pic.png", overwrite=True)
    assert Image.open(paths[1]).size == (32, 32)


@pytest.mark.parametrize("target", ["file/under/a/file.png", "/dev/full/x.png"])
def test_unwritable_targets_are_typed_errors(sd, tmp_path, target):
    (tmp_path / "file").write_text("a file, not a folder")
    path = tmp_path / target if not target.startswith("/") else target
    with pytest.raises(OutputPathError):
        sd(PROMPT, seed=1, num_inference_steps=1).save(path)


def test_result_record_fields(sd, tmp_path):
    result = sd(PROMPT, seed=4, num_images=2, num_inference_steps=1)
    assert result.model == sd.name and result.source == "sd" and result.engine == "diffusers"
    assert result.summary() == {"seeds": [4, 5], "num_images": 2, "size": [32, 32]}
    paths = result.save_files(tmp_path / "job")
    assert [p.name for p in paths] == ["job-1.png", "job-2.png", "job.json"]
    record = genai.read_image_parameters(paths[0])
    assert str(tmp_path) not in record["source"]
    assert record["call"]["seed"] == 4 and record["call"]["num_images"] == 1
