"""Text generation on llama.cpp, through xllamacpp: GGUF files at llama.cpp speed.

xllamacpp runs llama.cpp's own server inside this process: one loaded model, several slots
decoding together (continuous batching), requests as OpenAI-style JSON, answers streamed to
a callback that stops decoding when it returns True. Callers in several threads (the web
app's users, the HTTP server, a list of prompts) are decoded together in those slots: there
is no lock here. The front end (prompt checks, chat messages, results) is TextGenerator's;
this file only loads the model and runs requests.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

from ..errors import (
    GenaiError,
    GenaiMemoryError,
    GenerationCancelled,
    InputTooLongError,
    InvalidParameterError,
    MissingDependencyError,
    UnsupportedModelError,
)
from ..params import check_int
from .text import TextGenerator, TextRequest
from .text_gguf import dequantized_copy, model_facts, read_metadata
from .text_stream import Decoded, OnPiece, decode

logger = logging.getLogger("genai.text")

THREADS_ENV = "GENAI_THREADS"
DEFAULT_MAX_CONTEXT = 8192  # a model trained on more gets this much unless n_ctx= asks for more
DEFAULT_PARALLEL = 8  # sequences decoded together; they share one KV cache of n_ctx tokens
_QUANTIZED_BELOW_F16 = (0, 1)  # general.file_type: 0 = all F32, 1 = mostly F16


def default_threads() -> int:
    """GENAI_THREADS, else the machine's physical cores (hyper-threads slow llama.cpp down)."""
    if os.environ.get(THREADS_ENV):
        return check_int(THREADS_ENV, _as_int(os.environ[THREADS_ENV]), low=1, high=512)
    try:
        import psutil

        cores = psutil.cpu_count(logical=False)
    except ImportError:
        cores = None
    return cores or os.cpu_count() or 1


