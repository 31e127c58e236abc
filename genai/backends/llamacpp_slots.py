"""The llama.cpp engine's slots: which slot a request goes to and what it may reuse there.

A slot keeps the tokens of its last request in its own part of the KV cache; a request that
starts with the same tokens reads only the rest (the next turn of a conversation reads its new
turn, not the whole history). A seeded or greedy request must still give the same text
whether or not its prefix came from the cache. Measured on xllamacpp's CPU build (SmolLM2 F16,
logprobs compared bit for bit), three things made a cached prefix change the answer:

1. ggml multiplies by the weights with llamafile's tinyBLAS kernels when a batch holds two or
   more tokens and with ggml's own dot products when it holds one; the two sum in different
   orders, and a token computed alone gets logprobs up to about 1e-2 away from the same token
   computed in a batch. Batches of 2 to 512 tokens give identical bits.
2. CPU flash attention switches to a tiled kernel at 64 queries, whose sums depend on the
   batch size (a turn read after its cached history got other bits than the same prompt read
   whole: 23 of 42 requests differed, SmolLM2 F16). On the CPU the engine reads prompts in
   batches of at most 63 tokens (``CPU_PROMPT_BATCH``), so the tiled kernel never runs and
   flash attention stays on (0 of the same 42 differed). With it off instead, 4 streams
   decoded 0.79 of llama.cpp's server's tokens/s, with it on 0.98; batches of 63 read a
   1,500-token prompt about a fifth slower than batches of 512, short ones as fast.
3. One KV cache shared by all slots (``kv_unified``) places a sequence's cells among the other
   slots' cells and the sums over cells then depend on where they lie. The engine gives each
   slot its own KV stream, so a sequence always lies at the same cells.

So the rule this module keeps: every cell a request reuses was written by reading a prompt in
a batch of two tokens or more. Cells written while decoding (one token per step) are cut off
before a later request could reuse them ("trim": a one-token request that ends the slot's
cache at its last prompt; a conversation past its first turn then reads its answer back as
prompt right away, in the background when no other request runs, so that its next turn reads
only the new message; an answer whose read-back would end with a token alone in its batch, as
a 64-token answer in batches of 63 does, is read back with one more character after it, which
the next turn does not reuse), and a request whose prompt would be read with a lone last token
where a fresh read would not (llama.cpp re-reads the last token of a fully cached prompt alone)
reads its prompt afresh instead: with batches of 63, about one new turn in 63 reads its whole
conversation again. Measured result: the same request alone, after a related request and in
the middle of a conversation gives identical logprobs and text.

What stays inexact: tokens decoded in the same step as another request's tokens take the
batch kernels (1.) - two callers at once on one model may each get other last bits than alone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import GenerationCancelled

# llama.cpp reads a prompt in batches of this many tokens (n_batch = n_ubatch): on the CPU
# fewer than 64, where flash attention's tiled kernel starts (2. above).
PROMPT_BATCH = 512
CPU_PROMPT_BATCH = 63
# Appended to a slot's last prompt to end its cache there (see trim_body); any text the model
# is unlikely to start an answer with.
_TRIM_TEXTS = ("\u2047", "\u2048")


def request_key(request: Any) -> str:
    """A request's prompt as one string: conversations that share turns share a prefix."""
    if request.messages is not None:
        return "".join(f"\x1e{m['role']}\x1f{m.get('content') or ''}" for m in request.messages)
    return "\x02" + request.text


def answer_key(request: Any, text: str) -> str:
    """What a request's answer adds to its key, as the next turn will send it."""
    return f"\x1eassistant\x1f{text}" if request.messages is not None else text


def common_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    if a[:n] == b[:n]:
        return n
    low, high = 0, n  # a[:low] == b[:low], a[:high] != b[:high]
    while high - low > 1:
        middle = (low + high) // 2
        if a[:middle] == b[:middle]:
            low = middle
        else:
            high = middle
    return low


def read_alone(tokens: int, batch: int) -> bool:
    """Whether reading ``tokens`` prompt tokens in batches of ``batch`` leaves the last one
    alone in its batch."""
    return tokens % batch == 1


def needs_fresh_read(total: int, cached: int, batch: int) -> bool:
    """Whether a prompt of ``total`` tokens with ``cached`` of them reused would be computed
    otherwise than read whole: its last token alone in one case and not in the other."""
    return cached > 0 and read_alone(total - cached, batch) != read_alone(total, batch)


