"""logprobs, top_logprobs, presence/frequency penalties and logit_bias on the transformers engine,
checked exactly against the tiny model's own logits (recomputed here, step by step)."""

from __future__ import annotations

import pytest

import genai

PROMPT = "the red fox and the snow"


@pytest.fixture(scope="module")
def llama(tiny_llama_dir):
    return genai.load(tiny_llama_dir, device="cpu")


def prompt_ids(gen, prompt=PROMPT) -> list[int]:
    return gen._ids(gen._request(prompt, None))


def reference(gen, steps: int, adjust=None):
    """Greedy decoding by hand: the model's log-softmax at each step and the chosen ids;
    ``adjust(logits, chosen so far)`` changes the logits before the argmax."""
    import torch

    ids = prompt_ids(gen)
    chosen, logprobs = [], []
    with torch.inference_mode():
        for _ in range(steps):
            logits = gen.model(torch.tensor([ids + chosen])).logits[0, -1].float()
            logprobs.append(torch.log_softmax(logits, dim=-1))
            scores = adjust(logits.clone(), chosen) if adjust else logits
            chosen.append(int(scores.argmax()))
            if chosen[-1] in gen.end_ids:
                break
    return chosen, logprobs


def test_the_engine_names_the_features_it_honours(llama):
    assert llama.features == {
        "json_schema", "logprobs", "top_logprobs", "presence_penalty", "frequency_penalty",
        "logit_bias",
    }  # fmt: skip


@pytest.mark.parametrize("busy", [False, True], ids=["plain-path", "batching-loop"])
def test_logprobs_are_the_log_softmax_of_the_models_own_logits(llama, busy):
    chosen, logprobs = reference(llama, 8)
    parameters = dict(max_new_tokens=8, temperature=0, logprobs=True, top_logprobs=3)
    if busy:  # a second caller while the plain path decodes: the shared loop serves it
        stream = llama.stream("the fox " * 4, max_new_tokens=200, temperature=0)
        next(iter(stream))
        result = llama(PROMPT, **parameters)
        stream.close()
    else:
        result = llama(PROMPT, **parameters)
    assert len(result.logprobs) == result.completion_tokens == len(chosen)
    for entry, token, expected in zip(result.logprobs, chosen, logprobs, strict=True):
        assert entry["logprob"] == pytest.approx(float(expected[token]), abs=1e-4)
        assert bytes(entry["bytes"]) == llama.vocab.token_bytes(token)
        assert entry["token"] == bytes(entry["bytes"]).decode("utf-8", errors="replace")
        values, ids = expected.topk(3)
        assert [e["logprob"] for e in entry["top_logprobs"]] == pytest.approx(
            values.tolist(), abs=1e-4
        )
        assert [bytes(e["bytes"]) for e in entry["top_logprobs"]] == [
            llama.vocab.token_bytes(int(i)) for i in ids
        ]
    assert llama(PROMPT, max_new_tokens=4, temperature=0).logprobs is None


def test_logit_bias_minus_100_bans_a_token_and_plus_100_forces_one(llama):
    greedy, _ = reference(llama, 6)
    banned = greedy[0]
    result = llama(PROMPT, max_new_tokens=6, temperature=0, logit_bias={banned: -100})

    def ban(logits, chosen):
        logits[banned] -= 100
        return logits

    expected, _ = reference(llama, 6, ban)
    assert banned not in expected
    assert result.text == llama.tokenizer.decode(expected, skip_special_tokens=True)
    forced = llama.tokenizer(" fox", add_special_tokens=False)["input_ids"][0]
    sampled = llama(
        PROMPT, max_new_tokens=5, temperature=1.0, seed=1, logit_bias={str(forced): 100}
    )
    assert sampled.text == llama.tokenizer.decode([forced] * 5)


@pytest.mark.parametrize("presence, frequency", [(2.0, 0.0), (0.0, 1.5), (-1.0, 0.5)])
def test_penalties_follow_openais_definition(llama, presence, frequency):
    def penalise(logits, chosen):  # logit -= presence * [count > 0] + frequency * count
        for token in set(chosen):
            logits[token] -= presence + frequency * chosen.count(token)
        return logits

    expected, _ = reference(llama, 40, penalise)
    result = llama(
        PROMPT,
        max_new_tokens=40,
        temperature=0,
        presence_penalty=presence,
        frequency_penalty=frequency,
    )
    assert result.text == llama.tokenizer.decode(expected, skip_special_tokens=True)
    plain, _ = reference(llama, 40)
    assert expected != plain  # the penalty changed the answer, so the check above means something
