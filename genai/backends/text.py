"""Text generation's front end, shared by both engines.

Reads top to bottom: check the prompt and parameters (genai.specs.text), turn prompts into
requests (chat messages where the model has a chat template), make TextResults. The engines
subclass TextGenerator and provide loading and decoding: transformers in text_transformers.py,
llama.cpp in llamacpp.py; text_engines.py picks one for a model (``engine="auto"``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidParameterError
from ..generator import Generator
from ..params import check_prompt, check_text, nearest
from ..results.text import TextResult
from ..seeding import resolve_seed
from ..specs.text import ENGINE_FEATURES, TEXT_SPEC, text_spec_for
from .text_stream import Decoded, OnPiece, TextStream

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
    engine = ""
    # The optional parameters of genai.specs.text.ENGINE_FEATURES this engine honours.
    features: frozenset[str] = frozenset()

    def __init__(self, source, family, task, placement, **options: Any):
        super().__init__(source, family, task, placement, **options)
        self.load_options = {**entry_options(source), **options}
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
        for name in ENGINE_FEATURES:
            value = settings.get(name)
            if value not in (None, False, 0, {}) and name not in self.features:
                raise InvalidParameterError(
                    f"{name}={value!r} is not supported by the {self.engine} engine of "
                    f"{self.name!r}; leave it out"
                )
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
            logprobs=decoded.logprobs,
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

    # --- what an engine provides ------------------------------------------------------------------

    def _load(self) -> None:
        """Load the model; set context_length, vocab_size and has_chat_template."""
        raise NotImplementedError

    def _generate(self, requests: list[TextRequest], settings: dict[str, Any]) -> list[Decoded]:
        """Decode every request (together where the engine can), stop strings applied."""
        raise NotImplementedError

    def _stream(self, request: TextRequest, settings: dict[str, Any], on_piece: OnPiece) -> Decoded:
        """Decode one request, handing each new piece of text to ``on_piece`` (True = stop)."""
        raise NotImplementedError

    def _count(self, request: TextRequest) -> int:
        """How many tokens the model reads for this request."""
        raise NotImplementedError


def entry_options(source) -> dict[str, Any]:
    return dict(source.entry.load_options) if source.entry is not None else {}
