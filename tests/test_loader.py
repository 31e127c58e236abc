"""genai.load: names to generators, the per-process cache, unloading, and clear errors."""

from __future__ import annotations

import json

import pytest

import genai
from genai import (
    GenaiError,
    ModelNotAvailableError,
    UnknownModelError,
    UnsupportedModelError,
    WrongTaskError,
)


def test_same_model_is_loaded_once(tiny_gpt2_dir):
    first = genai.load(tiny_gpt2_dir)
    assert genai.load(tiny_gpt2_dir) is first
    assert first in genai.loaded()


def test_unload_frees_and_reloads(tmp_path):
    from genai.testing.text import tiny_gpt2

    folder = str(tiny_gpt2(tmp_path / "m"))
    first = genai.load(folder)
    assert genai.unload(folder) == 1
    assert not first.loaded and first.model is None
    assert first not in genai.loaded()
    second = genai.load(folder)
    assert second is not first and second.loaded


def test_info_reports_placement(tiny_gpt2_dir):
    info = genai.load(tiny_gpt2_dir, device="cpu").info()
    assert info["device"] == "cpu" and info["dtype"] == "float32"
    assert info["family"] == "causal-lm" and info["task"] == "text-generation"
    assert info["context_length"] == 128 and info["loaded"] is True


def test_dtype_override(tiny_gpt2_dir):
    gen = genai.load(tiny_gpt2_dir, dtype="bfloat16")
    assert str(gen.model.dtype) == "torch.bfloat16"
    assert gen("the red fox", max_new_tokens=2, temperature=0).completion_tokens == 2


def test_device_map_auto_offloads_through_accelerate(tiny_llama_dir, tmp_path):
    whole = genai.load(tiny_llama_dir)("hello", max_new_tokens=4, temperature=0)
    gen = genai.load(
        tiny_llama_dir, device_map="auto", max_memory={"cpu": "60KB"}, offload_folder=str(tmp_path)
    )
    assert "disk" in set(gen.model.hf_device_map.values())
    assert gen("hello", max_new_tokens=4, temperature=0).text == whole.text


def test_task_check(tiny_gpt2_dir):
    assert genai.load(tiny_gpt2_dir, task="text").task == "text-generation"
    with pytest.raises(WrongTaskError, match="text-to-image"):
        genai.load(tiny_gpt2_dir, task="image")


def test_image_model_asked_for_text(tmp_path):
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": "DDPMPipeline"}))
    with pytest.raises(WrongTaskError, match="unconditional-image-generation, not text-generation"):
        genai.load(str(tmp_path), task="text")


def test_unknown_alias():
    with pytest.raises(UnknownModelError, match="genai models") as caught:
        genai.load("no-such-model")
    assert isinstance(caught.value, KeyError)


def test_unknown_task(tiny_gpt2_dir):
    with pytest.raises(genai.InvalidParameterError, match="text-generation"):
        genai.load(tiny_gpt2_dir, task="video")


def test_missing_path():
    with pytest.raises(ModelNotAvailableError, match="no file or folder") as caught:
        genai.load("./does/not/exist")
    assert isinstance(caught.value, FileNotFoundError)


def test_unsupported_architecture(tmp_path):
    from transformers import ResNetConfig, ResNetModel

    ResNetModel(ResNetConfig(hidden_sizes=[8], depths=[1], embedding_size=8)).save_pretrained(
        tmp_path
    )
    with pytest.raises(UnsupportedModelError, match="text-generation") as caught:
        genai.load(str(tmp_path))
    assert "resnet" in str(caught.value)


def test_folder_without_config(tmp_path):
    with pytest.raises(UnsupportedModelError, match="no config.json"):
        genai.load(str(tmp_path))


def test_unsupported_file(tmp_path):
    path = tmp_path / "weights.txt"
    path.write_text("hello")
    with pytest.raises(UnsupportedModelError):
        genai.load(str(path))


def test_hub_model_not_on_disk_offline():
    # conftest sets HF_HUB_OFFLINE=1, so nothing is downloaded.
    with pytest.raises(ModelNotAvailableError, match="genai pull") as caught:
        genai.load("someone/not-in-the-cache")
    assert "HF_HUB_OFFLINE" in str(caught.value)


def test_catalog_model_not_on_disk_offline():
    with pytest.raises(ModelNotAvailableError, match="genai pull smollm2-360m"):
        genai.load("smollm2-360m")


def test_errors_share_one_base():
    for error in (UnknownModelError, ModelNotAvailableError, UnsupportedModelError, WrongTaskError):
        assert issubclass(error, GenaiError)
