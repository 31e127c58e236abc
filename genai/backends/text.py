"""Text generation: one front end, two engines (transformers here, llama.cpp in llamacpp.py).

Reads top to bottom: pick the engine, check the prompt and parameters (genai.specs.text),
turn prompts into requests (chat messages where the model has a chat template), make
TextResults; then the transformers engine: load, generate (a padded batch), stream, count.
``LlamaCppGenerator`` overrides only the engine part. ``engine="auto"`` runs GGUF files
on llama.cpp and everything else on transformers.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..device import DEVICE_ENV, Placement, oom_guard, resolve_placement
from ..errors import GenerationCancelled, InvalidParameterError
from ..generator import Generator
from ..params import check_prompt, check_text, nearest
from ..results.text import TextResult
from ..seeding import resolve_seed, seeded
from ..specs.text import TEXT_SPEC, text_spec_for
from .text_stream import (
    Decoded,
    FirstTokenTimer,
    OnPiece,
    StopScanner,
    TextStream,
    cancel_criteria,
    piece_streamer,
)

Messages = list[dict[str, str]]
PromptLike = str | Messages

ENGINES = ("auto", "llama.cpp", "transformers")
ROLES = ("system", "user", "assistant")


def choose_engine(source, engine: str | None) -> str:
    """The engine for a source: llama.cpp for GGUF files unless transformers is asked for."""
    engine = engine or "auto"
    if engine not in ENGINES:
        guess = nearest(str(engine), ENGINES)
        hint = f"did you mean {guess}? " if guess else ""
        raise InvalidParameterError(
            f"engine={engine!r} is not known; {hint}use one of {', '.join(ENGINES)}"
        )
    is_gguf = source.kind == "file" and source.location.lower().endswith(".gguf")
    if engine == "llama.cpp" and not is_gguf:
        raise InvalidParameterError(
            f"engine='llama.cpp' runs GGUF files and {source.name!r} is not one; "
            "use engine='auto' or 'transformers'"
        )
    if engine == "auto":
        return "llama.cpp" if is_gguf else "transformers"
    return engine


@dataclass
class TextRequest:
    """One prompt made ready for an engine."""

    prompt: PromptLike  # as the caller gave it (results record it)
    messages: Messages | None  # the chat, for a model with a chat template
    text: str | None  # the plain input text otherwise


class TextGenerator(Generator):
    """A language model: causal or seq2seq on transformers, or a GGUF file on llama.cpp."""

    modality = "text"
    call_spec = TEXT_SPEC
    load_option_names = (
        "engine", "trust_remote_code", "max_memory", "offload_folder",  # transformers
        "threads", "n_ctx", "parallel", "dequantize", "chat",  # llama.cpp
    )  # fmt: skip
    engine = "transformers"

    def __new__(cls, source, family, task, placement, **options):
        if cls is TextGenerator:
            wanted = options.get("engine") or _entry_options(source).get("engine")
            if choose_engine(source, wanted) == "llama.cpp":
                from .llamacpp import LlamaCppGenerator

                cls = LlamaCppGenerator
        return super().__new__(cls)

    @classmethod
    def placement_for(cls, source, device, dtype, device_map, options: dict[str, Any]):
        """Where the model runs. llama.cpp on the CPU needs no torch (so none is imported:
        start-up stays short); everything else asks genai.device."""
        engine = options.get("engine") or _entry_options(source).get("engine")
        cpu = device in (None, "auto", "cpu") and device_map is None
        if cpu and choose_engine(source, engine) == "llama.cpp" and not os.environ.get(DEVICE_ENV):
            return Placement("cpu", "gguf", None, "llama.cpp runs the GGUF's own types on the CPU")
        return resolve_placement(device, dtype, device_map)

    def __init__(self, source, family, task, placement, **options: Any):
        super().__init__(source, family, task, placement, **options)
        self.load_options = {**_entry_options(source), **options}
        choose_engine(source, self.load_options.get("engine"))
        self.is_seq2seq = family == "seq2seq-lm"
        self.context_length: int | None = None
        self.vocab_size: int | None = None
        self.has_chat_template = False
        started = time.perf_counter()
        self._load()
        self.load_s = time.perf_counter() - started
        self._load_s_unreported = True
        self.call_spec = text_spec_for(self.vocab_size)

    def info(self) -> dict[str, Any]:
        record = super().info()
        record.update(
            context_length=self.context_length,
            chat_template=self.has_chat_template,
            load_s=round(self.load_s, 3),
        )
        return record

    # --- validation -----------------------------------------------------------------------

    def _settings(self, given: dict[str, Any]) -> dict[str, Any]:
        settings = self.settings(given)
        settings["stop"] = list(settings["stop"] or [])
        settings["seed"] = resolve_seed(settings["seed"])
        limit = self.context_length
        if limit and settings["max_new_tokens"] > limit:
            raise InvalidParameterError(
                f"max_new_tokens={settings['max_new_tokens']} is above this model's context of "
                f"{limit} tokens; lower it"
            )
        return settings

    @staticmethod
    def _check_prompt(prompt: Any) -> PromptLike:
        if isinstance(prompt, str):
            return check_prompt(prompt)
        if isinstance(prompt, list) and prompt and all(isinstance(m, dict) for m in prompt):
            for index, message in enumerate(prompt):
                if set(message) - {"role", "content"} or not {"role", "content"} <= set(message):
                    raise InvalidParameterError(
                        f"chat message {index} has keys {sorted(message)}; give exactly 'role' and 'content'"
                    )
                if message["role"] not in ROLES:
                    raise InvalidParameterError(
                        f"chat message {index} has role={message['role']!r}; use one of {', '.join(ROLES)}"
                    )
                check_text(message["content"], f"chat message {index}'s content")
            if not any(m["content"].strip() for m in prompt):
                raise InvalidParameterError("prompt is empty: every chat message has empty content")
            return prompt
        raise InvalidParameterError(
            "prompt must be a non-empty string or a list of chat messages "
            "({'role': 'user', 'content': ...})"
        )

    # --- requests and results ----------------------------------------------------------------

    def _request(self, prompt: PromptLike, system_prompt: str | None) -> TextRequest:
        """Chat messages for a model with a chat template (its own default system prompt
        applies when none is given); plain text otherwise."""
        messages = (
            [{"role": "user", "content": prompt}] if isinstance(prompt, str) else list(prompt)
        )
        if system_prompt and not any(m["role"] == "system" for m in messages):
            messages.insert(0, {"role": "system", "content": system_prompt})
        if self.has_chat_template:
            return TextRequest(prompt, messages, None)
        if isinstance(prompt, str) and not system_prompt:
            return TextRequest(prompt, None, prompt)
        # A model without a chat template sees the conversation as plain lines.
        lines = "\n".join(f"{m['role'].capitalize()}: {m['content']}" for m in messages)
        return TextRequest(prompt, None, lines + ("" if self.is_seq2seq else "\nAssistant:"))

    def _result(
        self, request: TextRequest, settings, decoded: Decoded, started: float, batch: int = 1
    ):
        elapsed = time.perf_counter() - started
        load_s, self._load_s_unreported = (self.load_s if self._load_s_unreported else 0.0), False
        timings = {"load_s": round(load_s, 4), "generate_s": round(elapsed, 4)}
        timings["total_s"] = round(load_s + elapsed, 4)
        first = decoded.first_token_at - started if decoded.first_token_at else None
        if first is not None:
            timings["first_token_s"] = round(first, 4)
        if batch > 1:
            timings["batch_size"] = batch
        return TextResult(
            **self.result_fields(),
            parameters=self.call_spec.record(settings),
            seed=settings["seed"],
            timings=timings,
            text=decoded.text,
            prompt=request.prompt,
            finish_reason=decoded.finish_reason,
            prompt_tokens=decoded.prompt_tokens,
            completion_tokens=decoded.completion_tokens,
            time_to_first_token=first,
            tokens_per_second=decoded.completion_tokens / elapsed if elapsed > 0 else None,
        )

    def __call__(
        self, prompt: PromptLike | list[PromptLike], **parameters: Any
    ) -> TextResult | list[TextResult]:
        """Generate from a prompt or chat messages; a list of prompts is decoded together.

        Parameters (genai.specs.text): max_new_tokens, temperature (0 = greedy), top_p,
        top_k, repetition_penalty, stop (string or list), seed, system_prompt.
        """
        batched = (
            isinstance(prompt, list)
            and bool(prompt)
            and not all(isinstance(p, dict) for p in prompt)
        )
        prompts = [self._check_prompt(p) for p in (prompt if batched else [prompt])]
        settings = self._settings(parameters)
        requests = [self._request(p, settings["system_prompt"]) for p in prompts]
        started = time.perf_counter()
        decoded = self._generate(requests, settings)
        results = [
            self._result(r, settings, d, started, len(requests))
            for r, d in zip(requests, decoded, strict=False)
        ]
        return results if batched else results[0]

    def stream(self, prompt: PromptLike, **parameters: Any) -> TextStream:
        """Text pieces as they are produced; joined, they equal a plain call's text."""
        self.check_loaded()
        prompt = self._check_prompt(prompt)
        settings = self._settings(parameters)
        request = self._request(prompt, settings["system_prompt"])
        return TextStream(
            lambda on_piece: self._stream(request, settings, on_piece),
            settings["stop"],
            lambda decoded, started: self._result(request, settings, decoded, started),
        )

    def count_tokens(self, prompt: PromptLike, system_prompt: str | None = None) -> int:
        """How many tokens the model reads for this prompt or chat (template included)."""
        return self._count(self._request(self._check_prompt(prompt), system_prompt))

    def _as_text(self, prompt: PromptLike, system_prompt: str | None) -> str:
        """Old name kept for app_support.fit_conversation until it calls count_tokens."""
        return self._input_text(self._request(prompt, system_prompt))

    # --- the transformers engine ---------------------------------------------------------------

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


def _entry_options(source) -> dict[str, Any]:
    return dict(source.entry.load_options) if source.entry is not None else {}
