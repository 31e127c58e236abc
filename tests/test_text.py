"""Text generation on tiny Llama, GPT-2 and T5 models (transformers) and a tiny GGUF (llama.cpp)."""

from __future__ import annotations

import json

import pytest

import genai
from genai import InvalidParameterError, TextResult
from genai.errors import InputTooLongError

MODELS = ["tiny_llama_dir", "tiny_gpt2_dir", "tiny_t5_dir", "tiny_gguf"]


@pytest.fixture(params=MODELS)
def text_model(request):
    return genai.load(request.getfixturevalue(request.param))


def test_result_fields(text_model):
    result = text_model("the red fox", max_new_tokens=6, temperature=0)
    assert isinstance(result, TextResult)
    assert result.text.strip()
    assert result.prompt == "the red fox"
    assert result.completion_tokens == 6 and result.finish_reason == "length"
    assert result.prompt_tokens >= 3
    assert result.time_to_first_token is not None and result.time_to_first_token > 0
    assert result.tokens_per_second > 0
    assert result.parameters["max_new_tokens"] == 6 and result.parameters["temperature"] == 0
    assert isinstance(result.seed, int)
    assert set(result.timings) >= {"load_s", "generate_s", "total_s", "first_token_s"}
    assert result.engine == text_model.engine and result.source


def test_greedy_is_repeatable(text_model):
    first = text_model("the red fox", max_new_tokens=8, temperature=0).text
    assert text_model("the red fox", max_new_tokens=8, temperature=0).text == first


def test_seed_reproduces_sampling(text_model):
    def sample(seed):
        return text_model(
            "the red fox", max_new_tokens=12, temperature=1.5, top_k=0, seed=seed
        ).text

    assert sample(1) == sample(1)
    assert sample(1) != sample(2)


def test_stream_yields_the_plain_text(text_model):
    plain = text_model("what is the capital of france", max_new_tokens=8, temperature=0)
    stream = text_model.stream("what is the capital of france", max_new_tokens=8, temperature=0)
    pieces = list(stream)
    assert pieces  # random byte tokens may be held back until they form whole characters
    assert "".join(pieces) == plain.text == stream.result.text
    assert stream.result.completion_tokens == plain.completion_tokens


@pytest.mark.parametrize("model", ["tiny_llama_dir", "tiny_gguf"])
def test_closing_a_stream_stops_generation(request, model):
    gen = genai.load(request.getfixturevalue(model))
    stream = gen.stream("the red fox", max_new_tokens=120, temperature=0)
    first = next(iter(stream))
    stream.close()
    assert first and stream.result is None
    # The model is free again at once: the lock was released by the cancelled generate().
    assert gen("the red fox", max_new_tokens=2, temperature=0).completion_tokens == 2


def test_batch_matches_single_calls(text_model):
    prompts = ["the red fox", "what is the capital of france and the world"]
    batch = text_model(prompts, max_new_tokens=6, temperature=0)
    assert [r.prompt for r in batch] == prompts
    assert [r.text for r in batch] == [
        text_model(p, max_new_tokens=6, temperature=0).text for p in prompts
    ]
    assert batch[0].timings["batch_size"] == 2


@pytest.mark.parametrize("model", ["tiny_gpt2_dir", "tiny_gguf"])
def test_stop_string_cuts_the_text(request, model):
    gen = genai.load(request.getfixturevalue(model))
    full = gen("the red fox", max_new_tokens=8, temperature=0).text
    stop_word = full.split()[2]
    cut = gen("the red fox", max_new_tokens=8, temperature=0, stop=[stop_word])
    assert cut.finish_reason == "stop"
    assert stop_word not in cut.text and full.startswith(cut.text)
    stream = gen.stream("the red fox", max_new_tokens=8, temperature=0, stop=stop_word)
    assert "".join(stream) == cut.text
    assert stream.result.finish_reason == "stop"


def test_chat_template_and_system_prompt(tiny_llama_dir):
    gen = genai.load(tiny_llama_dir)
    assert gen.has_chat_template
    plain = gen("hello", max_new_tokens=2, temperature=0)
    with_system = gen("hello", max_new_tokens=2, temperature=0, system_prompt="be kind")
    messages = gen(
        [{"role": "system", "content": "be kind"}, {"role": "user", "content": "hello"}],
        max_new_tokens=2,
        temperature=0,
    )

    def templated_length(turns):
        text = gen.tokenizer.apply_chat_template(turns, add_generation_prompt=True, tokenize=False)
        assert text.endswith("<|im_start|>assistant\n")
        return len(gen.tokenizer(text, add_special_tokens=False)["input_ids"])

    user = {"role": "user", "content": "hello"}
    assert plain.prompt_tokens == templated_length([user])
    system_length = templated_length([{"role": "system", "content": "be kind"}, user])
    assert (
        with_system.prompt_tokens == messages.prompt_tokens == system_length > plain.prompt_tokens
    )
    assert with_system.text == messages.text


