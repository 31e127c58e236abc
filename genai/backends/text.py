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

from ..errors import InvalidParameterError, UnsupportedModelError
from ..generator import Generator
from ..params import check_prompt, check_text, nearest
from ..results.text import TextResult
from ..seeding import resolve_seed
from ..specs.text import ENGINE_FEATURES, TEXT_SPEC, text_spec_for
from .text_json import parse_answer
from .text_plan import Plan
from .text_stream import Decoded, OnPiece, TextStream
from .text_tools import ToolPlan, check_message, has_tool_turns, render_generic, with_system

Messages = list[dict[str, Any]]
PromptLike = str | Messages

ENGINES = ("auto", "llama.cpp", "transformers")
ROLES = ("system", "user", "assistant")
# Values of the engine features that ask for nothing (json_schema {} asks for any JSON value).
NEUTRAL = {"logprobs": (False,), "top_logprobs": (0,), "logit_bias": ({},)}
NEUTRAL.update(presence_penalty=(0, 0.0), frequency_penalty=(0, 0.0))


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
    text: str | None  # the plain input text otherwise (and for raw=True)
    # OpenAI's tools list, for an engine that renders them with the model's own chat
    # template (``template_tools``); None otherwise (the messages then describe them).
    tools: list[dict[str, Any]] | None = None


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
    # True when the engine renders ``request.tools`` with the model's chat template (the
    # template takes tools: text_tools.template_takes_tools); else tools are described in
    # a system message. Engines set it in _load.
    template_tools: bool = False

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
        """The checked parameters as the engine reads them (``json_schema`` the one to
        constrain to), with ``_plan`` (what the front end does) and ``_record`` (what the
        result records: the parameters as given, before tools became a schema)."""
        settings = self.settings(given)
        settings["stop"] = list(settings["stop"] or [])
        settings["seed"] = resolve_seed(settings["seed"])
        record = self.call_spec.record(settings)
        plan = Plan.of(settings, given)
        settings.update(json_schema=plan.engine_schema, _plan=plan, _record=record)
        if plan.tools is not None and plan.tools.active:
            # Stop strings end the reply's text, not the JSON the model answers in (_shape).
            settings.update(stop=[], _stop=settings["stop"])
        for name in ENGINE_FEATURES:
            value = settings.get(name)
            neutral = value is None or value in NEUTRAL.get(name, ())
            if not neutral and name not in self.features:
                raise self._unsupported(name, value, plan)
        if settings["top_logprobs"] and not settings["logprobs"]:
            raise InvalidParameterError(
                f"top_logprobs={settings['top_logprobs']} needs logprobs=True as well"
            )
        limit = self.context_length
        if limit and settings["max_new_tokens"] > limit:
            raise InvalidParameterError(
                f"max_new_tokens={settings['max_new_tokens']} is above this model's context of "
                f"{limit} tokens; lower it"
            )
        return settings

    def _unsupported(self, name: str, value: Any, plan: Plan) -> InvalidParameterError:
        if name != "json_schema":
            return InvalidParameterError(
                f"{name}={value!r} is not supported by the {self.engine} engine of "
                f"{self.name!r}; leave it out"
            )
        asked = "tools" if plan.tools is not None and plan.tools.active else "json_schema"
        if asked == "json_schema" and plan.schema is not None and plan.from_response_format:
            asked = "response_format"
        return InvalidParameterError(
            f"{asked}=... needs decoding constrained by a JSON Schema, which the {self.engine} "
            f"engine of {self.name!r} does not do; leave {asked} out"
        )

    @staticmethod
    def _check_prompt(prompt: Any) -> PromptLike:
        if isinstance(prompt, str):
            return check_prompt(prompt)
        if isinstance(prompt, list) and prompt and all(isinstance(m, dict) for m in prompt):
            for index, message in enumerate(prompt):
                if set(message) != {"role", "content"}:
                    check_message(index, message)  # tool calls and tool results
                    continue
                if message["role"] not in ROLES:
                    raise InvalidParameterError(
                        f"chat message {index} has role={message['role']!r}; use one of "
                        f"{', '.join(ROLES)} (or 'tool' with a tool_call_id)"
                    )
                check_text(message["content"], f"chat message {index}'s content")
            if not any((m.get("content") or "").strip() or m.get("tool_calls") for m in prompt):
                raise InvalidParameterError("prompt is empty: every chat message has empty content")
            return prompt
        raise InvalidParameterError(
            "prompt must be a non-empty string or a list of chat messages "
            "({'role': 'user', 'content': ...})"
        )

    # --- requests and results ----------------------------------------------------------------

    def _request(
        self, prompt: PromptLike, system_prompt: str | None, plan: Plan | None = None
    ) -> TextRequest:
        """Chat messages for a model with a chat template (its own default system prompt
        applies when none is given); plain text otherwise, and always for ``raw=True``."""
        plan = plan or Plan()
        if plan.raw:
            if not isinstance(prompt, str):
                raise InvalidParameterError(
                    "raw=True continues a string prompt as given; give a string, not chat messages"
                )
            return TextRequest(prompt, None, prompt)
        messages = (
            [{"role": "user", "content": prompt}] if isinstance(prompt, str) else list(prompt)
        )
        if system_prompt and not any(m["role"] == "system" for m in messages):
            messages.insert(0, {"role": "system", "content": system_prompt})
        tools = plan.tools
        through_template = self.has_chat_template and self.template_tools
        if tools is not None and tools.active and through_template:
            # The template lists the functions; the system message says how to answer.
            messages = with_system(messages, tools.system_text(listing=False))
            return TextRequest(prompt, messages, None, [f.as_tool() for f in tools.functions])
        if (tools is not None and tools.active) or (
            has_tool_turns(messages) and not through_template
        ):
            messages = render_generic(messages, tools or ToolPlan(None, None, None))
        if self.has_chat_template:
            return TextRequest(prompt, messages, None)
        if isinstance(prompt, str) and not system_prompt and not (tools and tools.active):
            return TextRequest(prompt, None, prompt)
        # A model without a chat template sees the conversation as plain lines.
        lines = "\n".join(f"{m['role'].capitalize()}: {m['content']}" for m in messages)
        return TextRequest(prompt, None, lines + ("" if self.is_seq2seq else "\nAssistant:"))

    def _shape(self, decoded: Decoded, settings: dict[str, Any]) -> tuple[str, Any, Any, str]:
        """(text, parsed, tool_calls, finish_reason) of an answer: tool calls or the JSON
        parsed and validated, per the call's plan; a typed error when it cannot be."""
        plan: Plan = settings["_plan"]
        if plan.tools is not None and plan.tools.active:
            text, calls = plan.tools.finish(decoded.text, decoded.finish_reason, settings)
            if calls:
                return "", None, calls, "tool_calls"
            found = [i for i in (text.find(s) for s in settings["_stop"]) if i >= 0]
            if found:
                return text[: min(found)], None, None, "stop"
            return text, None, None, decoded.finish_reason
        parsed = None
        if plan.schema is not None:
            parsed = parse_answer(decoded.text, plan.schema, decoded.finish_reason, settings)
        return decoded.text, parsed, None, decoded.finish_reason

    def _result(
        self,
        request: TextRequest,
        settings,
        decoded: Decoded,
        started: float,
        batch: int = 1,
        shaped: tuple[str, Any, Any, str] | None = None,
    ):
        text, parsed, tool_calls, finish_reason = shaped or self._shape(decoded, settings)
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
            parameters=settings["_record"],
            seed=settings["seed"],
            timings=timings,
            text=text,
            prompt=request.prompt,
            finish_reason=finish_reason,
            prompt_tokens=decoded.prompt_tokens,
            completion_tokens=decoded.completion_tokens,
            time_to_first_token=first,
            tokens_per_second=decoded.completion_tokens / elapsed if elapsed > 0 else None,
            parsed=parsed,
            tool_calls=tool_calls,
            logprobs=decoded.logprobs,
        )

    def __call__(
        self, prompt: PromptLike | list[PromptLike], **parameters: Any
    ) -> TextResult | list[TextResult]:
        """Generate from a prompt or chat messages; a list of prompts is decoded together.

        Parameters (genai.specs.text): max_new_tokens, temperature (0 = greedy), top_p,
        top_k, repetition_penalty, stop (string or list), seed, system_prompt; raw=True
        continues a string as given (no chat template); json_schema= or response_format=
        constrain the answer to JSON (``result.parsed``); tools= (with tool_choice,
        parallel_tool_calls) let the model call functions (``result.tool_calls``); logprobs,
        top_logprobs, presence_penalty, frequency_penalty and logit_bias where the engine
        honours them (``features``).
        """
        batched = (
            isinstance(prompt, list)
            and bool(prompt)
            and not all(isinstance(p, dict) for p in prompt)
        )
        prompts = [self._check_prompt(p) for p in (prompt if batched else [prompt])]
        settings = self._settings(parameters)
        plan = settings["_plan"]
        requests = [self._request(p, settings["system_prompt"], plan) for p in prompts]
        started = time.perf_counter()
        decoded = self._generate(requests, settings)
        results = [
            self._result(r, settings, d, started, len(requests))
            for r, d in zip(requests, decoded, strict=False)
        ]
        return results if batched else results[0]

    def stream(self, prompt: PromptLike, **parameters: Any) -> TextStream:
        """Text pieces as they are produced; joined, they equal a plain call's text.

        With tools the answer is known only once it is whole: the reply's text comes as one
        piece at the end (none when the model called functions: see ``.result.tool_calls``).
        """
        self.check_loaded()
        prompt = self._check_prompt(prompt)
        settings = self._settings(parameters)
        plan: Plan = settings["_plan"]
        request = self._request(prompt, settings["system_prompt"], plan)
        shaped: list[tuple[str, Any, Any, str]] = []

        def run(on_piece: OnPiece) -> Decoded:
            if plan.tools is None or not plan.tools.active:
                return self._stream(request, settings, on_piece)
            # Decode the whole answer (asking on_piece only whether to stop), then hand on
            # the reply's text.
            decoded = self._stream(request, settings, lambda piece: on_piece(""))
            shaped.append(self._shape(decoded, settings))
            if shaped[0][0]:
                on_piece(shaped[0][0])
            return decoded

        def finish(decoded: Decoded, started: float) -> TextResult:
            shape = shaped[0] if shaped else None
            return self._result(request, settings, decoded, started, shaped=shape)

        return TextStream(run, settings["stop"], finish)

    def count_tokens(
        self, prompt: PromptLike, system_prompt: str | None = None, *, raw: bool = False
    ) -> int:
        """How many tokens the model reads for this prompt or chat (template included;
        ``raw=True``: the string as given)."""
        request = self._request(self._check_prompt(prompt), system_prompt, Plan(raw=raw))
        return self._count(request)

    def embed(self, texts: list[str]) -> tuple[list[list[float]], int]:
        """One vector per text and the tokens read: engines that can make embeddings
        override this (llama.cpp); the others refuse here."""
        raise UnsupportedModelError(
            f"model {self.name!r} on the {self.engine} engine makes no embeddings; use a GGUF "
            "model on llama.cpp (such as smollm2-135m-gguf) for embeddings"
        )

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