@dataclass
class Slot:
    """One of llama.cpp's slots, as the pool knows it."""

    index: int
    batch: int = PROMPT_BATCH  # the engine's prompt batch
    busy: bool = False
    prompt_key: str = ""  # the prompt its last request read
    cached_key: str = ""  # that prompt and the answer decoded after it
    request: Any = None  # that last request, to trim after it
    decoded: bool = False  # holds cells written while decoding, after prompt_key
    fresh_next: bool = False  # holds a cell read alone: the next request reads afresh
    used: float = 0.0
    preparing: bool = False  # busy reading its last answer for the conversation's next turn

    def follows(self, key: str) -> bool:
        """Whether a request with this key continues what the slot last read."""
        return bool(self.prompt_key) and key.startswith(self.prompt_key)

    def plan(self, key: str, trims: bool) -> tuple[bool, bool]:
        """(reuse the cache, trim first) for a request with this key."""
        if self.fresh_next or (self.cached_key and self.cached_key.startswith(key)):
            return False, False  # all of it cached: llama.cpp would re-read its last token alone
        if self.decoded and common_prefix(key, self.cached_key) > len(self.prompt_key):
            return (True, True) if trims else (False, False)
        return True, False

    def read(
        self, request: Any, key: str, total: int, cached: int, answer: str, whole: bool
    ) -> None:
        """Note what a request left in the slot: its prompt (``whole``: all of it was read,
        else it was cancelled while reading) and the answer decoded after it."""
        self.request, self.prompt_key = request, key
        self.cached_key = key + answer_key(request, answer)
        self.decoded = True
        # A lone token can only have been read at the end of a prompt read to its end.
        self.fresh_next = whole and read_alone(total - cached, self.batch)

    def trimmed(self) -> None:
        self.cached_key, self.decoded = self.prompt_key, False

    def answer_read(self, answer: str, total: int, cached: int) -> None:
        """The answer was read back as prompt after its conversation (see prepare_body)."""
        self.prompt_key = self.cached_key = self.prompt_key + answer_key(self.request, answer)
        self.decoded, self.fresh_next = False, read_alone(total - cached, self.batch)

    def forget(self) -> None:
        """After an error: nothing known about the slot's cache, so nothing is reused."""
        self.prompt_key = self.cached_key = ""
        self.request, self.decoded, self.fresh_next = None, False, True


def continues(request: Any) -> bool:
    """A chat past its first turn: its next turn is likely, so its answer is read back ahead."""
    return request.messages is not None and any(m["role"] == "assistant" for m in request.messages)


def trim_text(slot: Slot) -> str:
    answer = slot.cached_key[len(slot.prompt_key) :]
    answer = answer.split("\x1f", 1)[-1]
    return next(t for t in _TRIM_TEXTS if not answer.startswith(t))


class SlotPool:
    """Hands out free slots, each request to the one holding the longest part of its prompt.

    A conversation's next turn goes back to its slot (the slot's last prompt is a prefix of
    it); a new conversation takes an empty slot, else the least recently used one. When every
    slot is busy the caller waits (llama.cpp decodes at most that many requests at once).
    """

    def __init__(self, count: int, batch: int = PROMPT_BATCH):
        self.batch = batch
        self.slots = [Slot(index, batch) for index in range(count)]
        self._changed = threading.Condition()

    def acquire(self, key: str, cancelled: Callable[[], bool]) -> Slot:
        with self._changed:
            while True:
                free = [slot for slot in self.slots if not slot.busy]
                # An answer being read back runs alone (a token decoded beside its tokens
                # would take the batch kernels): wait for it, a fraction of a second.
                if free and not any(slot.preparing for slot in self.slots):
                    break
                if cancelled():
                    raise GenerationCancelled("the text generation was cancelled")
                self._changed.wait(0.05)
            slot = self._choose(free, key)
            slot.busy = True
            return slot

    @staticmethod
    def _choose(free: list[Slot], key: str) -> Slot:
        shared = {slot.index: common_prefix(key, slot.cached_key) for slot in free}
        following = [s for s in free if s.follows(key)]
        if following:  # the next turn of the conversation a slot holds
            return max(following, key=lambda s: shared[s.index])
        empty = [slot for slot in free if not slot.cached_key]
        if empty:
            return empty[0]
        return max(free, key=lambda s: (shared[s.index], -s.used))

    def start_preparing(self, slot: Slot) -> bool:
        """Keep ``slot`` to read its answer back, if no other request is running now."""
        with self._changed:
            if any(other.busy for other in self.slots if other is not slot):
                return False
            slot.preparing = True
            return True

    def release(self, slot: Slot) -> None:
        with self._changed:
            slot.busy = slot.preparing = False
            slot.used = time.monotonic()
            self._changed.notify_all()

    def busy(self) -> int:
        with self._changed:
            return sum(slot.busy for slot in self.slots)
