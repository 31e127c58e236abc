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


# --- what makes each model look its best ------------------------------------------------------


def test_both_smollm2_entries_answer_greedily_by_default():
    """One set of weights, one default: the hub model and its offline GGUF copy agree, so the
    CLI, `genai serve` and the app answer alike online and offline."""
    hub_model, offline_copy = find_entry("smollm2-135m"), find_entry("smollm2-135m-gguf")
    assert hub_model.defaults == offline_copy.defaults
    assert hub_model.defaults["temperature"] == 0.0


def test_long_outputs_get_their_own_sampling_over_the_defaults():
    entry = find_entry("smollm2-135m-gguf")
    short, long = entry.sampling(), entry.sampling(long=True)
    assert short == entry.defaults
    assert long["temperature"] > 0 and long["repetition_penalty"] > 1.0
    assert long["max_new_tokens"] == entry.defaults["max_new_tokens"]  # the rest kept


def test_base_models_are_marked_and_offered_beginnings_not_questions():
    for entry in CATALOG:
        if entry.modality != "text":
            continue
        assert entry.examples, f"{entry.alias} has no examples"
        questions = [e for e in entry.examples if e.rstrip().endswith("?")]
        if entry.completion:
            assert not questions, f"{entry.alias} is a base model offered questions: {questions}"
    assert find_entry("gemma3-270m").completion and find_entry("distilgpt2").completion
    assert not find_entry("smollm2-135m-gguf").completion


def test_models_without_a_prompt_are_offered_settings_not_prompts():
    from genai.catalog import UNCONDITIONAL_IMAGE

    for entry in CATALOG:
        if entry.task == UNCONDITIONAL_IMAGE:
            assert entry.examples and all(isinstance(e, dict) for e in entry.examples), entry.alias
        elif entry.examples:
            assert all(isinstance(e, str) for e in entry.examples), entry.alias


def test_every_offline_stand_in_has_examples_that_suit_it():
    faces = find_entry("faces-64")
    assert faces.display["num_images"] > 1  # a grid, not one face blown up
    assert (faces.display["width"], faces.display["resample"]) == (128, "nearest")  # 2x, crisp
    piano = find_entry("piano-rnn")
    assert all(" in " in e and ("major" in e or "minor" in e) for e in piano.examples)


def test_torchaudio_bundles_name_the_files_they_need():
    for entry in CATALOG:
        if entry.hub_id.startswith("torchaudio:"):
            assert entry.cache_files and all(f.endswith(".pth") for f in entry.cache_files)
