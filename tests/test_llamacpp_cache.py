"""The llama.cpp engine's prompt cache on a tiny GGUF: a conversation's next turn reads only
its new tokens, in the slot that holds it, and a seeded or greedy request gives the same text
and logprobs, bit for bit, alone, after a related request and in the middle of a conversation
(genai/backends/llamacpp_slots.py says why that needed care)."""

from __future__ import annotations

import threading
import time

import pytest

import genai

SYSTEM = {"role": "system", "content": "be kind"}
TURN_1 = [SYSTEM, {"role": "user", "content": "the red fox is " * 8}]


def _metric(gen, name: str) -> float:
    for line in gen.server.handle_metrics().splitlines():
        if line.startswith(f"llamacpp:{name} "):
            return float(line.split()[1])
    raise AssertionError(f"no metric {name}")


def _settle(gen) -> None:
    """Wait until no slot is busy (a conversation's answer is read back after its turn)."""
    deadline = time.monotonic() + 60
    while gen._pool.busy() and time.monotonic() < deadline:
        time.sleep(0.01)


def _read(gen, prompt, **settings):
    """The result and how many prompt tokens llama.cpp read for it and for reading its answer
    back (the rest came cached)."""
    _settle(gen)
    before = _metric(gen, "prompt_tokens_total")
    result = gen(prompt, **settings)
    _settle(gen)
    return result, int(_metric(gen, "prompt_tokens_total") - before)


@pytest.mark.parametrize("temperature", [0.0, 0.9])
def test_a_cached_prefix_changes_no_bit(tiny_gguf, temperature):
    settings = dict(
        max_new_tokens=24, temperature=temperature, seed=7, logprobs=True, top_logprobs=3
    )
    gen = genai.load(tiny_gguf, parallel=2)
    first = gen(TURN_1, **settings)
    turn_2 = [*TURN_1, {"role": "assistant", "content": first.text}]
    turn_2.append({"role": "user", "content": "a new day"})
    related = [SYSTEM, {"role": "user", "content": "the red fox is " * 6 + "snow"}]

    alone = genai.load(tiny_gguf, n_ctx=210)(turn_2, **settings)  # another model: nothing cached
    mid, read = _read(gen, turn_2, **settings)  # the next turn of the conversation
    assert read < mid.prompt_tokens - 20  # the first turn's prompt came from the cache
    again = gen(turn_2, **settings)  # all of it cached
    gen(related, **settings)
    after = gen(turn_2, **settings)  # after a request sharing part of the prompt
    for result in (mid, again, after):
        assert result.text == alone.text
        assert result.logprobs == alone.logprobs

    # Past its first turn a conversation's answer is read back while the user types: the
    # third turn reads only its own new message (and one trim token or two).
    turn_3 = [*turn_2, {"role": "assistant", "content": mid.text}]
    turn_3.append({"role": "user", "content": "snow is red"})
    gen(turn_2, **settings)  # the conversation's second turn, in its slot
    _settle(gen)
    before = _metric(gen, "prompt_tokens_total")
    stream = gen.stream(turn_3, **settings)
    next(iter(stream))  # its prompt is read; reading its own answer back starts after its end
    read = _metric(gen, "prompt_tokens_total") - before
    third = (stream.text(), stream.result)[1]
    assert read < 25 < third.prompt_tokens - 100
    alone_3 = genai.load(tiny_gguf, n_ctx=210)(turn_3, **settings)
    assert (third.text, third.logprobs) == (alone_3.text, alone_3.logprobs)


def test_reading_a_token_alone_changes_its_bits(tiny_gguf):
    """Why the engine never reuses a cell llama.cpp computed alone: the same prompt, fully
    cached, makes llama.cpp re-read its last token on its own, and the logprobs move."""
    gen = genai.load(tiny_gguf, parallel=2, n_ctx=250)  # a model of its own: slots empty
    body = {"messages": TURN_1, "max_tokens": 4, "temperature": 0, "n_probs": 3, "id_slot": 0}

    def logprobs(cache: bool):
        answer = gen.server.handle_chat_completions({**body, "cache_prompt": cache})
        content = answer["choices"][0]["logprobs"]["content"]
        return answer["timings"], [[t["logprob"] for t in c["top_logprobs"]] for c in content]

    _, fresh = logprobs(False)
    timings, cached = logprobs(True)
    assert timings["prompt_n"] == 1 and timings["cache_n"] > 10
    assert cached != fresh


def test_conversations_keep_their_slots(tiny_gguf):
    """Two conversations taking turns on a two-slot model: each turn reads only its new
    tokens; a third conversation then takes the least recently used slot."""
    gen = genai.load(tiny_gguf, parallel=2, n_ctx=240)  # a model of its own: slots empty
    settings = dict(max_new_tokens=6, temperature=0)
    chats = {
        name: [{"role": "user", "content": f"{name} is " * 15}] for name in ("the fox", "snow")
    }
    for turn in range(3):
        for chat in chats.values():
            result, read = _read(gen, chat, **settings)
            if turn:
                # the new turn, the answer (read back) and one trim token or two
                assert read <= 40 < 60 < result.prompt_tokens
            chat += [
                {"role": "assistant", "content": result.text},
                {"role": "user", "content": "the world"},
            ]
    fresh, read = _read(gen, [{"role": "user", "content": "a new day"}], **settings)
    assert read >= fresh.prompt_tokens - 8  # at most the chat template's opening was cached
    # "snow" was used last: "the fox" lost its slot, "snow" kept it.
    assert _read(gen, chats["snow"], **settings)[1] <= 40
    assert _read(gen, chats["the fox"], **settings)[1] > 60


def test_callers_wait_for_a_free_slot(tiny_gguf):
    """More callers than slots: every caller gets its answer, equal to the answer alone."""
    gen = genai.load(tiny_gguf, parallel=1)
    alone = gen("a new day", max_new_tokens=8, temperature=0).text
    answers: list[str] = []
    threads = [
        threading.Thread(
            target=lambda: answers.append(gen("a new day", max_new_tokens=8, temperature=0).text)
        )
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert answers == [alone] * 3
