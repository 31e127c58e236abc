"""Text generation with transformers: causal and seq2seq LMs, hub, folder or GGUF file.

Reads top to bottom: load (with a converted-GGUF cache), validate, build inputs (chat
template), generate (plain, batched or streamed), then turn token ids into TextResults.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidParameterError, ModelNotAvailableError
from ..generator import Generator
from ..hub import hub_errors, local_files_only
from ..params import check_float, check_int, check_prompt
from ..paths import cache_dir
from ..results.text import TextResult
from ..seeding import GLOBAL_RNG_LOCK, resolve_seed

logger = logging.getLogger("genai.text")

Messages = list[dict[str, str]]
PromptLike = str | Messages

_SAMPLING_KEYS = ("max_new_tokens", "temperature", "top_p", "top_k", "repetition_penalty")
_FALLBACK_DEFAULTS = {
    "max_new_tokens": 128,
    "temperature": 0.7,
    "top_p": 0.95,
    "top_k": 50,
    "repetition_penalty": 1.0,
}


@dataclass
class _Settings:
    """Checked generation settings for one call."""

    max_new_tokens: int
    temperature: float
    top_p: float
    top_k: int
    repetition_penalty: float
    stop: list[str]
    seed: int
    system_prompt: str | None

    def as_parameters(self) -> dict[str, Any]:
        return {
            "max_new_tokens": self.max_new_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "top_k": self.top_k,
            "repetition_penalty": self.repetition_penalty,
            "stop": self.stop,
            "system_prompt": self.system_prompt,
        }

    def generate_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "max_new_tokens": self.max_new_tokens,
            "repetition_penalty": self.repetition_penalty,
        }
        if self.temperature == 0:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        else:
            kwargs.update(
                do_sample=True, temperature=self.temperature, top_p=self.top_p, top_k=self.top_k
            )
        return kwargs


class _TimingStreamer:
    """Notes when the first new token arrives (transformers calls put() once per step)."""

    def __init__(self) -> None:
        self._skip = True  # generate() first puts the prompt (or the decoder start token)
        self.first_token_at: float | None = None

    def put(self, value) -> None:
        if self._skip:
            self._skip = False
            return
        if self.first_token_at is None:
            self.first_token_at = time.perf_counter()

    def end(self) -> None:
        pass


def _CancelCriteria(event: threading.Event):
    """A transformers stopping criterion that ends generation once ``event`` is set."""
    import torch
    from transformers import StoppingCriteria

    class CancelCriteria(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            return torch.full(
                (input_ids.shape[0],), event.is_set(), dtype=torch.bool, device=input_ids.device
            )

    return CancelCriteria()


class TextStream:
    """Iterate to get text pieces as they are produced; ``.result`` holds the TextResult after.

    ``close()`` (or leaving a ``for`` loop over it and dropping it) stops the generation.
    """

    def __init__(self, pieces: Iterator[str]):
        self._pieces = pieces
        self.result: TextResult | None = None

    def __iter__(self) -> Iterator[str]:
        yield from self._pieces

    def close(self) -> None:
        """Stop generating now; no result is recorded."""
        self._pieces.close()

    def text(self) -> str:
        """Consume the rest of the stream and return the whole text."""
        for _ in self:
            pass
        assert self.result is not None
        return self.result.text


def _gguf_cache_folder(path: Path) -> Path:
    """Where the converted copy of a GGUF file lives: keyed by path, size and mtime."""
    stat = path.stat()
    key = hashlib.sha256(
        f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()
    ).hexdigest()[:16]
    return cache_dir() / "gguf" / f"{path.stem}-{key}"


class TextGenerator(Generator):
    """A causal or seq2seq language model from transformers."""

    modality = "text"

    def __init__(
        self, source, family, task, placement, *, trust_remote_code: bool = False, **options: Any
    ):
        super().__init__(source, family, task, placement, **options)
        self.is_seq2seq = family == "seq2seq-lm"
        started = time.perf_counter()
        self.model, self.tokenizer = self._load(trust_remote_code)
        self.load_seconds = time.perf_counter() - started
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        if not self.is_seq2seq:
            self.tokenizer.padding_side = "left"  # batched decoding needs the prompts right-aligned
        self.context_length = self._context_length()
        self.has_chat_template = bool(getattr(self.tokenizer, "chat_template", None))
        self._lock = threading.Lock()  # one generate() at a time on this model

    # --- loading --------------------------------------------------------------------------

    def _model_class(self):
        from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM

        return AutoModelForSeq2SeqLM if self.is_seq2seq else AutoModelForCausalLM

    def _load(self, trust_remote_code: bool):
        from transformers import AutoTokenizer

        common: dict[str, Any] = {"trust_remote_code": trust_remote_code}
        location = self.source.location
        if self.source.kind == "file":
            location = str(self._gguf_as_folder(Path(self.source.location)))
        elif self.source.kind == "hub":
            common["local_files_only"] = local_files_only()
        model_kwargs: dict[str, Any] = {"dtype": self.placement.dtype}
        if self.placement.device_map is not None:
            # accelerate spreads the layers over GPUs, CPU and disk within these limits.
            model_kwargs["device_map"] = self.placement.device_map
            for option in ("max_memory", "offload_folder"):
                if option in self.options:
                    model_kwargs[option] = self.options[option]
        with hub_errors(self.source.name):
            tokenizer = AutoTokenizer.from_pretrained(location, **common)
            model = self._model_class().from_pretrained(location, **common, **model_kwargs)
        if self.placement.device_map is None:
            model = model.to(self.placement.device)
        model.eval()
        return model, tokenizer

    def _gguf_as_folder(self, path: Path) -> Path:
        """Convert a GGUF file once and keep the result: transformers de-quantizes it on every load."""
        if path.suffix != ".gguf":
            raise ModelNotAvailableError(
                f"{path} is not a .gguf file; text models load from GGUF files or folders"
            )
        folder = _gguf_cache_folder(path)
        if (folder / "config.json").is_file():
            return folder
        from transformers import AutoTokenizer

        logger.warning("converting %s for transformers (once; cached in %s)", path.name, folder)
        tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
        model = self._model_class().from_pretrained(str(path.parent), gguf_file=path.name)
        # The weights are de-quantized by now; drop the GGUF quantizer so they save as plain safetensors.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        partial = folder.with_name(folder.name + ".partial")
        model.save_pretrained(partial, safe_serialization=True)
        tokenizer.save_pretrained(partial)
        partial.replace(folder)  # a folder appears whole or not at all
        return folder

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

    def info(self) -> dict[str, Any]:
        record = super().info()
        record.update(
            {
                "context_length": self.context_length,
                "chat_template": self.has_chat_template,
                "load_seconds": round(self.load_seconds, 2),
            }
        )
        return record

    # --- validation -----------------------------------------------------------------------

    def _settings(self, parameters: dict[str, Any]) -> _Settings:
        unknown = set(parameters) - {*_SAMPLING_KEYS, "stop", "seed", "system_prompt"}
        if unknown:
            raise InvalidParameterError(
                f"unknown text parameter(s) {', '.join(sorted(unknown))}; text models take "
                f"{', '.join(_SAMPLING_KEYS)}, stop, seed, system_prompt"
            )
        merged = {**_FALLBACK_DEFAULTS, **self.defaults}
        merged.update({k: v for k, v in parameters.items() if v is not None})
        limit = self.context_length
        max_new_tokens = check_int(
            "max_new_tokens",
            merged["max_new_tokens"],
            low=1,
            high=limit,
            fix=f"this model's context holds {limit} tokens" if limit else "",
        )
        temperature = check_float(
            "temperature", merged["temperature"], low=0.0, fix="use 0 for greedy decoding"
        )
        top_p = check_float(
            "top_p",
            merged["top_p"],
            low=0.0,
            low_open=True,
            high=1.0,
            fix="top_p must be in (0, 1]",
        )
        top_k = check_int("top_k", merged["top_k"], low=0, fix="use 0 to turn top-k off")
        repetition_penalty = check_float(
            "repetition_penalty",
            merged["repetition_penalty"],
            low=0.0,
            low_open=True,
            fix="1.0 means no penalty",
        )
        stop = merged.get("stop") or []
        if isinstance(stop, str):
            stop = [stop]
        if not all(isinstance(s, str) and s for s in stop):
            raise InvalidParameterError(
                f"stop={stop!r} must be a non-empty string or a list of them"
            )
        system_prompt = merged.get("system_prompt")
        if system_prompt is not None and not isinstance(system_prompt, str):
            raise InvalidParameterError("system_prompt must be a string")
        return _Settings(
            max_new_tokens,
            temperature,
            top_p,
            top_k,
            repetition_penalty,
            list(stop),
            resolve_seed(parameters.get("seed")),
            system_prompt,
        )

    @staticmethod
    def _check_prompt(prompt: Any) -> PromptLike:
        if isinstance(prompt, str):
            return check_prompt(prompt)
        if isinstance(prompt, list) and prompt and all(isinstance(m, dict) for m in prompt):
            for message in prompt:
                if not {"role", "content"} <= set(message):
                    raise InvalidParameterError(
                        f"chat message {message!r} needs 'role' and 'content' keys"
                    )
            if not any(str(m["content"]).strip() for m in prompt):
                raise InvalidParameterError("prompt is empty: every chat message has empty content")
            return prompt
        raise InvalidParameterError(
            "prompt must be a non-empty string or a list of chat messages ({'role': ..., 'content': ...})"
        )

    # --- inputs ---------------------------------------------------------------------------

    def _as_text(self, prompt: PromptLike, system_prompt: str | None) -> str:
        """The model's input text: the chat template where the model has one."""
        messages = (
            [{"role": "user", "content": prompt}] if isinstance(prompt, str) else list(prompt)
        )
        if system_prompt and not any(m["role"] == "system" for m in messages):
            messages.insert(0, {"role": "system", "content": system_prompt})
        if self.has_chat_template:
            return self.tokenizer.apply_chat_template(
                messages, add_generation_prompt=True, tokenize=False
            )
        if isinstance(prompt, str) and not system_prompt:
            return prompt
        # A model without a chat template sees the conversation as plain lines.
        lines = [f"{m['role'].capitalize()}: {m['content']}" for m in messages]
        return "\n".join(lines) + ("" if self.is_seq2seq else "\nAssistant:")

    def _encode(self, texts: list[str]):
        add_special = not self.has_chat_template  # the template already holds the special tokens
        encoded = self.tokenizer(
            texts, return_tensors="pt", padding=True, add_special_tokens=add_special
        )
        if encoded["input_ids"].shape[1] == 0:
            raise InvalidParameterError("prompt is empty after tokenization")
        # With a device map the first layers sit on the placement's device (offloaded ones on "meta").
        return encoded.to(self.placement.device)

    # --- generation -----------------------------------------------------------------------

    def _generate(
        self, encoded, settings: _Settings, streamer, cancel: threading.Event | None = None
    ) -> Any:
        import torch
        from transformers import StoppingCriteriaList, set_seed

        prompt_length = encoded["input_ids"].shape[1]
        if (
            not self.is_seq2seq
            and self.context_length
            and prompt_length + settings.max_new_tokens > self.context_length
        ):
            raise InvalidParameterError(
                f"prompt ({prompt_length} tokens) plus max_new_tokens={settings.max_new_tokens} exceeds "
                f"this model's context of {self.context_length} tokens; shorten the prompt or lower max_new_tokens"
            )
        kwargs = settings.generate_kwargs()
        if settings.stop:
            kwargs.update(stop_strings=settings.stop, tokenizer=self.tokenizer)
        if cancel is not None:
            kwargs["stopping_criteria"] = StoppingCriteriaList([_CancelCriteria(cancel)])
        try:
            with GLOBAL_RNG_LOCK, torch.inference_mode():
                set_seed(settings.seed)
                return self.model.generate(
                    **encoded, **kwargs, streamer=streamer, pad_token_id=self.tokenizer.pad_token_id
                )
        except torch.OutOfMemoryError as error:
            from ..errors import GenaiMemoryError

            raise GenaiMemoryError(
                f"out of memory generating with {self.name!r} on {self.placement.device}; lower "
                "max_new_tokens or the batch size, or load with device_map='auto' to offload"
            ) from error

    def _finish(self, new_tokens, text: str, stop: list[str]) -> tuple[str, str, int]:
        """Cut the text at a stop string and tell why generation ended."""
        eos_ids = self.model.generation_config.eos_token_id
        eos_ids = set(eos_ids if isinstance(eos_ids, list) else [eos_ids]) - {None}
        ids = new_tokens.tolist()
        count, ended_on_eos = len(ids), False
        for index, token in enumerate(ids):  # what follows the first eos is batch padding
            if token in eos_ids:
                count, ended_on_eos = index + 1, True
                break
        cut = min((text.find(s) for s in stop if s in text), default=-1)
        if cut >= 0:
            return text[:cut], "stop", count
        return text, ("eos" if ended_on_eos else "length"), count

    def _results(
        self, prompts, texts_in, encoded, output, settings, started, first_token_at
    ) -> list[TextResult]:
        elapsed = time.perf_counter() - started
        prompt_width = 0 if self.is_seq2seq else encoded["input_ids"].shape[1]
        results = []
        for row, prompt in enumerate(prompts):
            new_tokens = output[row, prompt_width:]
            if self.is_seq2seq:
                new_tokens = new_tokens[1:]  # the decoder start token
            raw = self.tokenizer.decode(new_tokens, skip_special_tokens=True)
            text, reason, count = self._finish(new_tokens, raw, settings.stop)
            ttft = (first_token_at - started) if first_token_at else None
            results.append(
                TextResult(
                    model=self.name,
                    parameters=settings.as_parameters(),
                    seed=settings.seed,
                    timings={"generate_seconds": round(elapsed, 4), "batch_size": len(prompts)},
                    text=text,
                    prompt=prompt,
                    finish_reason=reason,
                    prompt_tokens=int(encoded["attention_mask"][row].sum()),
                    completion_tokens=count,
                    time_to_first_token=ttft,
                    tokens_per_second=(count / elapsed) if elapsed > 0 else None,
                )
            )
        return results

    def __call__(
        self, prompt: PromptLike | list[PromptLike], **parameters: Any
    ) -> TextResult | list[TextResult]:
        """Generate from a prompt or chat messages; a list of prompts is one batched call.

        Parameters: max_new_tokens, temperature (0 = greedy), top_p, top_k,
        repetition_penalty, stop (string or list), seed, system_prompt.
        """
        batched = (
            isinstance(prompt, list)
            and bool(prompt)
            and not all(isinstance(p, dict) for p in prompt)
        )
        prompts = (
            [self._check_prompt(p) for p in prompt] if batched else [self._check_prompt(prompt)]
        )
        settings = self._settings(parameters)
        texts = [self._as_text(p, settings.system_prompt) for p in prompts]
        with self._lock:
            encoded = self._encode(texts)
            timer = _TimingStreamer()
            started = time.perf_counter()
            output = self._generate(encoded, settings, timer)
        results = self._results(
            prompts, texts, encoded, output, settings, started, timer.first_token_at
        )
        return results if batched else results[0]

    def stream(self, prompt: PromptLike, **parameters: Any) -> TextStream:
        """Yield text pieces as they are produced; the joined pieces equal a plain call's text."""
        from transformers import TextIteratorStreamer

        prompt = self._check_prompt(prompt)
        settings = self._settings(parameters)
        encoded = self._encode([self._as_text(prompt, settings.system_prompt)])
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        outcome: dict[str, Any] = {}
        cancel = threading.Event()

        def work() -> None:
            try:
                with self._lock:
                    outcome["started"] = time.perf_counter()
                    outcome["output"] = self._generate(encoded, settings, streamer, cancel)
            except BaseException as error:  # surfaced to the reader below
                outcome["error"] = error
                streamer.end()

        stream = TextStream(iter(()))

        def pieces() -> Iterator[str]:
            thread = threading.Thread(target=work, daemon=True)
            thread.start()
            hold = max((len(s) for s in settings.stop), default=1) - 1
            sent, buffer, first_at, exhausted = 0, "", None, False
            try:
                for piece in streamer:
                    if first_at is None and piece:
                        first_at = time.perf_counter()
                    buffer += piece
                    cut = min((buffer.find(s) for s in settings.stop if s in buffer), default=-1)
                    if cut >= 0:
                        if cut > sent:
                            yield buffer[sent:cut]
                        sent = cut
                        break
                    safe = len(buffer) - hold
                    if safe > sent:
                        yield buffer[sent:safe]
                        sent = safe
                else:
                    exhausted = True
            finally:
                if not exhausted:  # stopped early or closed by the reader: let generate() end
                    cancel.set()
                    for _ in streamer:
                        pass
                thread.join()
            if "error" in outcome:
                raise outcome["error"]
            result = self._results(
                [prompt], None, encoded, outcome["output"], settings, outcome["started"], first_at
            )[0]
            if len(result.text) > sent:
                yield result.text[sent:]
            stream.result = result

        stream._pieces = pieces()
        return stream
