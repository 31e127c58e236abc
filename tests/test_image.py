"""The image backend and ImageResult, on tiny random pipelines of the real diffusers classes.

Each tiny pipeline is built once per module, saved with save_pretrained and loaded through
genai.load(folder): the path users take with real checkpoints.
"""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import torch
from PIL import Image

import genai
from genai.errors import GenaiError, GenaiMemoryError, InvalidParameterError, WrongTaskError
from genai.results.image import ImageResult, parse_parameters_text, read_image_parameters
from genai.seeding import MAX_SEED
from genai.testing.image import (
    make_tiny_amused,
    make_tiny_autoencoder_tiny,
    make_tiny_ddpm,
    make_tiny_sd,
    make_tiny_sdxl,
)

PROMPT = "a red fox in snow"


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("image-models")
    return {
        "sd": str(make_tiny_sd(root / "sd")),
        "amused": str(make_tiny_amused(root / "amused")),
        "ddpm": str(make_tiny_ddpm(root / "ddpm")),
        "taesd": str(make_tiny_autoencoder_tiny(root / "taesd")),
    }


@pytest.fixture(scope="module")
def sd(folders):
    return genai.load(folders["sd"], device="cpu")


@pytest.fixture(scope="module")
def amused(folders):
    return genai.load(folders["amused"], device="cpu")


@pytest.fixture(scope="module")
def ddpm(folders):
    return genai.load(folders["ddpm"], device="cpu")


@pytest.fixture(scope="module")
def generators(sd, amused, ddpm):
    return {"sd": sd, "amused": amused, "ddpm": ddpm}


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"))


def prompt_for(kind: str) -> str | None:
    return None if kind == "ddpm" else PROMPT


# --- loading ------------------------------------------------------------------------------


def test_each_pipeline_class_loads_from_its_folder_with_its_task(generators):
    assert type(generators["sd"].pipe).__name__ == "StableDiffusionPipeline"
    assert type(generators["amused"].pipe).__name__ == "AmusedPipeline"
    assert type(generators["ddpm"].pipe).__name__ == "DDPMPipeline"
    assert generators["sd"].task == "text-to-image"
    assert generators["amused"].task == "text-to-image"
    assert generators["ddpm"].task == "unconditional-image-generation"


def test_native_size_comes_from_the_pipeline_config(generators):
    # unet.sample_size 16 * vae scale 2; transformer.sample_size 16 * VQ scale 1; pixel-space unet 16.
    assert generators["sd"].native_size == (32, 32)
    assert generators["amused"].native_size == (16, 16)
    assert generators["ddpm"].native_size == (16, 16)


def test_sdxl_pipeline_text_to_image_and_image_to_image(tmp_path_factory):
    gen = genai.load(str(make_tiny_sdxl(tmp_path_factory.mktemp("sdxl") / "sdxl")), device="cpu")
    assert gen.native_size == (64, 64)
    first = gen(PROMPT, seed=1, num_inference_steps=2)
    again = gen(PROMPT, seed=1, num_inference_steps=2, negative_prompt="dog", guidance_scale=5.0)
    assert first.image.size == (64, 64)
    assert not np.array_equal(pixels(first.image), pixels(again.image))
    assert np.array_equal(
        pixels(first.image), pixels(gen(PROMPT, seed=1, num_inference_steps=2).image)
    )
    moved = gen(PROMPT, init_image=first.image, strength=0.5, seed=1, num_inference_steps=2)
    assert type(gen._img2img).__name__ == "StableDiffusionXLImg2ImgPipeline"
    assert moved.image.size == (64, 64)


def test_info_describes_the_pipeline(sd, ddpm):
    info = sd.info()
    assert info["pipeline"] == "StableDiffusionPipeline"
    assert info["native_size"] == [32, 32]
    assert info["image_to_image"] is True
    assert "euler_a" in info["schedulers"]
    assert ddpm.info()["schedulers"] == ["ddpm", "ddim"]
    assert ddpm.info()["image_to_image"] is False


