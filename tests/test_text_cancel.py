"""cancel=threading.Event() stops a plain text call on both engines (the server's disconnects use it)."""

from __future__ import annotations

import os
import threading
import time

import pytest

import genai
from genai.errors import GenerationCancelled, InvalidParameterError
from genai.testing.answers import assert_right_answer

QUESTION = "What is the capital of France?"


@pytest.fixture(params=["transformers", "llama.cpp"])
def generator(request, tiny_llama_dir, tiny_gguf):
    if request.param == "llama.cpp":
        return genai.load(tiny_gguf, threads=1)
    return genai.load(tiny_llama_dir, device="cpu")


def test_a_pre_set_event_does_no_work(generator):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(GenerationCancelled):
        generator("the fox", max_new_tokens=50, temperature=0, cancel=cancel)


def test_cancel_must_be_an_event(generator):
    with pytest.raises(InvalidParameterError, match="threading.Event"):
        generator("the fox", cancel=5)


@pytest.mark.real_weights
def test_setting_the_event_mid_call_stops_a_long_answer(smollm2_gguf):
    story = {"prompt": "Write a very long story about a dragon and a knight.", "seed": 1}
    # Uncancelled, this story runs to all 2000 tokens (measured: 172 s at load 8 on two
    # cores). An 8-token call of it, timed here, is the yardstick for "stopped at once".
    started = time.perf_counter()
    smollm2_gguf(story["prompt"], max_new_tokens=8, temperature=0.8, seed=story["seed"])
    eight_tokens = time.perf_counter() - started
    cancel, set_at = threading.Event(), []

    def stop():
        set_at.append(time.perf_counter())
        cancel.set()

    threading.Timer(0.5, stop).start()
    with pytest.raises(GenerationCancelled):
        smollm2_gguf(
            story["prompt"],
            max_new_tokens=2000,
            temperature=0.8,
            seed=story["seed"],
            cancel=cancel,
        )
    stopped_in = time.perf_counter() - set_at[0]
    print(f"stopped in {stopped_in:.3f} s; 8 tokens {eight_tokens:.3f} s; {os.getloadavg()}")
    assert stopped_in < 5 * eight_tokens, (stopped_in, eight_tokens, os.getloadavg())
    # and the model is free: it answers the next question, right
    answer = smollm2_gguf(QUESTION)
    assert_right_answer(answer.text, "Paris", question=QUESTION, finish_reason=answer.finish_reason)
