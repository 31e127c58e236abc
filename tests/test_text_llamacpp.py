"""The llama.cpp engine on a tiny GGUF: engine choice, same answers as transformers, cancel,
decoding several prompts together, threads, context and damaged files."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

import genai
from genai.errors import InvalidParameterError, UnsupportedModelError


def _metric(gen, name: str) -> float:
    for line in gen.server.handle_metrics().splitlines():
        if line.startswith(f"llamacpp:{name} "):
            return float(line.split()[1])
    raise AssertionError(f"no metric {name}")


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


def test_list_of_prompts_is_decoded_together(tiny_gguf):
    gen = genai.load(tiny_gguf)
    decodes, tokens = _metric(gen, "n_decode_total"), _metric(gen, "tokens_predicted_total")
    results = gen(
        ["the red fox", "a new day", "snow is red", "the world"], max_new_tokens=20, temperature=0
    )
    made = _metric(gen, "tokens_predicted_total") - tokens
    assert made == sum(r.completion_tokens for r in results) == 80
    # One decode step advances every sequence: far fewer steps than tokens.
    assert _metric(gen, "n_decode_total") - decodes < made / 2


def test_closing_a_stream_stops_decoding(tiny_gguf):
    gen = genai.load(tiny_gguf)
    before = _metric(gen, "tokens_predicted_total")
    stream = gen.stream("the red fox", max_new_tokens=200, temperature=0.8, seed=3)
    next(iter(stream))
    stream.close()
    assert stream.result is None
    assert _metric(gen, "tokens_predicted_total") - before < 150  # of the 200 asked for


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