# --- generating ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sd", "amused", "ddpm"])
def test_same_seed_same_pixels_other_seed_other_pixels(generators, kind):
    gen = generators[kind]
    first = gen(prompt_for(kind), seed=7, num_inference_steps=2)
    again = gen(prompt_for(kind), seed=7, num_inference_steps=2)
    other = gen(prompt_for(kind), seed=8, num_inference_steps=2)
    assert isinstance(first, ImageResult)
    assert np.array_equal(pixels(first.image), pixels(again.image))
    assert not np.array_equal(pixels(first.image), pixels(other.image))


@pytest.mark.parametrize("kind", ["sd", "amused", "ddpm"])
def test_any_image_of_a_batch_is_made_again_alone_with_its_seed(generators, kind):
    """Alone, picture i of a batch comes out within a level or two of its batched self (a
    batch rounds differently; aMUSEd makes each picture alone anyway, so it is exact)."""
    gen = generators[kind]
    batch = gen(prompt_for(kind), seed=100, num_images=3, num_inference_steps=2)
    assert batch.seeds == [100, 101, 102]
    assert len({pixels(im).tobytes() for im in batch.images}) == 3
    alone = gen(prompt_for(kind), seed=batch.seeds[2], num_images=1, num_inference_steps=2)
    difference = np.abs(pixels(alone.image).astype(int) - pixels(batch.images[2]).astype(int))
    assert difference.max() <= (0 if kind == "amused" else 2)


def test_seeds_wrap_around_at_the_largest_seed(sd):
    result = sd(PROMPT, seed=MAX_SEED, num_images=2, num_inference_steps=1)
    assert result.seeds == [MAX_SEED, 0]


def test_result_records_defaults_and_sizes(sd):
    result = sd(PROMPT, seed=1, num_inference_steps=2)
    assert result.image.size == (32, 32)
    assert result.seed == 1
    assert result.prompt == PROMPT
    assert result.parameters["width"] == 32 and result.parameters["height"] == 32
    assert (
        result.parameters["guidance_scale"] == 7.5
    )  # the SD default for a model outside the catalog
    assert result.parameters["scheduler"] == "euler"  # the pipeline's own EulerDiscreteScheduler
    assert result.timings["generate_s"] > 0
    assert set(result.timings) >= {"load_s", "generate_s", "total_s"}
    assert result.device == "cpu" and result.dtype == "float32"


def test_width_and_height_change_the_picture_size(sd, amused):
    assert sd(PROMPT, seed=1, num_inference_steps=1, width=48, height=40).image.size == (48, 40)
    assert amused(PROMPT, seed=1, num_inference_steps=1, width=24, height=32).image.size == (24, 32)


def test_negative_prompt_changes_the_picture(sd):
    plain = sd(PROMPT, seed=3, num_inference_steps=2)
    negative = sd(PROMPT, seed=3, num_inference_steps=2, negative_prompt="blurry dog")
    assert negative.negative_prompt == "blurry dog"
    assert not np.array_equal(pixels(plain.image), pixels(negative.image))


def test_random_seed_is_recorded_and_reproduces(sd):
    result = sd(PROMPT, num_inference_steps=1)
    again = sd(PROMPT, seed=result.seed, num_inference_steps=1)
    assert np.array_equal(pixels(result.image), pixels(again.image))


@pytest.mark.parametrize("kind", ["sd", "amused", "ddpm"])
def test_progress_reports_every_step_of_every_call(generators, kind):
    calls = []
    generators[kind](
        prompt_for(kind),
        seed=1,
        num_images=2,
        num_inference_steps=3,
        progress=lambda s, t: calls.append((s, t)),
    )
    # In picture-steps: one pipeline call makes both pictures, each step counts 2 of them;
    # aMUSEd makes them one call each, one at a time.
    every = 1 if kind == "amused" else 2
    assert calls == [(done, 6) for done in range(every, 7, every)]


def test_out_of_memory_becomes_genai_memory_error(sd):
    def progress(step, total):
        raise torch.OutOfMemoryError("CUDA out of memory (simulated from the step callback)")

    with pytest.raises(GenaiMemoryError, match="attention_slicing"):
        sd(PROMPT, seed=1, num_inference_steps=2, progress=progress)


