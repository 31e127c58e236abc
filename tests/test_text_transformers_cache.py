"""The transformers engine's KV caches: static vs dynamic, and prompt prefixes reused across turns."""

from __future__ import annotations

import pytest

import genai
from genai import InvalidParameterError
from genai.backends.text_hf_cache import CHUNK


@pytest.fixture(scope="module")
def long_llama(tmp_path_factory) -> str:
    """A tiny Llama with room for a conversation of several turns (1024 positions)."""
    from genai.testing.text import tiny_llama

    return str(tiny_llama(tmp_path_factory.mktemp("long-llama"), max_positions=1024))


def fresh(path: str, **options):
    """A generator of its own (genai.load would hand back the cached one, store and all)."""
    genai.unload(path)
    return genai.load(path, device="cpu", **options)


def alone(path: str, messages, **parameters):
    """The answer read from scratch: a second generator of the model, its store emptied first."""
    reference = genai.load(path, device="cpu", cache="dynamic")
    reference.prefix_store.clear()
    return reference(messages, **parameters)


def test_static_cache_gives_the_dynamic_caches_greedy_tokens(tiny_llama_dir):
    dynamic = fresh(tiny_llama_dir, cache="dynamic")
    prompts = ["the red fox", "what is the capital of france and the world"]
    expected = [dynamic(p, max_new_tokens=12, temperature=0) for p in prompts]
    static = genai.load(tiny_llama_dir, device="cpu", cache="static")
    assert static is not dynamic and static.info()["cache"] == "static"
    assert "asked for" in static.info()["cache_reason"]
    for prompt, plain in zip(prompts, expected, strict=True):
        result = static(prompt, max_new_tokens=12, temperature=0)
        assert result.text == plain.text and result.completion_tokens == plain.completion_tokens
    seeded = dict(max_new_tokens=12, temperature=1.2, seed=5)
    assert static("the red fox", **seeded).text == dynamic("the red fox", **seeded).text


def test_the_cpu_default_is_the_dynamic_cache_and_info_says_why(tiny_llama_dir, tiny_t5_dir):
    info = genai.load(tiny_llama_dir, device="cpu").info()
    assert info["cache"] == "dynamic" and "CPU" in info["cache_reason"]
    t5 = genai.load(tiny_t5_dir, device="cpu").info()
    assert t5["cache"] == "dynamic" and "encoder-decoder" in t5["cache_reason"]


def test_an_unknown_cache_kind_is_refused(tiny_llama_dir):
    with pytest.raises(InvalidParameterError, match="cache='paged'.*auto, dynamic, static"):
        genai.load(tiny_llama_dir, device="cpu", cache="paged")


def chat_turns(gen, turns: int, **parameters):
    """A growing conversation: each turn adds the model's answer and a new question."""
    history = [{"role": "system", "content": "you are a small model " * 12}]
    results = []
    for turn in range(turns):
        history.append({"role": "user", "content": f"tell me the word number {turn} " * 6})
        result = gen(history, max_new_tokens=10, **parameters)
        history.append({"role": "assistant", "content": result.text})
        results.append((list(history[:-1]), result))
    return results


@pytest.mark.parametrize("parameters", [{"temperature": 0}, {"temperature": 1.0, "seed": 11}])
def test_a_cached_prefix_gives_the_same_text_as_reading_the_whole_prompt(long_llama, parameters):
    gen = fresh(long_llama)
    conversation = chat_turns(gen, 4, **parameters)
    assert gen.prefix_store.hits >= 3 * CHUNK  # turns 2-4 found their earlier prompt stored
    assert gen.count_tokens(conversation[-1][0]) > 3 * CHUNK
    for messages, result in conversation:  # each turn again, on a model with an empty store
        read = alone(long_llama, messages, max_new_tokens=10, **parameters)
        assert read.text == result.text and read.prompt_tokens == result.prompt_tokens


def test_a_related_request_in_between_changes_nothing(long_llama):
    gen = fresh(long_llama)
    messages = chat_turns(gen, 3, temperature=0)[-1][0]
    expected = alone(long_llama, messages, max_new_tokens=10, temperature=0).text
    gen(messages[:2] + [{"role": "user", "content": "a different question " * 9}], max_new_tokens=4)
    hits = gen.prefix_store.hits
    assert gen(messages, max_new_tokens=10, temperature=0).text == expected
    assert gen.prefix_store.hits > hits
