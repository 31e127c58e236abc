"""The llama.cpp engine on a tiny GGUF: engine choice, same answers as transformers, cancel,
lists of prompts, threads, context and damaged files."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

import genai
from genai.backends.text_gguf import read_metadata
from genai.errors import InvalidParameterError, UnsupportedModelError


def _metric(gen, name: str) -> float:
    for line in gen.server.handle_metrics().splitlines():
        if line.startswith(f"llamacpp:{name} "):
            return float(line.split()[1])
    raise AssertionError(f"no metric {name}")


@pytest.fixture(scope="module")
def tiny_gguf_4k(tmp_path_factory) -> str:
    """The tiny GGUF with a 4096-token context: room for a long decode."""
    from genai.testing.text import tiny_llama_gguf

    return str(tiny_llama_gguf(tmp_path_factory.mktemp("tiny-gguf-4k"), max_positions=4096))


def test_auto_picks_llamacpp_for_gguf(tiny_gguf):
    gen = genai.load(tiny_gguf)
    info = gen.info()
    assert gen.engine == info["engine"] == "llama.cpp"
    assert info["context_length"] == 256 and info["chat_template"] is True
    assert info["threads"] == 1  # GENAI_THREADS=1 (conftest)
    assert gen("the red fox", max_new_tokens=2, temperature=0).engine == "llama.cpp"


def test_both_engines_give_the_same_greedy_text(tiny_gguf):
    fast = genai.load(tiny_gguf)
    slow = genai.load(tiny_gguf, engine="transformers")
    assert slow.engine == "transformers"
    for prompt in (
        "the red fox",
        [{"role": "system", "content": "be kind"}, {"role": "user", "content": "hello"}],
    ):
        a = fast(prompt, max_new_tokens=10, temperature=0)
        b = slow(prompt, max_new_tokens=10, temperature=0)
        assert a.text == b.text
        assert (a.prompt_tokens, a.completion_tokens) == (b.prompt_tokens, b.completion_tokens)
        assert fast.count_tokens(prompt) == slow.count_tokens(prompt) == a.prompt_tokens


def test_a_list_of_prompts_gives_what_each_prompt_gives_alone(tiny_gguf):
    """Prompts of a list are decoded one after the other, each alone: the same texts and
    logprobs as separate calls, bit for bit (decoded in one step with other sequences, a
    token takes llama.cpp's batch kernels and other last bits)."""
    gen = genai.load(tiny_gguf)
    prompts = ["the red fox", "a new day", "snow is red", "the world"]
    settings = dict(max_new_tokens=20, temperature=0.9, seed=5, logprobs=True, top_logprobs=2)
    together = gen(prompts, **settings)
    alone = [gen(prompt, **settings) for prompt in prompts]
    assert [r.text for r in together] == [r.text for r in alone]
    assert [r.logprobs for r in together] == [r.logprobs for r in alone]
    # One logprob entry per streamed piece: a token, or the tokens that end a UTF-8 character.
    assert all("".join(e["token"] for e in r.logprobs) == r.text for r in together)


def test_closing_a_stream_stops_decoding(tiny_gguf_4k):
    """4000 tokens asked, the end-of-turn token banned: only a cancelled request stops early."""
    gen = genai.load(tiny_gguf_4k)
    end = read_metadata(tiny_gguf_4k)["tokenizer.ggml.eos_token_id"]
    before = _metric(gen, "tokens_predicted_total")
    stream = gen.stream(
        "the red fox", max_new_tokens=4000, temperature=0.8, seed=3, logit_bias={end: -100}
    )
    next(iter(stream))
    stream.close()
    assert stream.result is None
    assert _metric(gen, "tokens_predicted_total") - before < 2000  # of the 4000 asked for
    assert gen("a new day", max_new_tokens=3, temperature=0).completion_tokens == 3


def test_callers_in_threads_share_the_model(tiny_gguf):
    gen = genai.load(tiny_gguf)
    held = gen.stream("the red fox", max_new_tokens=100, temperature=0)
    next(iter(held))  # one caller is mid-stream ...
    answers = []
    threads = [
        threading.Thread(
            target=lambda: answers.append(gen("a new day", max_new_tokens=5, temperature=0))
        )
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(answers) == 3 and len({a.text for a in answers}) == 1  # ... and the others go on
    held.close()


def test_threads_option_and_environment(tiny_gguf, monkeypatch):
    assert genai.load(tiny_gguf, threads=2, parallel=2).info()["threads"] == 2
    monkeypatch.setenv("GENAI_THREADS", "3")
    assert genai.load(tiny_gguf, parallel=3).info()["threads"] == 3
    with pytest.raises(InvalidParameterError, match="threads=0"):
        genai.load(tiny_gguf, threads=0, parallel=4)


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"engine": "llamacpp"}, "did you mean llama.cpp"),
        ({"n_ctx": 100_000}, "n_ctx=100000"),
        ({"thread": 2}, "did you mean threads"),
        ({"dtype": "int3"}, "dtype='int3' is not supported"),
        ({"dtype": "int3", "device": "cpu"}, "dtype='int3' is not supported"),
    ],
)
def test_bad_load_options(tiny_gguf, options, fragment):
    with pytest.raises(InvalidParameterError, match=fragment):
        genai.load(tiny_gguf, **options)


def test_llamacpp_engine_needs_a_gguf(tiny_llama_dir):
    with pytest.raises(InvalidParameterError, match="runs GGUF files"):
        genai.load(tiny_llama_dir, engine="llama.cpp")


def test_damaged_gguf_files_are_typed_errors(tiny_gguf, tmp_path):
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"\x00\x01 not a model" * 100)
    with pytest.raises(UnsupportedModelError, match="junk.gguf"):
        genai.load(str(junk))
    data = open(tiny_gguf, "rb").read()
    for size in (1000, len(data) // 2):
        cut = tmp_path / f"cut-{size}.gguf"
        cut.write_bytes(data[:size])
        with pytest.raises(UnsupportedModelError, match=cut.name):
            genai.load(str(cut))


def test_import_genai_loads_no_engine():
    code = "import genai, sys; print(sorted(m for m in ('torch', 'transformers', 'xllamacpp') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_process_that_exits_with_a_stream_still_open_exits_cleanly(tiny_gguf):
    """A decoding thread left inside llama.cpp at interpreter exit used to crash (exit 139)."""
    import subprocess
    import sys

    script = (
        "import genai\n"
        f"stream = genai.load({tiny_gguf!r}, threads=1).stream('the fox', max_new_tokens=200)\n"
        "next(iter(stream))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-500:]