def test_model_without_chat_template_takes_messages(tiny_gpt2_dir):
    gen = genai.load(tiny_gpt2_dir)
    result = gen([{"role": "user", "content": "the red fox"}], max_new_tokens=3, temperature=0)
    assert result.completion_tokens == 3


def test_spec_defaults_and_load_options_apply(tiny_llama_dir):
    """A folder has no catalog entry: the spec's defaults apply, then options given at load
    time (catalog defaults are checked on the real models: tests/test_text_real.py)."""
    result = genai.load(tiny_llama_dir)("hello", temperature=0)
    assert result.parameters == {
        "max_new_tokens": 128, "temperature": 0.0, "top_p": 0.95, "top_k": 50,
        "repetition_penalty": 1.0, "stop": [], "seed": result.seed,
    }  # fmt: skip
    # the tiny random model never picks its end token: it runs to the default limit
    assert result.finish_reason == "length" and result.completion_tokens == 128
    five = genai.load(tiny_llama_dir, max_new_tokens=5, top_k=7)
    result = five("hello", temperature=0)
    assert result.completion_tokens == 5 and result.parameters["top_k"] == 7
    assert five("hello", temperature=0, max_new_tokens=3).completion_tokens == 3


def test_save_writes_text_and_parameters(tiny_gpt2_dir, tmp_path):
    result = genai.load(tiny_gpt2_dir)("the red fox", max_new_tokens=4, temperature=0, seed=7)
    path = result.save(tmp_path / "out.txt")
    assert path.read_text() == result.text
    record = json.loads((tmp_path / "out.json").read_text())
    assert record["seed"] == 7 and record["parameters"]["max_new_tokens"] == 4
    assert record["prompt"] == "the red fox" and record["finish_reason"] == "length"
    assert not list(tmp_path.glob(".*.tmp"))


def test_generate_one_shot(tiny_gpt2_dir):
    result = genai.generate("the red fox", model=tiny_gpt2_dir, max_new_tokens=3, temperature=0)
    assert result.completion_tokens == 3


@pytest.mark.parametrize(
    ("parameters", "fragment"),
    [
        ({"max_new_tokens": 0}, "max_new_tokens=0"),
        ({"max_new_tokens": 10_000}, "context"),
        ({"temperature": -0.5}, "temperature"),
        ({"top_p": 0.0}, "top_p"),
        ({"top_p": 1.5}, "top_p"),
        ({"top_k": -1}, "top_k"),
        ({"repetition_penalty": 0}, "repetition_penalty"),
        ({"stop": [""]}, "stop"),
        ({"seed": -3}, "seed"),
        ({"num_beams": 4}, "unknown parameter 'num_beams'"),
    ],
)
@pytest.mark.parametrize("model", ["tiny_gpt2_dir", "tiny_gguf"])
def test_bad_parameters(request, model, parameters, fragment):
    gen = genai.load(request.getfixturevalue(model))
    with pytest.raises(InvalidParameterError, match=fragment):
        gen("the red fox", **parameters)


@pytest.mark.parametrize(
    "prompt", ["", "   ", [], [{"role": "user", "content": ""}], 42, [{"content": "x"}]]
)
@pytest.mark.parametrize("model", ["tiny_gpt2_dir", "tiny_gguf"])
def test_bad_prompts(request, model, prompt):
    with pytest.raises(InvalidParameterError) as caught:
        genai.load(request.getfixturevalue(model))(prompt)
    assert isinstance(caught.value, ValueError)


def test_prompt_longer_than_context(tmp_path):
    from genai.testing.text import tiny_gpt2

    gen = genai.load(str(tiny_gpt2(tmp_path / "short", max_positions=16)))
    with pytest.raises(InvalidParameterError, match="context"):
        gen("the red fox " * 5, max_new_tokens=10)


def test_prompt_longer_than_context_on_llamacpp(tiny_gguf):
    gen = genai.load(tiny_gguf)  # context: 256 tokens
    with pytest.raises(InputTooLongError, match="context of 256"):
        gen("the red fox " * 100, max_new_tokens=4)
    with pytest.raises(InputTooLongError, match="max_new_tokens=250"):
        gen("the red fox " * 5, max_new_tokens=250)
    stream = gen.stream("the red fox " * 100, max_new_tokens=4)
    with pytest.raises(InputTooLongError):
        list(stream)