def _as_int(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        return text


class LlamaCppGenerator(TextGenerator):
    """A GGUF language model run by llama.cpp."""

    engine = "llama.cpp"
    features: frozenset[str] = frozenset()  # of genai.specs.text.ENGINE_FEATURES

    # --- loading ---------------------------------------------------------------------------

    def _load(self) -> None:
        try:
            import xllamacpp
        except ImportError as error:
            raise MissingDependencyError(
                "the llama.cpp engine needs xllamacpp: pip install xllamacpp "
                "(or load with engine='transformers')"
            ) from error
        options = self.load_options
        path = Path(self.source.location)
        facts = model_facts(read_metadata(path))
        self.dequantized = (
            bool(options.get("dequantize")) and facts["file_type"] not in _QUANTIZED_BELOW_F16
        )
        self.gguf_path = dequantized_copy(path) if self.dequantized else path
        threads, parallel, n_ctx = (options.get(k) for k in ("threads", "parallel", "n_ctx"))
        self.threads = check_int(
            "threads", default_threads() if threads is None else threads, low=1, high=512
        )
        self.parallel = check_int(
            "parallel", DEFAULT_PARALLEL if parallel is None else parallel, low=1, high=256
        )
        trained = facts["context_length"] or 2048
        n_ctx = min(trained, DEFAULT_MAX_CONTEXT) if n_ctx is None else n_ctx
        self.context_length = check_int(
            "n_ctx", n_ctx, low=16, high=trained, fix="the model was trained on that many"
        )
        self.vocab_size = facts["vocab_size"]
        chat = options.get("chat", True)
        self.has_chat_template = bool(facts["chat_template"]) and bool(chat)
        try:
            self.server = xllamacpp.Server(self._params(xllamacpp))
        except (RuntimeError, ValueError, OSError) as error:  # llama.cpp's load errors
            raise self._load_error(error) from error

    def _params(self, xllamacpp):
        params = xllamacpp.CommonParams()
        params.model.path = str(self.gguf_path)
        params.n_ctx = self.context_length
        params.n_parallel = self.parallel
        params.kv_unified = True  # one KV cache shared by the slots: any one may use all of n_ctx
        for cpu in (params.cpuparams, params.cpuparams_batch):
            cpu.n_threads = self.threads
            cpu.poll = 0  # no busy-waiting: on a shared CPU polling threads starve each other
        params.n_gpu_layers = 0 if self.placement.device == "cpu" else -1
        params.warmup = False  # the first request warms up; start-up stays short
        params.fit_params = False  # no trial load to fit memory: the settings above are final
        params.cache_ram_mib = 0  # no extra host-memory prompt cache
        params.endpoint_metrics = True
        params.verbosity = 0
        return params

    def _load_error(self, error: Exception) -> GenaiError:
        return UnsupportedModelError(
            f"{self.gguf_path}: llama.cpp cannot load this GGUF file ({error}); the file is "
            "damaged, or its architecture is newer than this xllamacpp: pip install -U xllamacpp"
        )

    def _release(self) -> None:
        self.server = None  # the server's destructor stops its decoding thread

    def info(self) -> dict[str, Any]:
        record = super().info()
        record.update(
            gguf_file=self.gguf_path.name,
            gguf_path=str(self.gguf_path),
            dequantized=self.dequantized,
            threads=self.threads,
            parallel=self.parallel,
        )
        return record

    # --- requests ----------------------------------------------------------------------------

    def _body(self, request: TextRequest, settings: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "max_tokens": settings["max_new_tokens"],
            "temperature": settings["temperature"],  # 0 = greedy in llama.cpp too
            "top_p": settings["top_p"],
            "top_k": settings["top_k"],
            "min_p": 0.0,  # llama.cpp's default 0.05 would make it sample unlike transformers
            "repeat_penalty": settings["repetition_penalty"],
            "repeat_last_n": self.context_length,  # the whole context, as transformers does
            "seed": settings["seed"],
            # Every request reads its prompt afresh: a prompt half-served from another request's
            # cache gives slightly other logits, and a seeded sample then differs (seen here).
            "cache_prompt": False,
            "stream": True,
            "stream_options": {"include_usage": True},
            "timings_per_token": True,  # every chunk says how many prompt tokens were read
        }
        if request.messages is not None:
            body["messages"] = request.messages  # the GGUF's own chat template applies
        else:
            body["prompt"] = request.text
        return body

    def _handler(self, request: TextRequest):
        if request.messages is not None:
            return self.server.handle_chat_completions
        return self.server.handle_completions

    def _stream(self, request: TextRequest, settings: dict[str, Any], on_piece: OnPiece) -> Decoded:
        state: dict[str, Any] = {
            "text": "",
            "pieces": 0,
            "reason": None,
            "prompt": 0,
            "usage": None,
        }
        limit, wanted = self.context_length, settings["max_new_tokens"]
        cancel = settings.get("cancel")

        def on_chunk(chunk: dict[str, Any]) -> bool:
            if cancel is not None and cancel.is_set():
                state["cancelled"] = True
                return True  # xllamacpp cancels the task: decoding stops now
            if "error" in chunk:
                state["error"] = chunk["error"]
                return True
            timings = chunk.get("timings") or {}
            if "prompt_n" in timings:
                state["prompt"] = timings.get("prompt_n", 0) + timings.get("cache_n", 0)
                if state["pieces"] == 0 and state["prompt"] + wanted > limit:
                    state["error"] = {
                        "type": "exceed_context_size_error",
                        "n_prompt_tokens": state["prompt"],
                    }
                    return True
            if chunk.get("usage"):
                state["usage"] = chunk["usage"]
            for choice in chunk.get("choices", []):
                state["reason"] = choice.get("finish_reason") or state["reason"]
                piece = (choice.get("delta") or {}).get("content") or choice.get("text") or ""
                if piece:
                    state["text"] += piece
                    state["pieces"] += 1
                    if on_piece(piece):
                        return True  # xllamacpp cancels the task: decoding stops now
            return False

        self._handler(request)(self._body(request, settings), on_chunk)
        if state.get("cancelled"):
            raise GenerationCancelled("the text generation was cancelled")
        if "error" in state:
            raise self._request_error(state["error"], wanted)
        usage = state["usage"] or {}
        return Decoded(
            state["text"],
            "eos"
            if state["reason"] == "stop"
            else "length",  # stop strings are found by the caller
            usage.get("prompt_tokens", state["prompt"]),
            usage.get("completion_tokens", state["pieces"]),
        )

    def _request_error(self, error: Any, max_new_tokens: int) -> GenaiError:
        error = error if isinstance(error, dict) else {"message": str(error)}
        message = str(error.get("message", error))
        if error.get("type") == "exceed_context_size_error":
            return InputTooLongError(
                f"prompt ({error.get('n_prompt_tokens', '?')} tokens) plus max_new_tokens="
                f"{max_new_tokens} exceeds this model's context of {self.context_length} tokens; "
                "shorten the prompt or lower max_new_tokens"
            )
        if "memory" in message.lower():
            return GenaiMemoryError(
                f"llama.cpp ran out of memory: {message}; lower n_ctx or parallel"
            )
        return InvalidParameterError(f"llama.cpp refused the request: {message}")

    def _generate(self, requests: list[TextRequest], settings: dict[str, Any]) -> list[Decoded]:
        runs = [partial(self._stream, request, settings) for request in requests]
        if len(runs) == 1:
            return [decode(runs[0], settings["stop"])]
        # One thread per prompt, each waiting on the server: its slots decode them together.
        with ThreadPoolExecutor(max_workers=len(runs), thread_name_prefix="genai-llamacpp") as pool:
            futures = [pool.submit(decode, run, settings["stop"]) for run in runs]
            return [future.result() for future in futures]

    def _count(self, request: TextRequest) -> int:
        body = self._body(request, {**_COUNT_SETTINGS, "max_new_tokens": 1})
        body.update(stream=False, timings_per_token=False)
        body.pop("stream_options")
        answer = self._handler(request)(body)
        if "error" in answer:
            raise self._request_error(answer["error"], 1)
        return int(answer["usage"]["prompt_tokens"])


_COUNT_SETTINGS = {
    "temperature": 0.0,
    "top_p": 1.0,
    "top_k": 0,
    "repetition_penalty": 1.0,
    "seed": 0,
}
