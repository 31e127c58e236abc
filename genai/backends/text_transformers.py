"""The transformers text engine: causal and seq2seq models.

Reads top to bottom: load (tokenizer and model through transformers_util, then the KV-cache
kind, the continuous-batching loop and the prompt store), encode the requests, decode them,
turn new tokens into Decoded results.

Two decode loops share one model:
- the plain path, ``model.generate`` one request at a time: a static KV cache with
  transformers' compiled decode step on CUDA (warmed up at load); on the CPU a dynamic cache
  whose prompt prefix comes from the PrefixStore (text_hf_cache.py) when an earlier prompt
  began the same way;
- continuous batching (text_hf_batching.py): a request that arrives while the model is busy,
  and every prompt of a list, join transformers' shared decode loop instead of queueing.
Each request's token choice (seeded sampling, penalties, logit_bias, json_schema, logprobs)
is its own TokenChooser (text_hf_sampling.py) on either path.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..device import oom_guard
from ..errors import GenerationCancelled, InvalidParameterError
from ..specs.text import ENGINE_FEATURES
from .text import TextGenerator, TextRequest
from .text_hf_sampling import TokenChooser, TokenVocabulary, chooser_processor
from .text_hf_setup import choose_batching, choose_cache, static_kwargs
from .text_stream import (
    Decoded,
    FirstTokenTimer,
    OnPiece,
    StopScanner,
    cancel_criteria,
    piece_streamer,
)


class TransformersTextGenerator(TextGenerator):
    """A causal or seq2seq language model run by transformers."""

    engine = "transformers"
    features: frozenset[str] = frozenset(ENGINE_FEATURES)  # every one of them
    load_option_names = (*TextGenerator.load_option_names, "cache")

    def _model_class(self):
        from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM

        return AutoModelForSeq2SeqLM if self.is_seq2seq else AutoModelForCausalLM

    # --- load -------------------------------------------------------------------------------

    def _load(self) -> None:
        from transformers import AutoTokenizer

        from .text_gguf import transformers_folder
        from .transformers_util import load_pretrained

        location = self.source.location
        if self.source.kind == "file":
            location = str(transformers_folder(Path(location), self._model_class()))
        trust = bool(self.load_options.get("trust_remote_code", False))
        self.tokenizer, self.model = load_pretrained(
            self, AutoTokenizer, self._model_class(), location, trust_remote_code=trust
        )
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        if not self.is_seq2seq:
            self.tokenizer.padding_side = "left"  # batched decoding needs the prompts right-aligned
        self.context_length = self._context_length()
        self.vocab_size = getattr(self.model.config, "vocab_size", None)
        self.has_chat_template = bool(getattr(self.tokenizer, "chat_template", None))
        self.end_ids = self._end_ids()
        self.vocab = TokenVocabulary(self.tokenizer, set(self.end_ids))
        self._grammars = None
        self._lock = threading.Lock()  # one plain-path generate() at a time on this model
        self._worker = None  # CUDA static cache: every compiled decode on one thread
        choose_cache(self)
        choose_batching(self)

    def _end_ids(self) -> list[int]:
        ids = self.model.generation_config.eos_token_id
        ids = list(ids) if isinstance(ids, (list, tuple)) else [ids]
        ids.append(self.tokenizer.eos_token_id)
        return sorted({i for i in ids if i is not None})

    def _context_length(self) -> int | None:
        config = self.model.config
        for attribute in ("max_position_embeddings", "n_positions", "n_ctx", "max_sequence_length"):
            value = getattr(config, attribute, None)
            if isinstance(value, int) and value > 0:
                return value
        limit = getattr(self.tokenizer, "model_max_length", None)
        return limit if isinstance(limit, int) and limit < 1_000_000 else None

    def _on_worker(self, work, *args):
        if self._worker is None:
            return work(*args)
        return self._worker.submit(work, *args).result()

    def info(self) -> dict[str, Any]:
        record = super().info()
        record.update(
            cache=self.cache_kind, cache_reason=self.cache_reason, slots=self.slots,
            batching=self.batching_reason, engine_reason=getattr(self, "engine_reason", ""),
        )  # fmt: skip
        return record

    def _release(self) -> None:
        if getattr(self, "batcher", None) is not None:
            self.batcher.close()
        if getattr(self, "_worker", None) is not None:
            self._worker.shutdown(wait=True)
        self.batcher = self._worker = self.prefix_store = None
        self.model = None
        self.tokenizer = None

    # --- requests -------------------------------------------------------------------------------

    def _input_text(self, request: TextRequest) -> str:
        if request.messages is None:
            return request.text
        return self.tokenizer.apply_chat_template(
            request.messages, add_generation_prompt=True, tokenize=False
        )

    def _ids(self, request: TextRequest) -> list[int]:
        add_special = not self.has_chat_template  # the template already holds the special tokens
        return list(
            self.tokenizer(self._input_text(request), add_special_tokens=add_special)["input_ids"]
        )

    def _count(self, request: TextRequest) -> int:
        return len(self._ids(request))

    def _check_length(self, length: int, max_new_tokens: int) -> None:
        if length == 0:
            raise InvalidParameterError("prompt is empty after tokenization")
        if (
            not self.is_seq2seq
            and self.context_length
            and length + max_new_tokens > self.context_length
        ):
            raise InvalidParameterError(
                f"prompt ({length} tokens) plus max_new_tokens={max_new_tokens} exceeds this model's "
                f"context of {self.context_length} tokens; shorten the prompt or lower max_new_tokens"
            )

    def _chooser(self, settings, ids: list[int], offset: int = 0) -> TokenChooser:
        grammar = None
        if settings.get("json_schema") is not None:
            from .text_hf_grammar import GrammarCompiler

            if self._grammars is None:
                vocab = self.model.get_output_embeddings().weight.shape[0]
                self._grammars = GrammarCompiler(self.tokenizer, vocab, self.end_ids, self.vocab)
            grammar = self._grammars.matcher(self._grammars.compile(settings["json_schema"]))
        if offset:  # prompt i of a list draws with seed + i, as image i of a batch does
            settings = {**settings, "seed": settings["seed"] + offset}
        return TokenChooser(settings, ids, self.vocab, grammar)

    # --- decoding ---------------------------------------------------------------------------------

    def _generate(self, requests: list[TextRequest], settings) -> list[Decoded]:
        cancel = settings.get("cancel")
        if len(requests) > 1 and self._batchable(requests, settings):
            with ThreadPoolExecutor(len(requests), thread_name_prefix="genai-text-list") as pool:
                futures = [
                    pool.submit(self._decode_one, request, settings, None, index, True)
                    for index, request in enumerate(requests)
                ]
                decoded = [future.result() for future in futures]
        elif len(requests) == 1:
            decoded = [self._decode_one(requests[0], settings, None)]
        else:
            decoded = self._generate_padded(requests, settings)
        if cancel is not None and cancel.is_set():
            raise GenerationCancelled("the text generation was cancelled")
        return decoded

    def _stream(self, request: TextRequest, settings, on_piece: OnPiece) -> Decoded:
        return self._decode_one(request, settings, on_piece)

    def _batchable(self, requests, settings) -> bool:
        if self.batcher is None:
            return False
        longest = max(len(self._ids(r)) for r in requests) + settings["max_new_tokens"]
        return longest <= self.batcher.tokens_per_slot

    def _decode_one(
        self, request, settings, on_piece: OnPiece | None, index: int = 0, listed: bool = False
    ) -> Decoded:
        """One request: on the plain path when the model is idle, in the continuous-batching
        loop when it is busy (a plain request then moves there too) and for lists."""
        from .text_hf_batching import decode_batched

        if self.is_seq2seq:
            return self._generate_padded([request], settings, on_piece)[0]
        ids = self._ids(request)
        self._check_length(len(ids), settings["max_new_tokens"])
        chooser = self._chooser(settings, ids, index)
        if self.batcher is None:
            with self._lock:
                return self._on_worker(self._decode_plain, ids, settings, chooser, on_piece, None)[
                    0
                ]
        fits = len(ids) + settings["max_new_tokens"] <= self.batcher.tokens_per_slot
        handover = None if listed and fits else self.batcher.try_plain(wait=not fits)
        if handover is None:
            return decode_batched(self, ids, settings, chooser, on_piece)
        try:
            with self._lock:
                plain = (ids, settings, chooser, on_piece, handover if fits else None)
                decoded, new, first_at = self._on_worker(self._decode_plain, *plain)
        finally:
            self.batcher.end_plain()
        if decoded is not None:
            return decoded
        rest = {**settings, "max_new_tokens": settings["max_new_tokens"] - len(new)}
        return decode_batched(self, ids, rest, chooser, on_piece, already=new, first_at=first_at)

    def _decode_plain(self, ids, settings, chooser: TokenChooser, on_piece, handover):
        """generate() for one request: (Decoded, new ids, first token time), or (None, ...)
        when ``handover`` was set before it finished (it continues in the batching loop)."""
        import torch

        from .text_hf_cache import prefill

        device = self.placement.device
        encoded = {
            "input_ids": torch.tensor([ids], device=device),
            "attention_mask": torch.ones((1, len(ids)), dtype=torch.long, device=device),
        }
        cancel = threading.Event()
        outer = settings.get("cancel")
        kwargs = self._generate_kwargs(settings, [chooser], cancel, outer, handover)
        with self._guard(), torch.inference_mode():
            if self.cache_kind == "static":
                kwargs.update(static_kwargs(self))
            else:
                kwargs[self.cache_keyword] = prefill(
                    self.model, ids, self.prefix_store, self.cache_keyword
                )
            streamer = (
                piece_streamer(self.tokenizer, on_piece, cancel) if on_piece else FirstTokenTimer()
            )
            output = self.model.generate(**encoded, **kwargs, streamer=streamer)
        first_at = None if on_piece else streamer.first_at
        new = output[0, len(ids) :].tolist()
        decoded = self._decoded(new, len(ids), settings, chooser, first_at, on_piece)
        stopped = cancel.is_set() or (outer is not None and outer.is_set())
        unfinished = decoded.finish_reason == "length" and len(new) < settings["max_new_tokens"]
        if handover is not None and handover.is_set() and unfinished and not stopped:
            return None, new, first_at
        return decoded, new, first_at

    def _generate_kwargs(self, settings, choosers, cancel, outer, handover=None) -> dict[str, Any]:
        from transformers import LogitsProcessorList, StoppingCriteriaList

        kwargs: dict[str, Any] = {"max_new_tokens": settings["max_new_tokens"], "do_sample": False}
        kwargs.update(
            temperature=None, top_p=None, top_k=None, pad_token_id=self.tokenizer.pad_token_id
        )
        if not all(c.plain for c in choosers):
            kwargs["logits_processor"] = LogitsProcessorList([chooser_processor(choosers)])
        if settings["stop"]:
            kwargs.update(stop_strings=settings["stop"], tokenizer=self.tokenizer)
        events = [e for e in (cancel, outer, handover) if e is not None]
        kwargs["stopping_criteria"] = StoppingCriteriaList([cancel_criteria(e) for e in events])
        return kwargs

    def _guard(self):
        advice = "lower max_new_tokens or the batch size, or load with device_map='auto'"
        return oom_guard(f"generating with {self.name!r}", self.placement.device, advice)

    def _generate_padded(
        self, requests, settings, on_piece: OnPiece | None = None
    ) -> list[Decoded]:
        """generate() over a padded batch: seq2seq models, and lists the batching loop cannot take."""
        import torch

        texts = [self._input_text(r) for r in requests]
        encoded = self.tokenizer(
            texts, return_tensors="pt", padding=True, add_special_tokens=not self.has_chat_template
        )
        self._check_length(encoded["input_ids"].shape[1], settings["max_new_tokens"])
        encoded = encoded.to(self.placement.device)
        rows = [
            ids[mask.bool()].tolist()
            for ids, mask in zip(encoded["input_ids"], encoded["attention_mask"], strict=True)
        ]
        choosers = [self._chooser(settings, ids, i) for i, ids in enumerate(rows)]
        cancel = threading.Event()
        kwargs = self._generate_kwargs(settings, choosers, cancel, settings.get("cancel"))
        streamer = (
            piece_streamer(self.tokenizer, on_piece, cancel) if on_piece else FirstTokenTimer()
        )
        turn = self.batcher.try_plain(wait=True) if self.batcher is not None else None
        try:
            with self._lock, self._guard(), torch.inference_mode():
                output = self.model.generate(**encoded, **kwargs, streamer=streamer)
        finally:
            if turn is not None:
                self.batcher.end_plain()
        start = 0 if self.is_seq2seq else encoded["input_ids"].shape[1]
        first_at = None if on_piece else streamer.first_at
        decoded = []
        for row, chooser in enumerate(choosers):
            new = output[row, start:].tolist()[
                1 if self.is_seq2seq else 0 :
            ]  # seq2seq: the start token
            decoded.append(
                self._decoded(new, len(rows[row]), settings, chooser, first_at, on_piece)
            )
        return decoded

    def _decoded(
        self, new, prompt_tokens, settings, chooser, first_at, on_piece=None, stopped=False
    ) -> Decoded:
        """Decoded from new token ids: cut after the first end token (batch padding follows it)."""
        count, reason = len(new), "length"
        for index, token in enumerate(new):
            if token in self.vocab.end_ids:
                count, reason = index + 1, "eos"
                break
        if stopped:
            reason = "stop"
        text = self.tokenizer.decode(new[:count], skip_special_tokens=True)
        logprobs = chooser.logprobs[:count] if chooser.want_logprobs else None
        decoded = Decoded("", reason, prompt_tokens, count, first_at, logprobs)
        if on_piece is not None:  # the stream's own scanner cuts at stop strings
            decoded.text = text
            return decoded
        scanner = StopScanner(settings["stop"])
        scanner.feed(text)
        return scanner.apply(decoded)
