"""The llama.cpp engine's optional features on a tiny GGUF: logprobs, logit_bias, presence
and frequency penalties, JSON-schema constrained answers, embeddings, cancel and exit."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import threading

import jsonschema
import pytest

import genai
from genai.errors import GenerationCancelled, InvalidParameterError

PROMPT = "the red fox"


@pytest.fixture(scope="module")
def gen(tiny_gguf):
    return genai.load(tiny_gguf, parallel=2, n_ctx=200)  # a model of this file's own


def _greedy(gen, prompt: str, n: int) -> list[tuple[int, str]]:
    """(id, text) of the first ``n`` greedy tokens, from llama.cpp itself."""
    messages = [{"role": "user", "content": prompt}]  # as genai sends it: the chat template
    answer = gen.server.handle_chat_completions(
        {
            "messages": messages,
            "max_tokens": n,
            "temperature": 0,
            "n_probs": 1,
            "cache_prompt": False,
        }
    )
    return [(item["id"], item["token"]) for item in answer["choices"][0]["logprobs"]["content"]]


def _metric(gen, name: str) -> float:
    for line in gen.server.handle_metrics().splitlines():
        if line.startswith(f"llamacpp:{name} "):
            return float(line.split()[1])
    raise AssertionError(f"no metric {name}")


def _tokens(result) -> list[str]:
    return [entry["token"] for entry in result.logprobs]


def test_features_are_listed(gen):
    assert gen.features == {
        "json_schema", "logprobs", "top_logprobs", "logit_bias", "presence_penalty", "frequency_penalty",
    }  # fmt: skip


# --- logprobs ---------------------------------------------------------------------------------


def test_logprobs_are_consistent(gen):
    result = gen(PROMPT, max_new_tokens=12, temperature=0, logprobs=True, top_logprobs=5)
    assert "".join(entry["token"] for entry in result.logprobs) == result.text
    for entry in result.logprobs:
        tops = entry["top_logprobs"]
        assert len(tops) == 5
        assert entry["logprob"] <= 0 and all(top["logprob"] <= 0 for top in tops)
        assert tops[0]["token"] == entry["token"]  # greedy took the likeliest token
        assert entry["logprob"] == max(top["logprob"] for top in tops)
        assert sum(math.exp(top["logprob"]) for top in tops) <= 1 + 1e-6
        if "\ufffd" not in entry["token"]:  # bytes of a character split over tokens: raw
            assert list(entry["bytes"]) == list(entry["token"].encode())
    plain = gen(PROMPT, max_new_tokens=12, temperature=0, logprobs=True)
    assert plain.text == result.text
    assert all(entry["top_logprobs"] == [] for entry in plain.logprobs)
    # llama.cpp sums the softmax in another order for another n_probs: equal to float rounding.
    for a, b in zip(plain.logprobs, result.logprobs, strict=True):
        assert a["logprob"] == pytest.approx(b["logprob"], abs=1e-6)
    assert gen(PROMPT, max_new_tokens=4, temperature=0).logprobs is None


# --- logit_bias -------------------------------------------------------------------------------


def test_logit_bias_bans_and_forces_tokens(gen):
    greedy = _greedy(gen, PROMPT, 8)
    plain = _tokens(gen(PROMPT, max_new_tokens=8, temperature=0, logprobs=True))
    assert plain == [text for _, text in greedy if text]
    banned = dict(greedy[:3])
    result = gen(
        PROMPT, max_new_tokens=8, temperature=0, logprobs=True, logit_bias={t: -100 for t in banned}
    )
    assert len(result.logprobs) == 8 and not set(banned.values()) & set(_tokens(result))
    forced, text = greedy[5]
    result = gen(
        PROMPT, max_new_tokens=6, temperature=0.9, seed=2, logprobs=True, logit_bias={forced: 100}
    )
    assert _tokens(result) == [text] * 6


# --- presence and frequency penalties ---------------------------------------------------------


def _repeats(tokens: list[str]) -> int:
    return len(tokens) - len(set(tokens))


@pytest.mark.parametrize("name", ["presence_penalty", "frequency_penalty"])
def test_penalties_make_repeats_rarer(gen, name):
    settings = dict(max_new_tokens=30, temperature=0, logprobs=True)
    plain = _repeats(_tokens(gen(PROMPT, **settings)))
    assert plain >= 4  # the tiny model loops
    assert _repeats(_tokens(gen(PROMPT, **settings, **{name: 2.0}))) < plain
    assert _repeats(_tokens(gen(PROMPT, **settings, **{name: -2.0}))) >= plain


# --- JSON schema ------------------------------------------------------------------------------

SCHEMA = {
    "type": "object",
    "properties": {
        "ok": {"type": "boolean"},
        "size": {"enum": ["small", "large"]},
        "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "maxItems": 3},
    },
    "required": ["ok", "size"],
    "additionalProperties": False,
}


@pytest.mark.parametrize("seed", range(6))
def test_constrained_answers_follow_the_schema(gen, seed):
    result = gen(PROMPT, max_new_tokens=60, temperature=1.0, seed=seed, json_schema=SCHEMA)
    assert result.finish_reason == "eos"
    jsonschema.validate(json.loads(result.text), SCHEMA)
    assert " " not in result.text  # compact: no room for a small model to loop on spaces


def test_any_json_value_and_chat(gen):
    result = gen(
        [{"role": "user", "content": "hello"}],
        max_new_tokens=60,
        temperature=0,
        json_schema={"type": "boolean"},
    )
    assert json.loads(result.text) in (True, False)


def test_a_bad_schema_is_refused_before_work(gen):
    with pytest.raises(InvalidParameterError, match="not a valid JSON Schema"):
        gen(PROMPT, max_new_tokens=5, json_schema={"type": "bogus"})


@pytest.mark.parametrize(
    "schema",
    [
        {"$ref": "#/definitions/none"},
        {"type": "string", "pattern": "^(a)\\1$"},
        {"type": "array", "uniqueItems": True, "items": {"type": "integer"}},
    ],
)
def test_a_schema_llamacpp_cannot_enforce_is_a_typed_error(gen, schema):
    """llguidance ignores a schema it cannot compile and decodes freely: stopped at once."""
    before = _metric(gen, "tokens_predicted_total")
    with pytest.raises(InvalidParameterError, match="could not enforce"):
        gen(PROMPT, max_new_tokens=100, temperature=0, json_schema=schema)
    assert _metric(gen, "tokens_predicted_total") - before < 50  # of the 100 asked for


# --- embeddings -------------------------------------------------------------------------------


def test_embeddings(gen):
    texts = ["the red fox", "a new day", "the red fox"]
    vectors, tokens = gen.embed(texts)
    assert len(vectors) == 3 and {len(v) for v in vectors} == {32}  # the tiny model's width
    assert vectors[0] == vectors[2] and vectors[0] != vectors[1]
    assert all(abs(math.sqrt(sum(x * x for x in v)) - 1) < 1e-5 for v in vectors)
    again, again_tokens = gen.embed(["a new day"])
    assert again == [vectors[1]]
    assert tokens == 2 * gen.embed(["the red fox"])[1] + again_tokens
    with pytest.raises(InvalidParameterError, match="non-empty list"):
        gen.embed([])


# --- cancel and exit ----------------------------------------------------------------------------


def test_a_cancel_event_stops_the_request(gen):
    cancel = threading.Event()
    stream = gen.stream(PROMPT, max_new_tokens=150, temperature=0.8, seed=1, cancel=cancel)
    pieces = iter(stream)
    next(pieces)
    cancel.set()
    with pytest.raises(GenerationCancelled):
        for _ in pieces:
            pass
    assert gen._pool.busy() == 0  # its slot is free again
    assert gen(PROMPT, max_new_tokens=2, temperature=0).completion_tokens == 2


def test_exit_during_a_call_in_a_thread_is_clean(tiny_gguf):
    """A call running in a daemon thread at exit: llama.cpp is left before Python finalizes
    (a thread inside it then aborted the process: "FATAL: exception not rethrown")."""
    script = (
        "import threading, time, genai\n"
        "from genai.backends.text_gguf import read_metadata\n"
        f"gen = genai.load({tiny_gguf!r}, threads=1)\n"
        f"end = read_metadata({tiny_gguf!r})['tokenizer.ggml.eos_token_id']\n"
        "started = threading.Event()\n"
        "def work():\n"
        "    started.set()\n"
        "    gen('the fox', max_new_tokens=230, logit_bias={end: -100})\n"
        "threading.Thread(target=work, daemon=True).start()\n"
        "started.wait(); time.sleep(0.05)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-800:]
    assert "FATAL" not in done.stderr


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        # Idle OpenMP threads spin 1000 times, then sleep: spinning long collapses on a shared
        # CPU, sleeping at once halves the quiet speed (measured: llamacpp_threads.py).
        ({}, "None 1000"),
        ({"OMP_WAIT_POLICY": "active"}, "active None"),  # the user's choice stands
        ({"OMP_WAIT_POLICY": "passive"}, "passive None"),
        ({"GOMP_SPINCOUNT": "50"}, "None 50"),
    ],
)
def test_import_genai_sets_openmp_waiting_unless_the_user_did(given, expected):
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    code = (
        "import genai, os; "
        "print(os.environ.get('OMP_WAIT_POLICY'), os.environ.get('GOMP_SPINCOUNT'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**env, **given},
        check=True,
    )
    assert done.stdout.strip() == expected
