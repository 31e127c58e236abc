"""Continuous batching on the transformers engine: concurrent callers and lists share one decode
loop (counted in forward passes, not time) and get the text they would get alone."""

from __future__ import annotations

import threading
import time

import pytest

import genai
from genai.errors import GenerationCancelled

PROMPTS = ["the red fox", "what is the capital of france", "a small house by the water", "one two"]


@pytest.fixture(scope="module")
def llama(tiny_llama_dir):
    genai.unload(tiny_llama_dir)
    return genai.load(tiny_llama_dir, device="cpu")


def alone(gen, prompt, **parameters):
    """What the plain path gives (the model is idle, so a single call takes it)."""
    assert gen.batcher.active == 0
    return gen(prompt, **parameters)


class Busy:
    """Keeps the model's plain path busy with a long stream, so new callers go to the loop."""

    def __init__(self, gen):
        never_end = {token: -100 for token in gen.end_ids}  # 200 tokens, however it goes
        self.stream = gen.stream(
            "the fox " * 4, max_new_tokens=200, temperature=0, logit_bias=never_end
        )
        self.first = next(iter(self.stream))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stream.close()


def run_together(gen, calls):
    """Each call in its own thread, started together; their results in order."""
    results: list = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def work(index, call):
        start.wait()
        try:
            results[index] = call()
        except Exception as error:  # handed back to the test
            results[index] = error

    threads = [threading.Thread(target=work, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return results


def test_slots_say_how_many_sequences_decode_together(llama, tiny_t5_dir):
    assert llama.slots == 4 and llama.info()["slots"] == 4
    t5 = genai.load(tiny_t5_dir, device="cpu")
    assert t5.slots == 1 and "encoder-decoder" in t5.info()["batching"]


def test_concurrent_callers_share_one_decode_loop_and_get_their_own_text(llama):
    parameters = dict(max_new_tokens=16, temperature=0)
    expected = [alone(llama, p, **parameters) for p in PROMPTS[:3]]
    with Busy(llama):
        steps = llama.batcher.steps
        results = run_together(llama, [lambda p=p: llama(p, **parameters) for p in PROMPTS[:3]])
        steps = llama.batcher.steps - steps
    assert [r.text for r in results] == [r.text for r in expected]
    tokens = sum(r.completion_tokens for r in results)
    # Alone, each would need one forward pass per token (after its prompt): together fewer.
    assert steps < tokens, (steps, tokens)


def test_a_list_of_prompts_is_one_loop_with_per_prompt_seeds(llama):
    greedy = dict(max_new_tokens=12, temperature=0)
    steps = llama.batcher.steps
    batch = llama(PROMPTS, **greedy)
    assert llama.batcher.steps - steps < sum(r.completion_tokens for r in batch)
    assert [r.text for r in batch] == [alone(llama, p, **greedy).text for p in PROMPTS]
    sampled = dict(max_new_tokens=12, temperature=1.3, seed=40)
    batch = llama([PROMPTS[0], PROMPTS[0], PROMPTS[1]], **sampled)
    # Prompt i draws with seed + i (as image i of a batch does): its text is that seed's alone.
    for index, result in enumerate(batch):
        prompt = [PROMPTS[0], PROMPTS[0], PROMPTS[1]][index]
        assert result.text == alone(llama, prompt, **{**sampled, "seed": 40 + index}).text
    assert batch[0].text != batch[1].text


def test_seeds_penalties_and_stop_strings_hold_inside_the_shared_loop(llama):
    calls = [
        dict(max_new_tokens=14, temperature=1.1, top_p=0.9, seed=3),
        dict(max_new_tokens=14, temperature=0, repetition_penalty=1.5),
        dict(max_new_tokens=14, temperature=0, frequency_penalty=1.5, logit_bias={"5": 4.0}),
    ]
    expected = [alone(llama, PROMPTS[i], **c) for i, c in enumerate(calls)]
    full = expected[1].text
    stop = full.split()[2]
    calls.append(dict(max_new_tokens=14, temperature=0, repetition_penalty=1.5, stop=[stop]))
    with Busy(llama):
        results = run_together(
            llama, [lambda i=i, c=c: llama(PROMPTS[i % 3], **c) for i, c in enumerate(calls)]
        )
    assert [r.text for r in results[:3]] == [r.text for r in expected]
    assert results[3].finish_reason == "stop" and full.startswith(results[3].text)
    assert stop not in results[3].text


def test_streams_and_cancel_work_inside_the_shared_loop(llama):
    plain = alone(llama, PROMPTS[1], max_new_tokens=12, temperature=0)
    with Busy(llama):
        cancel = threading.Event()

        def cancel_once_it_is_in_the_loop():
            while llama.batcher.active < 2:  # the busy stream and this request
                time.sleep(0.005)
            cancel.set()

        threading.Thread(target=cancel_once_it_is_in_the_loop, daemon=True).start()
        with pytest.raises(GenerationCancelled):
            never_end = {token: -100 for token in llama.end_ids}
            llama(
                PROMPTS[2], max_new_tokens=200, temperature=0, cancel=cancel, logit_bias=never_end
            )
    with Busy(llama):
        stream = llama.stream(PROMPTS[1], max_new_tokens=12, temperature=0)
        pieces = list(stream)
        assert "".join(pieces) == plain.text == stream.result.text
        closing = llama.stream(PROMPTS[1], max_new_tokens=150, temperature=0)
        assert next(iter(closing))
        closing.close()
        assert closing.result is None
    assert llama.batcher.active == 0
    assert llama(PROMPTS[0], max_new_tokens=3, temperature=0).completion_tokens == 3
