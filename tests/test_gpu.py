"""The gpu set (issue 17): every family on CUDA, with tiny weights, keeps genai's promises.

Same seed, same output on the same device; the caller's random, numpy, torch CPU and CUDA
generator states untouched; results record device and dtype; a batch of pictures is one
pipeline call and any picture of it replays identical; a WAV and a text replay identical;
cancel stops; running out of GPU memory is GenaiMemoryError. In the GPU's default dtype
(bfloat16, float16 without it) and, for a few families, float16.

Skipped, with the reason, where CUDA is absent. ``GENAI_GPU_TEST_DEVICE=cpu`` runs the
same tests on the CPU instead: a check of the tests themselves on a machine without a GPU.
"""

from __future__ import annotations

import os
import random
import threading

import numpy as np
import pytest
import torch

import genai
from genai.backends.gan import GanGenerator
from genai.backends.performance_rnn import PerformanceRNNGenerator
from genai.catalog import TEXT_TO_AUDIO
from genai.device import resolve_placement
from genai.errors import GenaiMemoryError, GenerationCancelled
from genai.hub import Source
from genai.replay import verify
from genai.testing.audio import make_tiny_bark, make_tiny_speecht5, make_tiny_vits
from genai.testing.image import make_tiny_amused, make_tiny_ddpm, make_tiny_gan, make_tiny_sd
from genai.testing.music import (
    make_tiny_audioldm,
    make_tiny_musicgen,
    make_tiny_performance_rnn,
)
from genai.testing.text import tiny_llama

DEVICE = os.environ.get("GENAI_GPU_TEST_DEVICE", "cuda")
ON_CUDA = DEVICE.startswith("cuda")

pytestmark = [pytest.mark.gpu, pytest.mark.filterwarnings("ignore::UserWarning")]

if ON_CUDA and not torch.cuda.is_available():  # the same words as tests/conftest.py's
    pytest.skip(
        "needs a CUDA GPU: torch.cuda.is_available() is False here; the gpu set runs on a CUDA "
        "machine (pytest -m gpu)",
        allow_module_level=True,
    )

PROMPT = "a red fox in snow"


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GENAI_CACHE", str(tmp_path / "cache"))


def _load(location, dtype: str = "auto", **options):
    return genai.load(str(location), device=DEVICE, dtype=dtype, **options)


def _gan(path, dtype: str = "auto"):
    placement = resolve_placement(DEVICE, dtype)
    return GanGenerator(Source("file", str(path), "tiny-gan"), "gan", "image", placement)


def _piano(path, dtype: str = "auto"):
    placement = resolve_placement(DEVICE, dtype)
    source = Source("file", str(path), "tiny-piano")
    return PerformanceRNNGenerator(source, "performance-rnn", TEXT_TO_AUDIO, placement)


# family: (build(folder) -> location, open(location, dtype) -> generator, call(gen, seed))
FAMILIES = {
    "text": (
        lambda f: tiny_llama(f / "m"),
        _load,
        lambda g, s: g("the fox", max_new_tokens=8, temperature=0.9, seed=s),
    ),
    "sd": (
        lambda f: make_tiny_sd(f / "m"),
        _load,
        lambda g, s: g(PROMPT, seed=s, num_images=2, num_inference_steps=2),
    ),
    "lcm": (None, _load, lambda g, s: g(PROMPT, seed=s, num_images=2, num_inference_steps=2)),
    "amused": (
        lambda f: make_tiny_amused(f / "m"),
        _load,
        lambda g, s: g(PROMPT, seed=s, num_images=2, num_inference_steps=2),
    ),
    "ddpm": (
        lambda f: make_tiny_ddpm(f / "m"),
        _load,
        lambda g, s: g(seed=s, num_images=2, num_inference_steps=2),
    ),
    "gan": (lambda f: make_tiny_gan(f / "weights.tar"), _gan, lambda g, s: g(seed=s, num_images=4)),
    "vits": (lambda f: make_tiny_vits(f / "m"), _load, lambda g, s: g("hello there.", seed=s)),
    "speecht5": (
        lambda f: make_tiny_speecht5(f / "m"),
        _load,
        lambda g, s: g("hello there.", seed=s),
    ),
    "bark": (
        lambda f: make_tiny_bark(f / "m"),
        _load,
        lambda g, s: g("Hello there.", seed=s, voice="v2/en_speaker_1"),
    ),
    "musicgen": (
        lambda f: make_tiny_musicgen(f / "m"),
        _load,
        lambda g, s: g("jazz", seed=s, duration=0.2),
    ),
    "audioldm": (
        lambda f: make_tiny_audioldm(f / "m"),
        _load,
        lambda g, s: g("rain", seed=s, duration=0.1, num_inference_steps=2),
    ),
    "performance-rnn": (
        lambda f: make_tiny_performance_rnn(f / "tiny.pt"),
        _piano,
        lambda g, s: g("", seed=s, duration=0.5, renderer="synth"),
    ),
}


