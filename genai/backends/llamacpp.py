"""Text generation on llama.cpp, through xllamacpp: GGUF files at llama.cpp speed.

xllamacpp runs llama.cpp's own server inside this process: one loaded model, several slots
decoding together (continuous batching), requests as OpenAI-style JSON, answers streamed to
a callback that stops decoding when it returns True. Callers in several threads (the web
app's users, the HTTP server) each get a slot; a conversation's next turn goes back to the
slot holding its history and reads only its new tokens (llamacpp_slots.py says how that stays
exact). The front end (prompt checks, chat messages, results) is TextGenerator's; this file
loads the model and runs requests (fields in llamacpp_body.py, threads in llamacpp_threads.py).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from ..errors import GenaiError, GenerationCancelled, MissingDependencyError, UnsupportedModelError
from ..params import check_int
from ..specs.text import ENGINE_FEATURES
from . import llamacpp_body as fields
from .llamacpp_exit import EXITING
from .llamacpp_exit import run as _run
from .llamacpp_exit import stopping as _stopping
from .llamacpp_slots import (
    CPU_PROMPT_BATCH,
    PROMPT_BATCH,
    Slot,
    SlotPool,
    continues,
    needs_fresh_read,
    read_alone,
    request_key,
    trim_text,
)
from .llamacpp_threads import default_threads, prepare_openmp
from .text import TextGenerator, TextRequest
from .text_gguf import dequantized_copy, model_facts, read_metadata
from .text_stream import Decoded, OnPiece, decode

logger = logging.getLogger("genai.text")

DEFAULT_MAX_CONTEXT = 4096  # tokens per slot for a model trained on more, unless n_ctx= asks
DEFAULT_PARALLEL = 4  # slots: requests decoded together, each with its own n_ctx of KV cache
_QUANTIZED_BELOW_F16 = (0, 1)  # general.file_type: 0 = all F32, 1 = mostly F16
_RESTART = object()


class LlamaCppGenerator(TextGenerator):
    """A GGUF language model run by llama.cpp."""

    engine = "llama.cpp"
    features: frozenset[str] = frozenset(ENGINE_FEATURES)  # every one of them

    # --- loading ---------------------------------------------------------------------------

    def _load(self) -> None:
        prepare_openmp()  # before xllamacpp loads the OpenMP runtime
        try:
            import xllamacpp
        except ImportError as error:
            raise MissingDependencyError(
                "the llama.cpp engine needs xllamacpp: pip install xllamacpp "
                "(or load with engine='transformers')"
            ) from error
        options = self.load_options
        path = Path(self.source.location)
        metadata = read_metadata(path)
        facts = model_facts(metadata)
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
        self.slots = self.parallel
        trained = facts["context_length"] or 2048
        n_ctx = min(trained, DEFAULT_MAX_CONTEXT) if n_ctx is None else n_ctx
        self.context_length = check_int(
            "n_ctx", n_ctx, low=16, high=trained, fix="the model was trained on that many"
        )
        self.vocab_size = facts["vocab_size"]
        chat = options.get("chat", True)
        self.has_chat_template = bool(facts["chat_template"]) and bool(chat)
        # A sliding-window model cannot cut its cache back to a prompt without re-reading it
        # all: its conversations re-read their history instead of trimming (llamacpp_slots).
        self._trims = f"{facts['architecture']}.attention.sliding_window" not in metadata
        self._pooling = metadata.get(f"{facts['architecture']}.pooling_type")
        cpu = self.placement.device == "cpu"
        self._pool = SlotPool(self.parallel, CPU_PROMPT_BATCH if cpu else PROMPT_BATCH)
        self._embedder = None
        self._embedder_lock = threading.Lock()
        self._xllamacpp = xllamacpp
        try:
            self.server = xllamacpp.Server(self._params(xllamacpp))
        except (RuntimeError, ValueError, OSError) as error:  # llama.cpp's load errors
            raise self._load_error(error) from error

    def _params(self, xllamacpp, *, embedding: bool = False):
        params = xllamacpp.CommonParams()
        params.model.path = str(self.gguf_path)
        cpu = self.placement.device == "cpu"
        if embedding:  # one input per batch: the whole text in one micro-batch
            params.embedding = True
            params.n_ctx = params.n_batch = params.n_ubatch = self.context_length
            params.n_parallel = 1
            params.pooling_type = (
                xllamacpp.llama_pooling_type(self._pooling)
                if self._pooling
                else xllamacpp.llama_pooling_type.LLAMA_POOLING_TYPE_MEAN
            )
        else:
            params.n_parallel = self.parallel
            params.n_ctx = self.context_length * self.parallel
            params.kv_unified = False  # each slot its own cells (llamacpp_slots.py, 3.)
            # On the CPU, batches below flash attention's tiled kernel (llamacpp_slots.py, 2.)
            params.n_batch = params.n_ubatch = self._pool.batch
        for cpu_params in (params.cpuparams, params.cpuparams_batch):
            cpu_params.n_threads = self.threads
            cpu_params.poll = (
                0  # no busy-waiting: on a shared CPU polling threads starve each other
            )
        params.n_gpu_layers = 0 if cpu else -1
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
        # The servers' destructors stop their decoding threads (they call no Python code).
        self.server = None
        self._embedder = None

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

    def _handler(self, request: TextRequest):
        if request.messages is not None:
            return self.server.handle_chat_completions
        return self.server.handle_completions

    def _stream(self, request: TextRequest, settings: dict[str, Any], on_piece: OnPiece) -> Decoded:
        fields.check_schema(settings.get("json_schema"))
        cancel = settings.get("cancel")
        key = request_key(request)
        slot = self._pool.acquire(key, lambda: _stopping(cancel))
        prepare = False
        try:
            reuse, trim = slot.plan(key, self._trims)
            if trim:
                self._trim(slot)
            found = self._read(request, settings, slot, key, reuse, on_piece)
            if found is _RESTART:  # noticed before anything was read: read it afresh
                found = self._read(request, settings, slot, key, False, on_piece)
            prepare = self._trims and continues(request) and bool(found.text)
        except GenerationCancelled:
            raise  # the slot's state was noted
        except BaseException:
            slot.forget()
            raise
        finally:
            if prepare and self._pool.start_preparing(slot):  # kept until the answer is read
                worker = threading.Thread(
                    target=self._prepare, args=(slot, found.text), name="genai-llamacpp-prepare"
                )
                worker.daemon = True
                worker.start()
            else:
                self._pool.release(slot)
        if settings.get("json_schema") is not None and found.finish_reason == "eos":
            fields.check_answer(found.text, settings["json_schema"])
        return found

    def _read(self, request, settings, slot: Slot, key: str, reuse: bool, on_piece: OnPiece):
        """One request in ``slot``: _RESTART when its prompt must be read afresh."""
        reader = fields.Reader(settings)
        cancel, state = settings.get("cancel"), {}
        constrained = settings.get("json_schema") is not None

        def on_chunk(chunk: dict[str, Any]) -> bool:
            if _stopping(cancel):
                state["cancelled"] = True
                return True  # xllamacpp cancels the task: decoding stops now
            if "error" in chunk:
                reader.error = chunk["error"]
                return True
            if reader.progress(chunk):  # the prompt's size, before any of it is read
                if reuse and needs_fresh_read(reader.total, reader.cached, self._pool.batch):
                    state["restart"] = True
                    return True
                if reader.total + reader.wanted > self.context_length:
                    reader.error = {
                        "type": "exceed_context_size_error",
                        "n_prompt_tokens": reader.total,
                    }
                    return True
            pieces = reader.pieces_of(chunk)
            if (
                constrained
                and pieces
                and reader.pieces == len(pieces)
                and not fields.starts_json(reader.text)
            ):
                reader.error = fields.unenforced(f"the answer began {reader.text[:20]!r}")
                return True
            return any(on_piece(piece) for piece in pieces)

        body = fields.body(request, settings, self.context_length)
        body.update(id_slot=slot.index, cache_prompt=reuse)
        _run(self._handler(request), body, on_chunk)
        if state.get("restart"):
            return _RESTART
        if state.get("cancelled"):  # what was read and decoded so far stays in the slot
            cached = reader.cached if reuse else 0
            slot.read(request, key, reader.total or 0, cached, reader.text, reader.read_all)
            raise GenerationCancelled("the text generation was cancelled")
        if isinstance(reader.error, GenaiError):
            raise reader.error
        if reader.error is not None:
            raise fields.request_error(reader.error, reader.wanted, self.context_length)
        slot.read(request, key, reader.total or 0, reader.cached if reuse else 0, reader.text, True)
        return reader.decoded()

    def _trim(self, slot: Slot) -> None:
        """End the slot's cache at its last prompt: one token after it, nothing decoded."""
        last, extra = slot.request, trim_text(slot)
        if last.messages is not None:  # the template's assistant turn, opened with the extra
            body = {"messages": [*last.messages, {"role": "assistant", "content": extra}]}
        else:
            body = {"prompt": last.text + extra}
        body.update(max_tokens=1, temperature=0.0, id_slot=slot.index, cache_prompt=True)
        answer = _run(self._handler(last), body)
        if "error" in answer:
            raise fields.request_error(answer["error"], 1, self.context_length)
        slot.trimmed()

    def _prepare(self, slot: Slot, answer: str) -> None:
        """Read a conversation's answer back as prompt for its next turn: trim the cells the
        answer was decoded into, then read the conversation up to the end of the answer (the
        chat template's assistant turn, left open as a prefill) in batches of 2 or more. When
        that read would leave its last token alone in a batch, it is read with one more
        character after the answer instead (the next turn differs from there, so that cell is
        never reused), rather than marking the slot to be read afresh."""
        try:
            self._trim(slot)
            last = slot.request
            messages = [*last.messages, {"role": "assistant", "content": answer}]
            read = self._read_back(slot, messages)
            if read == "alone":
                extra = {"role": "assistant", "content": answer + trim_text(slot)}
                read = self._read_back(slot, [*last.messages, extra])
            if not isinstance(read, tuple):
                raise GenerationCancelled("the answer was not read back")
            slot.answer_read(answer, *read)
        except BaseException:
            slot.forget()
        finally:
            self._pool.release(slot)

    def _read_back(self, slot: Slot, messages: list[dict[str, Any]]):
        """Read ``messages`` into ``slot``'s cache: (prompt tokens, of them cached), "alone"
        when it stopped before reading because its last token would be read alone, or None."""
        reader = fields.Reader({**_COUNT_SETTINGS, "max_new_tokens": 1})
        body = fields.body(
            TextRequest(messages, messages, None), reader.settings, self.context_length
        )
        body.update(id_slot=slot.index, cache_prompt=True)
        state = {}

        def on_chunk(chunk: dict[str, Any]) -> bool:
            if reader.progress(chunk) and read_alone(reader.total - reader.cached, slot.batch):
                state["alone"] = True
                return True  # before any of it is read: the slot holds what it held
            return EXITING.is_set()

        _run(self.server.handle_chat_completions, body, on_chunk)
        if state.get("alone"):
            return "alone"
        if reader.total is None or not reader.read_all:
            return None
        return reader.total, reader.cached

    def _generate(self, requests: list[TextRequest], settings: dict[str, Any]) -> list[Decoded]:
        # One after the other, each decoded alone: the same texts as separate calls, bit for
        # bit (decoded together, tokens take other kernels; see llamacpp_slots.py).
        found = []
        for request in requests:
            if _stopping(settings.get("cancel")):
                raise GenerationCancelled("the text generation was cancelled")
            run = lambda on_piece, r=request: self._stream(r, settings, on_piece)  # noqa: E731
            found.append(fields.cut_logprobs(decode(run, settings["stop"])))
        return found

    def _count(self, request: TextRequest) -> int:
        """The prompt's size, from llama.cpp's first progress report: cancelled before any of
        it is read, in whatever slot llama.cpp picks (what a slot holds stays valid)."""
        settings = {**_COUNT_SETTINGS, "max_new_tokens": 1}
        reader = fields.Reader(settings)

        def on_chunk(chunk: dict[str, Any]) -> bool:
            reader.error = chunk.get("error")
            return reader.error is not None or reader.progress(chunk) or bool(chunk.get("usage"))

        _run(self._handler(request), fields.body(request, settings, self.context_length), on_chunk)
        if reader.total is None:
            raise fields.request_error(reader.error or "no prompt size", 1, self.context_length)
        return reader.total

    # --- embeddings ----------------------------------------------------------------------------

    def embed(self, texts: list[str]) -> tuple[list[list[float]], int]:
        """One vector per text (mean of the model's last hidden states, unit length, or the
        GGUF's own pooling) and the number of tokens read; a second llama.cpp context in
        embedding mode, started on first use, shares the mapped weights."""
        self.check_loaded()
        from ..errors import InvalidParameterError

        if (
            not isinstance(texts, list)
            or not texts
            or not all(isinstance(t, str) and t for t in texts)
        ):
            raise InvalidParameterError("embed takes a non-empty list of non-empty strings")
        with self._embedder_lock:
            if self._embedder is None:
                try:
                    self._embedder = self._xllamacpp.Server(
                        self._params(self._xllamacpp, embedding=True)
                    )
                except (RuntimeError, ValueError, OSError) as error:
                    raise self._load_error(error) from error
            embedder = self._embedder
        answer = _run(embedder.handle_embeddings, {"input": texts})
        if "error" in answer or "data" not in answer:
            raise fields.request_error(answer.get("error", answer), 0, self.context_length)
        rows = sorted(answer["data"], key=lambda row: row["index"])
        return [row["embedding"] for row in rows], int(answer["usage"]["prompt_tokens"])


_COUNT_SETTINGS = {
    "temperature": 0.0,
    "top_p": 1.0,
    "top_k": 0,
    "repetition_penalty": 1.0,
    "seed": 0,
}