# --- schedulers ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["euler_a", "dpm++", "ddim", "lcm", "heun"])
def test_scheduler_by_short_name(sd, name):
    result = sd(PROMPT, seed=2, num_inference_steps=2, scheduler=name)
    assert result.parameters["scheduler"] == name
    assert (
        type(sd.pipe.scheduler).__name__
        == {
            "euler_a": "EulerAncestralDiscreteScheduler",
            "dpm++": "DPMSolverMultistepScheduler",
            "ddim": "DDIMScheduler",
            "lcm": "LCMScheduler",
            "heun": "HeunDiscreteScheduler",
        }[name]
    )


def test_scheduler_changes_pixels_and_the_default_comes_back(sd):
    before = sd(PROMPT, seed=4, num_inference_steps=3)
    ancestral = sd(PROMPT, seed=4, num_inference_steps=3, scheduler="euler_a")
    after = sd(PROMPT, seed=4, num_inference_steps=3)
    named_default = sd(PROMPT, seed=4, num_inference_steps=3, scheduler="euler")
    assert not np.array_equal(pixels(before.image), pixels(ancestral.image))
    assert np.array_equal(pixels(before.image), pixels(after.image))
    assert np.array_equal(pixels(before.image), pixels(named_default.image))


def test_ddpm_takes_ddim(ddpm):
    result = ddpm(seed=1, num_inference_steps=2, scheduler="ddim")
    assert result.parameters["scheduler"] == "ddim"


# --- image-to-image -----------------------------------------------------------------------


def test_img2img_keeps_the_input_size_and_shares_weights(sd, tmp_path):
    source = Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 48, 3), dtype=np.uint8))
    result = sd(PROMPT, init_image=source, strength=0.5, seed=1, num_inference_steps=4)
    assert result.image.size == (48, 40)
    assert result.parameters["strength"] == 0.5
    assert (
        sd._img2img.unet is sd.pipe.unet and sd._img2img.vae is sd.pipe.vae
    )  # from_pipe: no second copy
    path = tmp_path / "in.png"
    source.save(path)
    from_path = sd(PROMPT, init_image=str(path), strength=0.5, seed=1, num_inference_steps=4)
    assert np.array_equal(pixels(from_path.image), pixels(result.image))
    assert from_path.parameters["init_image"] == str(path.resolve())
    stronger = sd(PROMPT, init_image=source, strength=1.0, seed=1, num_inference_steps=4)
    assert not np.array_equal(pixels(stronger.image), pixels(result.image))


def test_img2img_with_explicit_size_resizes_the_input(sd):
    source = Image.new("RGB", (50, 50), "red")
    assert sd(
        PROMPT, init_image=source, strength=0.6, seed=1, num_inference_steps=2, width=48, height=32
    ).image.size == (48, 32)


def test_img2img_progress_counts_the_steps_strength_runs(sd):
    calls = []
    sd(
        PROMPT,
        init_image=Image.new("RGB", (32, 32)),
        strength=0.5,
        seed=1,
        num_inference_steps=4,
        progress=lambda s, t: calls.append((s, t)),
    )
    assert calls == [(1, 2), (2, 2)]


def test_img2img_task_needs_an_input_picture(folders):
    gen = genai.load(folders["sd"], task="image-to-image", device="cpu")
    assert gen.task == "image-to-image"
    with pytest.raises(InvalidParameterError, match="init_image"):
        gen(PROMPT, seed=1)


# --- saving and reading back --------------------------------------------------------------


def test_png_carries_a1111_text_and_genai_json(sd, tmp_path):
    result = sd(PROMPT, seed=11, num_inference_steps=2, negative_prompt="dog", guidance_scale=4.0)
    [path] = result.save(tmp_path / "fox.png")
    with Image.open(path) as image:
        text = image.text
    assert text["parameters"] == (
        f"{PROMPT}\nNegative prompt: dog\n"
        f"Steps: 2, Sampler: euler, CFG scale: 4, Seed: 11, Size: 32x32, Model: sd"  # never a path
    )
    record = json.loads(text["genai"])
    assert (
        record["seed"] == 11 and record["prompt"] == PROMPT and record["negative_prompt"] == "dog"
    )
    assert record["parameters"]["num_inference_steps"] == 2
    assert not list(tmp_path.glob("*.tmp"))


