"""Images in one batched pipeline call (issue 17): every kind that batches makes all its
pictures in one call, each from its own seed; a picture of a batch replays exactly by
re-running its batch; cancel, progress, image-to-image and memory errors still hold."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest
from PIL import Image

import genai
from genai import provenance
from genai.errors import GenerationCancelled
from genai.replay import replay, verify
from genai.testing.image import make_tiny_ddpm, make_tiny_sd

PROMPT = "a red fox in snow"


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GENAI_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def folders(tmp_path_factory, tiny_lcm_dir):
    root = tmp_path_factory.mktemp("batch-models")
    return {
        "sd": str(make_tiny_sd(root / "sd")),
        "ddpm": str(make_tiny_ddpm(root / "ddpm")),
        "lcm": tiny_lcm_dir,
    }


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB")).astype(int)


def call(kind: str, gen, **parameters):
    return gen(None if kind == "ddpm" else PROMPT, **parameters)


@pytest.mark.parametrize("kind", ["sd", "lcm", "ddpm"])
def test_a_batch_is_one_call_and_any_picture_replays_exactly(folders, kind, tmp_path):
    gen = genai.load(folders[kind], device="cpu")
    steps = []
    batch = call(
        kind,
        gen,
        seed=40,
        num_images=3,
        num_inference_steps=2,
        progress=lambda s, t: steps.append((s, t)),
    )
    assert steps == [(3, 6), (6, 6)]  # one pipeline call: 2 steps of 3 pictures each
    assert batch.seeds == [40, 41, 42]
    assert len({pixels(image).tobytes() for image in batch.images}) == 3
    paths = batch.save(tmp_path / "batch.png")
    record = genai.read_image_parameters(paths[2])[provenance.KEY]
    assert record["seed"] == 42
    assert record["parameters"]["num_images"] == 3 and record["parameters"]["image_index"] == 2

    report = verify(paths[2], model=folders[kind])
    assert report.status == "identical" and report.placement is None, str(report)
    [again] = replay(paths[2], tmp_path / "again.png", model=folders[kind])
    assert again.seeds == [42] and np.array_equal(pixels(again.image), pixels(batch.images[2]))
    # The replayed picture's own record still names its batch: it replays the same way again.
    assert verify(tmp_path / "again.png", model=folders[kind]).status == "identical"
    # Alone, with its own seed, it is the same picture to within a level or two.
    alone = call(kind, gen, seed=42, num_inference_steps=2)
    assert np.abs(pixels(alone.image) - pixels(batch.images[2])).max() <= 2


def test_an_edited_picture_of_a_batch_is_found(folders, tmp_path):
    gen = genai.load(folders["sd"], device="cpu")
    paths = gen(PROMPT, seed=3, num_images=2, num_inference_steps=1).save(tmp_path / "b.png")
    with Image.open(paths[1]) as image:
        edited, chunks = image.copy(), dict(image.text)
    edited.putpixel((5, 7), tuple(255 - v for v in edited.getpixel((5, 7))))
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    for key, value in chunks.items():
        info.add_text(key, value)
    edited.save(tmp_path / "edited.png", pnginfo=info)
    report = verify(tmp_path / "edited.png", model=folders["sd"])
    assert report.status == "differs"
    assert report.first_difference["pixels"] == 1
    assert (report.first_difference["x"], report.first_difference["y"]) == (5, 7)


def test_image_to_image_batches_too(folders):
    gen = genai.load(folders["sd"], device="cpu")
    start = Image.new("RGB", (32, 32), (200, 30, 30))
    steps = []
    result = gen(
        PROMPT,
        init_image=start,
        strength=0.5,
        seed=9,
        num_images=3,
        num_inference_steps=4,
        progress=lambda s, t: steps.append((s, t)),
    )
    assert steps == [(3, 6), (6, 6)]  # int(4 * 0.5) steps, once for the whole batch
    assert result.seeds == [9, 10, 11] and len(result.images) == 3
    assert len({pixels(image).tobytes() for image in result.images}) == 3
    alone = gen(PROMPT, init_image=start, strength=0.5, seed=10, num_inference_steps=4)
    assert np.abs(pixels(alone.image) - pixels(result.images[1])).max() <= 2


def test_cancel_stops_a_batch_mid_call_and_the_model_keeps_working(folders):
    gen = genai.load(folders["sd"], device="cpu")
    stop = threading.Event()
    seen = []

    def progress(step, total):
        seen.append(step)
        stop.set()

    with pytest.raises(GenerationCancelled, match="after 1 denoising steps"):
        gen(PROMPT, seed=1, num_images=4, num_inference_steps=5, progress=progress, cancel=stop)
    assert seen == [4]  # the batch's first step: 4 picture-steps
    assert len(gen(PROMPT, seed=1, num_images=2, num_inference_steps=1).images) == 2


OUT_OF_MEMORY = textwrap.dedent(
    """
    import resource, sys
    import genai
    from genai.errors import GenaiMemoryError

    gen = genai.load(sys.argv[1], device="cpu", max_size=2048)
    gen("a fox", seed=1, num_inference_steps=1)  # every library loaded before the limit
    size = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmSize"))
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (size * 1024 + 768 * 2**20, hard))
    try:
        gen("a fox", seed=1, num_images=8, num_inference_steps=1, width=2048, height=2048)
        print("no error")
    except GenaiMemoryError as error:
        print("GenaiMemoryError:", error)
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    print("after:", gen("a fox", seed=1, num_inference_steps=1).image.size)
    """
)


@pytest.mark.skipif(sys.platform != "linux", reason="uses Linux's address-space limit")
def test_a_batch_too_large_for_memory_is_a_typed_error(folders):
    """The CPU allocator's refusal (a plain RuntimeError in torch) becomes GenaiMemoryError
    naming num_images; the model works again afterwards. Run in a child process whose
    address space is capped 768 MB above what it holds (the batch wants gigabytes)."""
    done = subprocess.run(
        [sys.executable, "-c", OUT_OF_MEMORY, folders["sd"]],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("GenaiMemoryError:") and "ran out of memory on the CPU" in lines[0]
    assert "fewer images (num_images)" in lines[0]
    assert lines[-1] == "after: (32, 32)"
