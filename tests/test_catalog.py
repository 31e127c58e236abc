"""The catalog: curated entries, task words, and what is on disk."""

from __future__ import annotations

import pytest

import genai
from genai.catalog import CATALOG, TASKS, find_entry, normalize_task


def test_text_entries_required_by_the_product():
    hub_ids = {e.hub_id for e in CATALOG if e.task == "text-generation"}
    for wanted in (
        "HuggingFaceTB/SmolLM2-135M-Instruct",
        "HuggingFaceTB/SmolLM2-360M-Instruct",
        "Qwen/Qwen2.5-0.5B-Instruct",
        "distilbert/distilgpt2",
        "google/flan-t5-small",
    ):
        assert wanted in hub_ids


def test_entries_are_complete_and_unique():
    aliases = [e.alias for e in CATALOG]
    assert len(aliases) == len(set(aliases))
    for entry in CATALOG:
        assert entry.task in TASKS
        assert entry.params and entry.license and entry.description
        if entry.offline_fallback:
            assert find_entry(entry.offline_fallback) is not None


def test_list_models_by_task():
    rows = genai.list_models(task="text")
    assert {r["alias"] for r in rows} >= {"smollm2-135m", "flan-t5-small"}
    assert all(r["task"] == "text-generation" for r in rows)
    assert all(isinstance(r["on_disk"], bool) for r in rows)
    assert len(genai.list_models()) == len(CATALOG)


def test_embedded_model_is_on_disk_when_its_wheel_is_installed():
    from genai.hub import embedded_path

    row = next(r for r in genai.list_models("text") if r["alias"] == "smollm2-135m-gguf")
    assert row["on_disk"] == (embedded_path(find_entry("smollm2-135m-gguf")) is not None)


def test_lookup_by_hub_id():
    assert find_entry("google/flan-t5-small").alias == "flan-t5-small"


@pytest.mark.parametrize(
    ("word", "task"),
    [("text", "text-generation"), ("image", "text-to-image"), ("tts", "text-to-speech")],
)
def test_task_words(word, task):
    assert normalize_task(word) == task


def test_unknown_task_lists_supported():
    with pytest.raises(genai.InvalidParameterError) as caught:
        normalize_task("video")
    for task in TASKS:
        assert task in str(caught.value)