def test_regenerating_from_read_back_parameters_gives_the_picture(sd, tmp_path):
    result = sd(
        PROMPT,
        seed=21,
        num_images=2,
        num_inference_steps=2,
        scheduler="euler_a",
        width=40,
        height=32,
    )
    paths = result.save(tmp_path / "batch.png")
    assert [p.name for p in paths] == ["batch-1.png", "batch-2.png"]
    record = read_image_parameters(paths[1])
    assert record["seed"] == 22 and record["call"]["num_images"] == 1
    assert record["model"] == "sd" and record["source"] == "sd"  # shared: no local path
    again = genai.load(sd.name, device="cpu")(**record["call"])
    with Image.open(paths[1]) as saved:  # alone: within a level or two of its batched self
        difference = np.abs(pixels(saved).astype(int) - pixels(again.image).astype(int))
    assert difference.max() <= 2
    # Exactly: the provenance record keeps the batch, and verify re-runs it.
    assert record["provenance"]["parameters"]["image_index"] == 1
    from genai.replay import verify

    assert verify(paths[1], model=sd.name).status == "identical"


def test_regenerating_from_the_a1111_text_alone(sd, tmp_path):
    result = sd(PROMPT, seed=5, num_inference_steps=2, scheduler="ddim")
    [path] = result.save(tmp_path / "x.png")
    with Image.open(path) as image:
        record = parse_parameters_text(image.text["parameters"])
    assert record["call"]["scheduler"] == "ddim" and record["seed"] == 5
    again = sd(**record["call"])
    assert np.array_equal(pixels(result.image), pixels(again.image))


def test_read_back_is_exported_from_genai(tmp_path, ddpm):
    [path] = ddpm(seed=3, num_inference_steps=2).save(tmp_path / "d.png")
    record = genai.read_image_parameters(path)
    assert record["prompt"] is None and record["seed"] == 3
    again = ddpm(**record["call"])
    with Image.open(path) as saved:
        assert np.array_equal(pixels(saved), pixels(again.image))


def test_saving_into_a_folder_numbers_the_files(sd, tmp_path):
    first = sd(PROMPT, seed=9, num_images=2, num_inference_steps=1).save(tmp_path)
    second = sd(PROMPT, seed=30, num_inference_steps=1).save(tmp_path)
    assert [p.name for p in first] == ["00001-9.png", "00002-10.png"]
    assert [p.name for p in second] == ["00003-30.png"]


def test_metadata_can_be_switched_off(sd, tmp_path):
    [path] = sd(PROMPT, seed=1, num_inference_steps=1).save(tmp_path / "bare.png", metadata=False)
    with Image.open(path) as image:
        assert "parameters" not in image.info and "genai" not in image.info
    with pytest.raises(InvalidParameterError, match="no generation parameters"):
        read_image_parameters(path)


def test_save_refuses_other_formats(sd, tmp_path):
    with pytest.raises(InvalidParameterError, match="PNG"):
        sd(PROMPT, seed=1, num_inference_steps=1).save(tmp_path / "x.jpg")


def test_parse_a1111_text_of_another_tool():
    record = parse_parameters_text(
        "a castle, sunset\nNegative prompt: ugly, blurry\n"
        "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1234, Size: 512x768, Model hash: abc, Model: v1-5"
    )
    assert record["prompt"] == "a castle, sunset"
    assert record["negative_prompt"] == "ugly, blurry"
    assert record["seed"] == 1234 and record["model"] == "v1-5"
    assert record["parameters"] == {
        "num_inference_steps": 20,
        "scheduler": "Euler a",
        "guidance_scale": 7.0,
        "width": 512,
        "height": 768,
    }


