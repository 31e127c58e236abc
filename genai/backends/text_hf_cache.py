"""Prompt caches for the transformers engine: a conversation's next turn reads only its new tokens.

:func:`prefill` reads a prompt into a transformers ``DynamicCache`` in fixed chunks of
``CHUNK`` tokens that start at multiples of ``CHUNK``, and :class:`PrefixStore` keeps the
caches of the last few prompts, cut at a chunk boundary and keyed by their token ids. The
next request that starts with the same tokens (the next turn of a chat holds the whole earlier
chat) copies the longest stored prefix and reads only the rest.

Why chunks at fixed boundaries: the same chunk of the same prompt is then computed by the same
operations on the same shapes whether the chunks before it came from the store or were read
just now, so a cached prefix gives bit-identical logits, and a greedy or seeded request the
same text, with or without a cache hit (the tests check this exactly).
"""

from __future__ import annotations

import copy
import inspect
import threading
from collections import OrderedDict

CHUNK = 64  # prompt tokens per forward pass while reading a prompt
KEEP = 4  # prompts kept per model
MAX_BYTES = 512 * 1024 * 1024  # and at most this much cache memory in all


def cache_keyword(model) -> str:
    """The forward/generate keyword for a Cache object: ``cache`` (transformers >= 5.2x) or
    ``past_key_values`` (earlier 5.x)."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def _cache_bytes(cache) -> int:
    total = 0
    for layer in getattr(cache, "layers", []):
        for tensor in (getattr(layer, "keys", None), getattr(layer, "values", None)):
            if tensor is not None and hasattr(tensor, "numel"):
                total += tensor.numel() * tensor.element_size()
    return total


class PrefixStore:
    """The last few prompts' caches (each cut at a CHUNK boundary), keyed by their token ids."""

    def __init__(self, keep: int = KEEP, max_bytes: int = MAX_BYTES):
        self.keep = keep
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple[int, ...], tuple[object, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0  # prompt tokens served from the store, in all (info() and tests read it)

    def longest(self, ids: list[int]) -> tuple[int, object | None]:
        """The longest stored prefix of ``ids``: (its length, a private copy of its cache)."""
        with self._lock:
            best: tuple[int, ...] = ()
            for key in self._entries:
                if len(key) > len(best) and len(key) <= len(ids) and list(key) == ids[: len(key)]:
                    best = key
            if not best:
                return 0, None
            self._entries.move_to_end(best)
            cache = copy.deepcopy(self._entries[best][0])
        self.hits += len(best)
        return len(best), cache

    def put(self, ids: list[int], cache) -> None:
        """Keep a copy of ``cache`` (which holds exactly ``ids``); a stored prefix of it goes."""
        size = _cache_bytes(cache)
        if not ids or size > self.max_bytes:
            return
        key = tuple(ids)
        snapshot = copy.deepcopy(cache)
        with self._lock:
            for other in [k for k in self._entries if len(k) <= len(key) and key[: len(k)] == k]:
                del self._entries[other]  # the new entry serves every hit the old one did
            self._entries[key] = (snapshot, size)
            while len(self._entries) > self.keep or (
                sum(s for _, s in self._entries.values()) > self.max_bytes
            ):
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def prefill(model, ids: list[int], store: PrefixStore | None, keyword: str):
    """A DynamicCache holding the first ``CHUNK * k`` tokens of ``ids`` (the largest such that
    at least one token is left for generate to read), from the store where it can."""
    import torch
    from transformers import DynamicCache

    boundary = (len(ids) - 1) // CHUNK * CHUNK
    start, cache = store.longest(ids[:boundary]) if store is not None else (0, None)
    if cache is None:
        cache = DynamicCache(config=model.config)
    device = model.device
    for begin in range(start, boundary, CHUNK):
        end = begin + CHUNK
        model(
            input_ids=torch.tensor([ids[begin:end]], device=device),
            attention_mask=torch.ones((1, end), dtype=torch.long, device=device),
            position_ids=torch.arange(begin, end, device=device).unsqueeze(0),
            use_cache=True,
            logits_to_keep=1,
            **{keyword: cache},
        )
    if store is not None and boundary > start:
        store.put(ids[:boundary], cache)
    return cache
