"""cancel=threading.Event() stops a plain text call on both engines (the server's disconnects use it)."""

from __future__ import annotations

import threading
import time

import pytest

import genai
from genai.errors import GenerationCancelled, InvalidParameterError


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
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    started = time.perf_counter()
    with pytest.raises(GenerationCancelled):
        smollm2_gguf(
            "Write a very long story about a dragon and a knight.",
            max_new_tokens=2000,
            temperature=0.8,
            seed=1,
            cancel=cancel,
        )
    assert time.perf_counter() - started < 20  # 2000 tokens take far longer on this CPU
    assert "Paris" in smollm2_gguf("What is the capital of France?").text
