"""Continuous batching for the transformers engine: concurrent callers share one decode loop.

:class:`ContinuousBatcher` runs transformers' own ``ContinuousBatchingManager`` (one background
thread, a paged KV cache; requests join and leave the running batch at every step) for one
model. Each request hands in its prompt ids and a TokenChooser; a router thread hands each
request's new tokens back to its caller, who streams, scans stop strings and cancels.

The loop decodes greedily and one genai logits processor (:class:`_ChooserSlot`) lets each
request's chooser pick its token (seeded sampling, penalties, logit_bias, a JSON grammar,
logprobs), so every request keeps its own parameters and seed inside a shared batch. The
manager runs without CUDA graphs or compilation: the choosers are Python.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import math
import queue
import threading
from collections.abc import Callable

from ..errors import GenaiError

logger = logging.getLogger("genai.text")

PAGE = 256  # transformers' default page size (tokens per cache block)
SLOT_KWARG = "genai_slot"


class BatchingFailed(GenaiError, RuntimeError):
    """The batching loop stopped; the request did not finish."""


def _chooser_slot_processor(choosers: dict[int, object]):
    """A continuous-batching logits processor: the rows of requests with a chooser get the
    chooser's token (logit 0, every other -inf); the others keep the model's logits (argmax)."""
    from transformers.generation.continuous_batching.cb_logits_processors import (
        ContinuousBatchingLogitsProcessor,
    )

    class _ChooserSlot(ContinuousBatchingLogitsProcessor):
        supported_kwargs = {SLOT_KWARG: int}
        ignored_kwargs = ()

        def fill_defaults(self, int32_tensor) -> None:
            int32_tensor.fill_(-1)

        def prepare_tensor_args(self, requests_with_new_token):
            import torch

            slots = [
                r.state.logit_processor_kwargs.get(SLOT_KWARG, -1) for r in requests_with_new_token
            ]
            return torch.tensor(slots, dtype=torch.int32)

        def __call__(self, scores, tensor_arg):
            slots = tensor_arg[: scores.size(0)].tolist()
            for row, slot in enumerate(slots):
                chooser = choosers.get(slot) if slot >= 0 else None
                if chooser is not None:
                    token = chooser.choose(scores[row])
                    scores[row] = -math.inf
                    scores[row, token] = 0.0
            return scores

    return _ChooserSlot()


def _config(cls, **wanted):
    """A transformers config dataclass with those of ``wanted`` this version knows."""
    known = {field.name for field in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in wanted.items() if k in known})


class ContinuousBatcher:
    """One model's continuous-batching loop, and the turns it takes with the plain path.

    The plain path and the loop never run forward passes at the same time: transformers'
    models are not safe for that (a forward briefly writes ``config.is_causal``, and earlier
    5.x versions switch the whole model to paged attention while a loop runs). So the loop
    runs only while it has requests: the first request that finds the plain path busy asks it
    to hand over (the plain request stops at its next token and continues in the loop, its
    chooser and stream intact), and the loop is stopped again once its last request ends.
    """

    def __init__(self, model, *, slots: int, tokens_per_slot: int, end_ids: list[int], pad_id):
        self.model = model
        self.slots = slots
        self.tokens_per_slot = tokens_per_slot
        self.end_ids = end_ids
        self.pad_id = pad_id
        self.manager = None
        self.steps = 0  # forward passes the loop made (tests count them)
        self.active = 0  # requests in the loop (or waiting to enter it)
        self._plain_busy = False
        self._handover: threading.Event | None = None
        self._turns = threading.Condition()
        self._ids = itertools.count()
        self._queues: dict[str, queue.Queue] = {}
        self._choosers: dict[int, object] = {}
        self._router: threading.Thread | None = None
        self._count_steps = model.register_forward_hook(self._step)

    # --- turns with the plain path ---------------------------------------------------------

    def try_plain(self, wait: bool = False) -> threading.Event | None:
        """Take the model for the plain path if nothing runs: the event set when a newcomer
        wants the loop; None when the model is busy (the request goes to the loop). With
        ``wait``, wait for the model to be free instead."""
        with self._turns:
            while wait and (self.active or self._plain_busy or self.manager is not None):
                self._turns.wait()
            if self.active or self._plain_busy or self.manager is not None:
                return None
            self._plain_busy = True
            self._handover = threading.Event()
            return self._handover

    def end_plain(self) -> None:
        with self._turns:
            self._plain_busy = False
            self._handover = None
            self._turns.notify_all()

    def _enter(self) -> None:
        with self._turns:
            self.active += 1
            if self._handover is not None:
                self._handover.set()
            while self._plain_busy:
                self._turns.wait()
            if self.manager is None:
                self._start()

    def _leave(self) -> None:
        with self._turns:
            self.active -= 1
            if self.active == 0:
                self._stop()
                self._turns.notify_all()

    # --- the loop ---------------------------------------------------------------------------

    def _start(self) -> None:
        import torch
        from transformers import GenerationConfig
        from transformers.generation.configuration_utils import ContinuousBatchingConfig
        from transformers.generation.continuous_batching.cb_logits_processors import (
            ContinuousBatchingLogitsProcessorList,
        )
        from transformers.generation.logits_process import LogitsProcessorList

        generation = GenerationConfig(
            do_sample=False,
            max_new_tokens=self.tokens_per_slot,
            eos_token_id=list(self.end_ids),
            pad_token_id=self.pad_id,
        )
        blocks = math.ceil(self.slots * self.tokens_per_slot / PAGE) + 1
        config = _config(
            ContinuousBatchingConfig,
            num_blocks=blocks,
            max_batch_tokens=512 if self.model.device.type == "cpu" else 2048,
            max_requests_per_batch=self.slots,
            use_cuda_graph=False,  # the choosers run Python on every step
            use_async_batching=False,
            auto_switch_to_flash=False,  # keep the model's attention as the plain path has it
        )
        manager = self.model.init_continuous_batching(
            generation_config=generation, continuous_batching_config=config
        )
        processors = ContinuousBatchingLogitsProcessorList(
            LogitsProcessorList([_chooser_slot_processor(self._choosers)]),
            per_request_processors=False,
            drop_unsupported_processors=False,
        )
        processors.tensors_required = 1  # one int32 row of arguments: each request's slot
        manager.logit_processor = processors
        with torch.inference_mode():
            manager.start()
        self.manager = manager
        self._router = threading.Thread(target=self._route, name="genai-cb-router", daemon=True)
        self._router.start()

    def _stop(self) -> None:
        manager, self.manager = self.manager, None
        if manager is not None:
            manager.stop(block=True, timeout=30)  # restores the model's attention
            manager.destroy()
            if self._router is not None:
                self._router.join(timeout=5)

    def _step(self, module, args, output) -> None:
        if threading.current_thread() is getattr(self.manager, "_generation_thread", None):
            self.steps += 1

    def _route(self) -> None:
        """Hand every output of the loop to the queue of the request it belongs to."""
        manager = self.manager
        while manager is self.manager:
            if not manager.is_running():
                for waiting in list(self._queues.values()):
                    waiting.put(BatchingFailed("the continuous-batching loop stopped"))
                return
            output = manager.get_result(timeout=0.1)
            if output is not None:
                waiting = self._queues.get(output.request_id)
                if waiting is not None:
                    waiting.put(output)

    def run(
        self,
        ids: list[int],
        max_new_tokens: int,
        chooser,
        on_tokens: Callable[[list[int]], bool],
        cancel: threading.Event | None,
    ) -> tuple[list[int], bool]:
        """Decode one request in the shared loop. ``on_tokens(all new tokens so far)`` answers
        True to stop it. Returns (the new tokens, whether it was stopped early)."""
        self._enter()
        try:
            return self._run(ids, max_new_tokens, chooser, on_tokens, cancel)
        finally:
            self._leave()

    def _run(self, ids, max_new_tokens, chooser, on_tokens, cancel) -> tuple[list[int], bool]:
        number = next(self._ids)
        request_id = f"genai-{number}"
        waiting: queue.Queue = queue.Queue()
        self._queues[request_id] = waiting
        extra = {}
        if not chooser.plain:
            self._choosers[number] = chooser
            extra[SLOT_KWARG] = number
        tokens: list[int] = []
        stopped = False
        try:
            self.manager.add_request(
                list(ids),
                request_id=request_id,
                max_new_tokens=max_new_tokens,
                streaming=True,
                eos_token_id=list(self.end_ids),
                **extra,
            )
            while True:
                try:
                    output = waiting.get(timeout=0.2)
                except queue.Empty:
                    if cancel is not None and cancel.is_set():
                        stopped = True
                        break
                    continue
                if isinstance(output, Exception):
                    raise output
                if output.error:
                    raise BatchingFailed(f"continuous batching failed: {output.error}")
                if len(output.generated_tokens) > len(tokens):
                    tokens = list(output.generated_tokens)
                    if on_tokens(tokens) or (cancel is not None and cancel.is_set()):
                        stopped = True
                        break
                if output.is_finished():
                    break
        finally:
            if stopped:
                self.manager.cancel_request(request_id)
            self._queues.pop(request_id, None)
            self._choosers.pop(number, None)
        return tokens, stopped

    def close(self) -> None:
        with self._turns:
            self._stop()
        self._count_steps.remove()


class IncrementalText:
    """New text as a request's tokens grow: decodes the tokens so far and hands out what is
    new, holding back an unfinished UTF-8 character."""

    def __init__(self, tokenizer, end_ids, already: list[int] = ()):
        self.tokenizer = tokenizer
        self.end_ids = set(end_ids)
        self.sent = tokenizer.decode(list(already), skip_special_tokens=True) if already else ""

    def feed(self, tokens: list[int]) -> str:
        for index, token in enumerate(tokens):
            if token in self.end_ids:
                tokens = tokens[:index]
                break
        text = self.tokenizer.decode(tokens, skip_special_tokens=True)
        if text.endswith("\ufffd") or not text.startswith(self.sent):
            return ""
        piece, self.sent = text[len(self.sent) :], text
        return piece


def decode_batched(
    generator, ids: list[int], settings, chooser, on_piece, already=(), first_at=None
):
    """One request of ``generator`` (a TransformersTextGenerator) on its batching loop: pieces
    to ``on_piece`` (True stops it), stop strings ended at once, cancel honoured. ``already``:
    the tokens it made on the plain path before it moved here (streamed already)."""
    import time

    from .text_stream import StopScanner

    already = list(already)
    scanner = StopScanner(settings["stop"])
    text = IncrementalText(generator.tokenizer, generator.end_ids, already)
    if already and on_piece is None:
        scanner.feed(text.sent)
    first_at = [first_at] if first_at else []

    def on_tokens(tokens: list[int]) -> bool:
        if not first_at:
            first_at.append(time.perf_counter())
        piece = text.feed(already + tokens)
        if not piece:
            return False
        if on_piece is not None:
            return bool(on_piece(piece))
        scanner.feed(piece)
        return scanner.stopped

    tokens, _ = generator.batcher.run(
        ids + already, settings["max_new_tokens"], chooser, on_tokens, settings.get("cancel")
    )
    start = first_at[0] if first_at and on_piece is None else None
    return generator._decoded(already + tokens, len(ids), settings, chooser, start, on_piece)