def test_read_back_of_a_missing_or_broken_file(tmp_path):
    with pytest.raises(InvalidParameterError, match="no such file"):
        read_image_parameters(tmp_path / "nope.png")
    (tmp_path / "fake.png").write_text("not a png")
    with pytest.raises(InvalidParameterError, match="not a readable image"):
        read_image_parameters(tmp_path / "fake.png")


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"width": 33}, "not a multiple of 8"),
        ({"height": 60}, "not a multiple of 8"),
        ({"width": 4096}, "above 64"),
        ({"height": 8}, "below 32"),
        ({"width": 32.5}, "whole number"),
        ({"num_inference_steps": 0}, "below 1"),
        ({"num_inference_steps": 1001}, "above 1000"),
        ({"guidance_scale": -1}, "at least 0"),
        ({"num_images": 9}, "above 8"),
        ({"num_images": 0}, "below 1"),
        ({"seed": -1}, "seed"),
        ({"scheduler": "warp"}, "does not fit"),
        ({"init_image": 123}, "PIL image"),
        ({"init_image": "/no/such/picture.png"}, "no such file"),
        ({"init_image": Image.new("RGB", (32, 32)), "strength": 0}, "above 0"),
        ({"init_image": Image.new("RGB", (32, 32)), "strength": 1.5}, "at most 1"),
        (
            {"init_image": Image.new("RGB", (32, 32)), "strength": 0.5, "num_inference_steps": 1},
            "runs no step",
        ),
        ({"init_image": Image.new("RGB", (4000, 32))}, "above 64"),
        ({"strength": 0.5}, "init_image is missing"),
        ({"negative_prompt": 5}, "must be a string"),
        ({"progress": "yes"}, "progress"),
    ],
)
def test_bad_parameters_raise_before_any_model_work(sd, kwargs, match):
    calls = []
    kwargs.setdefault("progress", lambda s, t: calls.append(s))
    with pytest.raises(InvalidParameterError, match=match):
        sd(PROMPT, **kwargs)
    assert calls == []


