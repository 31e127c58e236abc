"""The transformers text engine: causal and seq2seq models, a padded batch per call.

Reads top to bottom: load (tokenizer and model through transformers_util), encode the
requests (the chat template where the model has one), generate (seeded, cancellable,
one call at a time on a model), decode the new tokens into Decoded results, stream.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from ..device import oom_guard
from ..errors import GenerationCancelled, InvalidParameterError
from ..seeding import seeded
from .text import TextGenerator, TextRequest
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
    features: frozenset[str] = frozenset()  # of genai.specs.text.ENGINE_FEATURES

    def _model_class(self):
        from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM

        return AutoModelForSeq2SeqLM if self.is_seq2seq else AutoModelForCausalLM

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
        self._lock = threading.Lock()  # one generate() at a time on this model

    def _context_length(self) -> int | None:
        config = self.model.config
        for attribute in ("max_position_embeddings", "n_positions", "n_ctx", "max_sequence_length"):
            value = getattr(config, attribute, None)
            if isinstance(value, int) and value > 0:
                return value
        limit = getattr(self.tokenizer, "model_max_length", None)
        return limit if isinstance(limit, int) and limit < 1_000_000 else None

    def _release(self) -> None:
        self.model = None
        self.tokenizer = None

    def _input_text(self, request: TextRequest) -> str:
        if request.messages is None:
            return request.text
        return self.tokenizer.apply_chat_template(
            request.messages, add_generation_prompt=True, tokenize=False
        )

    def _encode(self, requests: list[TextRequest], max_new_tokens: int):
        texts = [self._input_text(r) for r in requests]
        add_special = not self.has_chat_template  # the template already holds the special tokens
        encoded = self.tokenizer(
            texts, return_tensors="pt", padding=True, add_special_tokens=add_special
        )
        length = encoded["input_ids"].shape[1]
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
        # With a device map the first layers sit on the placement's device (offloaded ones on "meta").
        return encoded.to(self.placement.device)

    def _count(self, request: TextRequest) -> int:
        add_special = not self.has_chat_template
        return len(
            self.tokenizer(self._input_text(request), add_special_tokens=add_special)["input_ids"]
        )

    def _run_generate(self, encoded, settings, streamer, cancel: threading.Event | None = None):
        import torch
        from transformers import StoppingCriteriaList

        kwargs: dict[str, Any] = {"max_new_tokens": settings["max_new_tokens"]}
        kwargs["repetition_penalty"] = settings["repetition_penalty"]
        if settings["temperature"] == 0:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        else:
            kwargs.update(do_sample=True, temperature=settings["temperature"])
            kwargs.update(top_p=settings["top_p"], top_k=settings["top_k"])
        if settings["stop"]:
            kwargs.update(stop_strings=settings["stop"], tokenizer=self.tokenizer)
        if cancel is not None:
            kwargs["stopping_criteria"] = StoppingCriteriaList([cancel_criteria(cancel)])
        advice = "lower max_new_tokens or the batch size, or load with device_map='auto'"
        with (
            self._lock,
            oom_guard(f"generating with {self.name!r}", self.placement.device, advice),
            seeded(settings["seed"], self.placement.device),
            torch.inference_mode(),
        ):
            return self.model.generate(
                **encoded, **kwargs, streamer=streamer, pad_token_id=self.tokenizer.pad_token_id
            )

    def _decoded(self, encoded, output, row: int, stop: list[str], first_at) -> Decoded:
        new_tokens = output[row, 0 if self.is_seq2seq else encoded["input_ids"].shape[1] :]
        if self.is_seq2seq:
            new_tokens = new_tokens[1:]  # the decoder start token
        eos_ids = self.model.generation_config.eos_token_id
        eos_ids = set(eos_ids if isinstance(eos_ids, list) else [eos_ids]) - {None}
        ids = new_tokens.tolist()
        count, reason = len(ids), "length"
        for index, token in enumerate(ids):  # what follows the first eos is batch padding
            if token in eos_ids:
                count, reason = index + 1, "eos"
                break
        scanner = StopScanner(stop)
        scanner.feed(self.tokenizer.decode(new_tokens, skip_special_tokens=True))
        decoded = Decoded("", reason, int(encoded["attention_mask"][row].sum()), count, first_at)
        return scanner.apply(decoded)

    def _generate(self, requests: list[TextRequest], settings) -> list[Decoded]:
        encoded = self._encode(requests, settings["max_new_tokens"])
        timer = FirstTokenTimer()
        cancel = settings.get("cancel")
        output = self._run_generate(encoded, settings, timer, cancel)
        if cancel is not None and cancel.is_set():
            raise GenerationCancelled("the text generation was cancelled")
        return [
            self._decoded(encoded, output, row, settings["stop"], timer.first_at)
            for row in range(len(requests))
        ]

    def _stream(self, request: TextRequest, settings, on_piece: OnPiece) -> Decoded:
        encoded = self._encode([request], settings["max_new_tokens"])
        cancel = threading.Event()
        output = self._run_generate(
            encoded, settings, piece_streamer(self.tokenizer, on_piece, cancel), cancel
        )
        return self._decoded(encoded, output, 0, [], None)