@pytest.fixture(scope="module")
def locations(tmp_path_factory, tiny_lcm_dir):
    built = {}
    for name, (build, _, _) in FAMILIES.items():
        built[name] = tiny_lcm_dir if build is None else build(tmp_path_factory.mktemp(name))
    return built


def output_of(result):
    """What must come out the same: the text, the pictures' pixels, the samples."""
    if hasattr(result, "images"):
        return np.stack([np.asarray(image.convert("RGB")) for image in result.images])
    if hasattr(result, "waveform"):
        return result.waveform
    return result.text


def same(a, b) -> bool:
    return a == b if isinstance(a, str) else a.shape == b.shape and np.array_equal(a, b)


def rng_states():
    """The caller's generators: Python's, numpy's, torch's CPU one and every GPU's."""
    cuda = [s.clone() for s in torch.cuda.get_rng_state_all()] if torch.cuda.is_available() else []
    return random.getstate(), np.random.get_state(), torch.get_rng_state(), cuda


def assert_untouched(before, after) -> None:
    assert before[0] == after[0], "Python's random state changed"
    assert all(np.array_equal(a, b) for a, b in zip(before[1], after[1], strict=True)), "numpy"
    assert torch.equal(before[2], after[2]), "torch's CPU generator changed"
    assert len(before[3]) == len(after[3])
    for index, (a, b) in enumerate(zip(before[3], after[3], strict=True)):
        assert torch.equal(a, b), f"the CUDA generator of GPU {index} changed"


def test_auto_places_models_on_the_gpu_in_half_precision():
    if not ON_CUDA:
        pytest.skip("the tests run on the CPU (GENAI_GPU_TEST_DEVICE=cpu)")
    placement = resolve_placement()
    wanted = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    assert (placement.device, placement.dtype_name) == ("cuda:0", wanted)


@pytest.mark.parametrize("name", list(FAMILIES))
def test_a_seed_reproduces_and_the_callers_rng_is_left_alone(locations, name):
    _, open_, call = FAMILIES[name]
    generator = open_(locations[name])
    call(generator, 1)  # first use: lazy imports and kernel choices happen here
    random.seed(5)
    np.random.seed(5)
    torch.manual_seed(5)  # every GPU's generator too
    deterministic = torch.backends.cudnn.deterministic
    before = rng_states()
    first = call(generator, 21)
    assert_untouched(before, rng_states())
    assert torch.backends.cudnn.deterministic == deterministic  # switched back after the call
    again = call(generator, 21)
    assert same(output_of(first), output_of(again)), f"{name}: seed 21 gave another output"
    # Where it ran, in the result (pictures and audio) and in its record (every modality).
    ran = (first.origin["device"], first.origin["dtype"])
    assert ran == (generator.placement.device, generator.placement.dtype_name)
    assert ran[0].startswith(DEVICE)
    if hasattr(first, "dtype"):
        assert (first.device, first.dtype) == ran
    if name != "performance-rnn":  # its GRU runs in float32 on any device
        assert ran[1] == resolve_placement(DEVICE).dtype_name


