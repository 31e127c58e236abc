"""The engine choice for GGUF files, and the transformers engine on CUDA (gpu-marked)."""

from __future__ import annotations

import threading

import pytest

import genai
from genai.backends.text_engines import engine_for, llamacpp_gpu
from genai.device import Placement

cuda = pytest.mark.gpu


def needs_cuda():
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU (none is visible)")


def test_the_installed_llamacpp_is_detected_honestly():
    import xllamacpp

    gpu, why = llamacpp_gpu()
    devices = xllamacpp.get_device_info()
    assert gpu == any("GPU" in str(d["type"]) for d in devices)
    assert ("GPU build" if gpu else "CPU build") in why


def test_a_gguf_on_a_cuda_placement_goes_to_transformers_unless_llamacpp_has_a_gpu(tiny_gguf):
    from genai.resolve import resolve

    source = resolve(tiny_gguf).source
    gpu, _ = llamacpp_gpu()
    on_cuda = Placement("cuda:0", "bfloat16", None, "test")
    engine, why = engine_for(source, {}, on_cuda)
    assert engine == ("llama.cpp" if gpu else "transformers") and "CUDA machine" in why
    assert engine_for(source, {}, Placement("cpu", "gguf"))[0] == "llama.cpp"
    assert engine_for(source, {"engine": "llama.cpp"}, on_cuda) == ("llama.cpp", "asked for")
    info = genai.load(tiny_gguf, device="cpu").info()
    assert info["engine"] == "llama.cpp"


@cuda
def test_static_cache_on_cuda_is_compiled_at_load_and_keeps_greedy_tokens(tiny_llama_dir):
    needs_cuda()
    gen = genai.load(tiny_llama_dir, device="cuda")
    info = gen.info()
    assert info["cache"] == "static", info["cache_reason"]
    assert "warmed up" in info["cache_reason"] and gen.slots == 8
    dynamic = genai.load(tiny_llama_dir, device="cuda", cache="dynamic")
    for prompt in ("the red fox", "what is the capital of france"):
        assert (
            gen(prompt, max_new_tokens=12, temperature=0).text
            == dynamic(prompt, max_new_tokens=12, temperature=0).text
        )
    seeded = dict(max_new_tokens=12, temperature=1.0, seed=4)
    assert gen("the red fox", **seeded).text == gen("the red fox", **seeded).text


@cuda
def test_concurrent_callers_on_cuda_share_the_loop(tiny_llama_dir):
    needs_cuda()
    gen = genai.load(tiny_llama_dir, device="cuda")
    prompts = ["the red fox", "a small house", "one two three", "what is the capital"]
    alone = [gen(p, max_new_tokens=16, temperature=0).text for p in prompts]
    never_end = {token: -100 for token in gen.end_ids}
    busy = gen.stream("the fox", max_new_tokens=200, temperature=0, logit_bias=never_end)
    next(iter(busy))
    results: list = [None] * len(prompts)

    def work(index):
        results[index] = gen(prompts[index], max_new_tokens=16, temperature=0).text

    steps = gen.batcher.steps
    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(prompts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    busy.close()
    assert results == alone
    assert gen.batcher.steps - steps < 16 * len(prompts)


@cuda
def test_a_gguf_runs_on_the_gpu_through_transformers(tiny_gguf):
    needs_cuda()
    gpu, _ = llamacpp_gpu()
    if gpu:
        pytest.skip("a GPU build of llama.cpp is installed: it runs GGUF files itself")
    gen = genai.load(tiny_gguf)
    assert gen.engine == "transformers" and gen.placement.is_cuda
    assert "CUDA machine" in gen.info()["engine_reason"]
    assert gen("the red fox", max_new_tokens=4, temperature=0).completion_tokens == 4
