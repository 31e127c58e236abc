"""What the transformers engine decides at load: its KV cache kind and its batching loop.

- :func:`choose_cache`: a static KV cache with transformers' compiled decode step on CUDA
  (``generate(cache_implementation="static")``, warmed up here so that the first request is
  not the one that compiles), the dynamic cache and the prompt store (text_hf_cache.py) on the
  CPU; ``cache="static" | "dynamic"`` at load asks for one. A model or machine where the
  static cache fails falls back to the dynamic one, and ``info()["cache_reason"]`` says why.
- :func:`choose_batching`: transformers' continuous batching (text_hf_batching.py) for causal
  models with sdpa or flash attention on one device; ``slots`` is its capacity (1 without).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..errors import InvalidParameterError

CACHES = ("auto", "dynamic", "static")
STATIC_MAX_LEN = 4096  # one static cache (and one compiled decode step) serves prompts up to this
SLOTS = {"cpu": 4, "cuda": 8}  # sequences decoded together (continuous batching)
SLOT_TOKENS = {"cpu": 2048, "cuda": 4096}  # cache room per sequence in the batching loop
# scripts/bench_text_transformers.py on a 2-core CPU, SmolLM2-135M-shaped model, 64 greedy
# tokens: static 0.88x the dynamic cache's tokens/s (transformers compiles only on accelerators).
CPU_CHOICE = (
    "CPU: the dynamic cache (the static one measured 0.88x its speed here), which also lets "
    "a prompt reuse an earlier prompt's prefix"
)


def choose_cache(gen) -> None:
    """Set ``gen.cache_kind`` ("static" or "dynamic"), ``gen.cache_reason``, ``gen.prefix_store``."""
    from .text_hf_cache import PrefixStore, cache_keyword

    wanted = gen.load_options.get("cache") or "auto"
    if wanted not in CACHES:
        raise InvalidParameterError(
            f"cache={wanted!r} is not known; use one of {', '.join(CACHES)}"
        )
    gen.cache_kind = "dynamic"
    gen.cache_reason = "asked for" if wanted == "dynamic" else CPU_CHOICE
    if gen.is_seq2seq:
        gen.cache_reason = "encoder-decoder models use generate's own cache"
    elif wanted == "static" or (wanted == "auto" and gen.placement.is_cuda):
        _try_static(gen, asked=wanted == "static")
    gen.cache_keyword = cache_keyword(gen.model)
    dynamic = gen.cache_kind == "dynamic" and not gen.is_seq2seq
    gen.prefix_store = PrefixStore() if dynamic else None


def _try_static(gen, asked: bool) -> None:
    if not getattr(gen.model, "_can_compile_fullgraph", False) and not asked:
        gen.cache_reason = f"{type(gen.model).__name__} does not support a compiled static cache"
        return
    gen.static_len = min(gen.context_length or STATIC_MAX_LEN, STATIC_MAX_LEN)
    gen.cache_kind = "static"
    if gen.placement.is_cuda:
        # torch.compile's CUDA graphs belong to the thread that recorded them: every static
        # decode runs on this one thread, the warm-up included.
        gen._worker = ThreadPoolExecutor(1, thread_name_prefix="genai-static-decode")
    try:
        started = time.perf_counter()
        gen._on_worker(_warm_up, gen)
        gen.cache_reason = (
            f"{'asked for' if asked else 'CUDA'}: static cache of {gen.static_len} tokens, "
            f"decode step warmed up in {time.perf_counter() - started:.1f} s"
        )
    except Exception as error:  # compile or static cache unsupported here: fall back, say why
        gen.cache_kind = "dynamic"
        gen.cache_reason = f"static cache failed at warm-up ({type(error).__name__}: {error})"[:300]
        if gen._worker is not None:
            gen._worker.shutdown(wait=False)
            gen._worker = None


def _warm_up(gen) -> None:
    import torch

    ids = gen.tokenizer("the", return_tensors="pt").to(gen.placement.device)
    with torch.inference_mode():
        for _ in range(2):  # the second call runs the compiled (and graph-recorded) step
            gen.model.generate(**ids, max_new_tokens=4, **static_kwargs(gen))


def static_kwargs(gen) -> dict[str, Any]:
    """generate()'s keywords for the static cache: one size for every call, so one compile."""
    from transformers import GenerationConfig

    kwargs: dict[str, Any] = {"cache_implementation": "static", "do_sample": False}
    kwargs.update(pad_token_id=gen.tokenizer.pad_token_id, temperature=None, top_p=None, top_k=None)
    if hasattr(GenerationConfig(), "max_cache_len"):
        kwargs["max_cache_len"] = gen.static_len
    return kwargs


def choose_batching(gen) -> None:
    """Set ``gen.batcher`` (a ContinuousBatcher or None), ``gen.slots``, ``gen.batching_reason``."""
    from .text_hf_batching import ContinuousBatcher

    kind = "cuda" if gen.placement.is_cuda else "cpu"
    attention = str(getattr(gen.model.config, "_attn_implementation", ""))
    why = ""
    if gen.is_seq2seq:
        why = "encoder-decoder models are not batched continuously by transformers"
    elif gen.placement.device_map is not None:
        why = "a model spread by device_map runs on the plain path"
    elif attention != "sdpa" and "flash" not in attention:
        why = f"continuous batching needs sdpa or flash attention, this model uses {attention!r}"
    gen.batcher = None
    gen.batching_reason = why or "continuous batching for concurrent callers and lists"
    gen.slots = 1
    if not why:
        room = min(gen.context_length or SLOT_TOKENS[kind], SLOT_TOKENS[kind])
        gen.batcher = ContinuousBatcher(
            gen.model, slots=SLOTS[kind], tokens_per_slot=room, end_ids=gen.end_ids,
            pad_id=gen.tokenizer.pad_token_id,
        )  # fmt: skip
        gen.slots = SLOTS[kind]