def test_an_init_image_that_is_not_an_image(sd, tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("hello")
    with pytest.raises(InvalidParameterError, match="not an image"):
        sd(PROMPT, init_image=str(text))


@pytest.mark.parametrize("prompt", ["", "   ", 42])
def test_empty_or_non_text_prompt(sd, prompt):
    with pytest.raises(InvalidParameterError, match="prompt"):
        sd(prompt)


def test_conditional_model_needs_a_prompt(sd, amused):
    for gen in (sd, amused):
        with pytest.raises(InvalidParameterError, match="prompt is missing"):
            gen()


def test_unconditional_model_refuses_prompt_and_guidance_and_size(ddpm):
    with pytest.raises(InvalidParameterError, match="takes no prompt"):
        ddpm(PROMPT)
    with pytest.raises(InvalidParameterError, match="guidance_scale"):
        ddpm(guidance_scale=3.0)
    with pytest.raises(InvalidParameterError, match="16x16 pictures only"):
        ddpm(width=32, height=32)
    with pytest.raises(InvalidParameterError, match="does not fit"):
        ddpm(scheduler="euler")


@pytest.mark.parametrize("kind", ["amused", "ddpm"])
def test_img2img_on_a_model_without_it(generators, folders, kind):
    with pytest.raises(WrongTaskError, match="image-to-image"):
        generators[kind](prompt_for(kind), init_image=Image.new("RGB", (16, 16)))
    with pytest.raises(WrongTaskError, match="image-to-image"):
        genai.load(folders[kind], task="image-to-image", device="cpu")


def test_amused_takes_no_other_scheduler(amused):
    with pytest.raises(InvalidParameterError, match="AmusedScheduler"):
        amused(PROMPT, scheduler="euler")


def test_errors_are_genai_errors(sd):
    with pytest.raises(GenaiError):
        sd(PROMPT, width=7)


# --- load options -------------------------------------------------------------------------


def test_attention_slicing(folders):
    gen = genai.load(folders["sd"], device="cpu", attention_slicing=True)
    processors = {type(p).__name__ for p in gen.pipe.unet.attn_processors.values()}
    assert processors == {"SlicedAttnProcessor"}
    assert gen(PROMPT, seed=1, num_inference_steps=1).image.size == (32, 32)


def test_vae_tiling_decodes_large_pictures(folders):
    gen = genai.load(folders["sd"], device="cpu", vae_tiling=True, max_size=128)
    assert gen.pipe.vae.use_tiling is True
    assert gen(PROMPT, seed=1, num_inference_steps=1, width=96, height=96).image.size == (96, 96)


def test_cpu_offload_on_cpu_is_a_no_op_with_a_warning(folders, caplog):
    with caplog.at_level(logging.WARNING, logger="genai.image"):
        gen = genai.load(folders["sd"], device="cpu", cpu_offload=True)
    assert "cpu_offload=True has no effect on the CPU" in caplog.text
    assert gen.info()["cpu_offload"] is False
    assert gen.pipe.device.type == "cpu"
    assert gen(PROMPT, seed=1, num_inference_steps=1).image.size == (32, 32)


def test_tiny_vae_from_a_local_folder(folders, sd):
    gen = genai.load(folders["sd"], device="cpu", tiny_vae=folders["taesd"])
    assert type(gen.pipe.vae).__name__ == "AutoencoderTiny"
    assert type(sd.pipe.vae).__name__ == "AutoencoderKL"  # the plain load is a separate generator
    tiny = gen(PROMPT, seed=1, num_inference_steps=2)
    full = sd(PROMPT, seed=1, num_inference_steps=2)
    assert tiny.image.size == (32, 32)
    assert not np.array_equal(pixels(tiny.image), pixels(full.image))


def test_tiny_vae_from_the_hub_when_offline_and_not_cached(folders, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(genai.ModelNotAvailableError, match="genai pull genai-test/no-such-taesd"):
        genai.load(folders["sd"], device="cpu", tiny_vae="genai-test/no-such-taesd")


def test_a_single_file_that_cannot_be_read_offline(tmp_path, monkeypatch):
    from huggingface_hub import constants
    from safetensors.torch import save_file

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    path = tmp_path / "odd.safetensors"
    save_file({"foo.weight": torch.zeros(2)}, str(path))
    with pytest.raises(GenaiError, match="config="):
        genai.load(str(path), device="cpu")


def test_dtype_follows_the_placement(folders):
    gen = genai.load(folders["sd"], device="cpu", dtype="bfloat16")
    assert {gen.pipe.unet.dtype, gen.pipe.vae.dtype, gen.pipe.text_encoder.dtype} == {
        torch.bfloat16
    }
    result = gen(PROMPT, seed=1, num_inference_steps=1)
    assert result.dtype == "bfloat16" and result.image.size == (32, 32)
    gen(PROMPT, init_image=result.image, strength=0.5, seed=1, num_inference_steps=2)
    assert (
        gen.pipe.unet.dtype == torch.bfloat16
    )  # from_pipe shares the modules without casting them


@pytest.mark.parametrize(
    "kind, options, match",
    [
        ("amused", {"tiny_vae": "x"}, "tiny_vae"),
        ("ddpm", {"vae_tiling": True}, "vae_tiling"),
        ("sd", {"attention_slicing": "yes"}, "attention_slicing"),
    ],
)
def test_load_options_that_do_not_fit(folders, kind, options, match):
    with pytest.raises(InvalidParameterError, match=match):
        genai.load(folders[kind], device="cpu", **options)


def test_unloaded_generator_refuses_to_run(folders):
    gen = genai.load(folders["ddpm"], device="cpu", attention_slicing=True)
    gen.unload()
    with pytest.raises(genai.ModelNotAvailableError, match="unloaded"):
        gen(seed=1)


def test_image_to_image_step_floor():
    from genai.backends.image_settings import _min_steps

    assert [_min_steps(s) for s in (1.0, 0.5, 0.3, 0.1)] == [1, 2, 4, 10]