@pytest.mark.parametrize("name", ["sd", "ddpm", "vits", "gan"])
def test_float16_works_and_reproduces(locations, name):
    _, open_, call = FAMILIES[name]
    generator = open_(locations[name], dtype="float16")
    first, again = call(generator, 3), call(generator, 3)
    assert first.origin["dtype"] == "float16" and same(output_of(first), output_of(again))


def test_a_batch_is_one_call_and_its_pictures_replay_identical(locations, tmp_path):
    generator = _load(locations["sd"])
    steps = []
    batch = generator(
        PROMPT, seed=7, num_images=4, num_inference_steps=3, progress=lambda s, t: steps.append(s)
    )
    assert steps == [4, 8, 12] and batch.seeds == [7, 8, 9, 10]  # 3 steps of 4 pictures
    paths = batch.save(tmp_path / "b.png")
    for path in (paths[0], paths[3]):
        report = verify(path, model=locations["sd"])
        assert report.status == "identical" and report.placement is None, str(report)


def test_a_wav_and_a_text_replay_identical_on_the_same_device(locations, tmp_path):
    wav = _load(locations["vits"])("Hello there. How are you?", seed=2).save(tmp_path / "h.wav")
    report = verify(wav, model=locations["vits"])
    assert report.status == "identical" and report.placement is None, str(report)
    text = _load(locations["text"])("the fox", max_new_tokens=8, temperature=0.9, seed=3)
    saved = text.save(tmp_path / "t.txt")
    report = verify(saved[0] if isinstance(saved, list) else saved, model=locations["text"])
    assert report.status == "identical", str(report)


def test_cancel_stops_images_speech_and_music(locations):
    stop = threading.Event()

    def cancel_at_first_step(*_):
        stop.set()

    images = _load(locations["sd"])
    with pytest.raises(GenerationCancelled, match="after 1 denoising steps"):
        images(
            PROMPT,
            seed=1,
            num_images=4,
            num_inference_steps=5,
            progress=cancel_at_first_step,
            cancel=stop,
        )
    stop.clear()
    with pytest.raises(GenerationCancelled):
        _load(locations["musicgen"])(
            "jazz", seed=1, duration=0.5, progress=cancel_at_first_step, cancel=stop
        )
    stopped = threading.Event()
    stopped.set()
    with pytest.raises(GenerationCancelled):
        _load(locations["vits"])("Hello there. How are you?", seed=1, cancel=stopped)


def test_running_out_of_gpu_memory_is_a_genai_memory_error(locations):
    if not ON_CUDA:
        pytest.skip("the CPU's case is tests/test_image_batch.py (an address-space limit)")
    generator = _load(locations["sd"], max_size=2048)
    generator(PROMPT, seed=1, num_inference_steps=1)
    torch.cuda.empty_cache()
    total = torch.cuda.get_device_properties(0).total_memory
    cap = torch.cuda.memory_reserved(0) + 256 * 2**20  # what it holds and 256 MB more
    torch.cuda.set_per_process_memory_fraction(cap / total, 0)
    try:
        with pytest.raises(GenaiMemoryError, match="num_images"):
            generator(PROMPT, seed=1, num_images=16, num_inference_steps=1, width=2048, height=2048)
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0, 0)
        torch.cuda.empty_cache()
    assert generator(PROMPT, seed=1, num_inference_steps=1).image.size == (32, 32)


def test_a_cpu_model_on_a_gpu_machine_leaves_the_cuda_generators_alone(locations):
    if not ON_CUDA:
        pytest.skip("needs a GPU beside the CPU")
    generator = genai.load(str(locations["vits"]), device="cpu")
    torch.cuda.manual_seed_all(5)
    before = rng_states()
    generator("hello there.", seed=4)
    assert_untouched(before, rng_states())
