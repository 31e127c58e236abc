"""OpenAI's answers for chat and plain completions: one JSON object, or server-sent chunks.

A :class:`Reply` turns a request's TextResults (or the events of its streams) into OpenAI's
shapes: message or text, ``tool_calls`` (in a stream: OpenAI's delta format, the call whole
in one delta once the answer is known), ``logprobs`` (chat's ``content`` list, or the
completions' legacy tokens/token_logprobs/top_logprobs/text_offset), usage, and
``finish_reason`` (stop, length, tool_calls).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request

from ..errors import GenerationCancelled
from .errors import from_exception
from .limits import client_gone, timed_out

# genai's reasons a generation ended -> OpenAI's
FINISH_REASONS = {"eos": "stop", "stop": "stop", "length": "length", "tool_calls": "tool_calls"}


class Feed:
    """Events from worker threads to the event loop, in order."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[tuple] = asyncio.Queue()

    def put(self, *event: Any) -> None:
        self.loop.call_soon_threadsafe(self.queue.put_nowait, event)


def legacy_logprobs(entries: list[dict[str, Any]], offset: int) -> dict[str, Any]:
    """Completions' logprobs: parallel lists, ``text_offset`` counting characters from
    ``offset`` (the prompt's length when it is echoed)."""
    offsets = []
    for entry in entries:
        offsets.append(offset)
        offset += len(entry["token"])
    return {
        "tokens": [e["token"] for e in entries],
        "token_logprobs": [e["logprob"] for e in entries],
        "top_logprobs": [
            {t["token"]: t["logprob"] for t in e.get("top_logprobs") or []} for e in entries
        ],
        "text_offset": offsets,
    }


def chat_logprobs(result) -> dict[str, Any] | None:
    return None if result.logprobs is None else {"content": result.logprobs, "refusal": None}


def tool_call_deltas(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"index": index, **call} for index, call in enumerate(calls)]


class Waiter:
    """Reads a request's events until its deadline, noticing a client that leaves."""

    def __init__(self, server, model: str, deadline: float):
        self.server = server
        self.model = model
        self.deadline = deadline
        self.gone: asyncio.Future | None = None

    def watch(self, request: Request) -> None:
        """Notice a client that closes the connection while it waits for a whole answer."""
        self.gone = asyncio.ensure_future(client_gone(request))

    def unwatch(self) -> None:
        if self.gone is not None:
            self.gone.cancel()
            self.gone = None

    async def next(self, feed: Feed, cancel: threading.Event) -> tuple:
        """The next event; the client leaving or the deadline passing cancel the generation."""
        getting = asyncio.ensure_future(feed.queue.get())
        waiting = {getting} | ({self.gone} if self.gone is not None else set())
        remaining = max(self.deadline - time.monotonic(), 0)
        try:
            done, _ = await asyncio.wait(
                waiting, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            getting.cancel()
        if getting in done:
            return getting.result()
        cancel.set()
        self.server.metrics.count("genai_cancelled_total", model=self.model)
        if self.gone is not None and self.gone in done:
            raise GenerationCancelled("the client closed the connection")
        raise timed_out(self.server.limits.timeout_s)


class Reply(Waiter):
    """One request's answer: its id, choices, usage, and the stream's chunks."""

    def __init__(
        self,
        server,
        model: str,
        body,
        chat: bool,
        prompts: list,
        deadline: float,
        names: dict[str, str],
    ):
        super().__init__(server, model, deadline)
        self.body = body
        self.chat = chat
        self.prompts = prompts
        self.names = names  # genai's parameter names -> this request's fields
        self.id = ("chatcmpl-" if chat else "cmpl-") + secrets.token_hex(12)
        self.created = int(time.time())
        self.choices = len(prompts) * body.n
        self.results: list[Any] = [None] * self.choices
        self.started = time.perf_counter()
        self.first_piece = True
        self.echo = bool(getattr(body, "echo", False))

    def prompt_of(self, index: int) -> str:
        return self.prompts[index // self.body.n]

    def usage(self) -> dict[str, int]:
        per_prompt = self.body.n
        prompt = sum(r.prompt_tokens for r in self.results[::per_prompt] if r is not None)
        completion = sum(r.completion_tokens for r in self.results if r is not None)
        metrics = self.server.metrics
        metrics.count("genai_tokens_total", prompt, model=self.model, kind="prompt")
        metrics.count("genai_tokens_total", completion, model=self.model, kind="completion")
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }

    # --- one JSON answer -------------------------------------------------------------------

    def whole(self, results: list) -> dict[str, Any]:
        self.results = results
        choices = []
        for index, result in enumerate(results):
            reason = FINISH_REASONS.get(result.finish_reason, "stop")
            if self.chat:
                message: dict[str, Any] = {
                    "role": "assistant",
                    "content": None if result.tool_calls else result.text,
                    "refusal": None,
                }
                if result.tool_calls:
                    message["tool_calls"] = result.tool_calls
                choice = {"index": index, "message": message, "logprobs": chat_logprobs(result)}
            else:
                prompt = self.prompt_of(index) if self.echo else ""
                logprobs = None
                if result.logprobs is not None:
                    logprobs = legacy_logprobs(result.logprobs, len(prompt))
                choice = {"index": index, "text": prompt + result.text, "logprobs": logprobs}
            choices.append({**choice, "finish_reason": reason})
        return {
            "id": self.id,
            "object": "chat.completion" if self.chat else "text_completion",
            "created": self.created,
            "model": self.model,
            "choices": choices,
            "usage": self.usage(),
            "system_fingerprint": None,
            "genai": {"seeds": [r.seed for r in results]},
        }

    # --- server-sent events ------------------------------------------------------------------

    def _chunk(self, index: int, delta: dict[str, Any] | None = None, **fields: Any) -> str:
        """A chunk for one choice: chat's ``delta``, or completions' ``text``."""
        choice: dict[str, Any] = {"index": index}
        if self.chat:
            choice["delta"] = delta or {}
        else:
            choice["text"] = (delta or {}).get("content", "")
        choice.update({"logprobs": None, "finish_reason": None, **fields})
        return self._event(choices=[choice])

    def _event(self, *, choices: list, usage: dict | None = None) -> str:
        chunk: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk" if self.chat else "text_completion",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": None,
            "choices": choices,
        }
        if self.body.include_usage:
            chunk["usage"] = usage
        return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"

    def _opening(self, index: int) -> list[str]:
        """What a choice starts with: chat's role; an echoed prompt."""
        if self.chat:
            return [self._chunk(index, {"role": "assistant", "content": ""})]
        if self.echo:
            return [self._chunk(index, {"content": self.prompt_of(index)})]
        return []

    def _ending(self, index: int, result) -> list[str]:
        chunks = []
        if result.tool_calls:
            chunks.append(self._chunk(index, {"tool_calls": tool_call_deltas(result.tool_calls)}))
        if self.chat:
            logprobs = chat_logprobs(result)
        else:
            offset = len(self.prompt_of(index)) if self.echo else 0
            logprobs = None if result.logprobs is None else legacy_logprobs(result.logprobs, offset)
        reason = FINISH_REASONS.get(result.finish_reason, "stop")
        chunks.append(self._chunk(index, logprobs=logprobs, finish_reason=reason))
        return chunks

    async def sse(self, feed: Feed, cancel: threading.Event) -> AsyncIterator[str]:
        """Chunks as pieces arrive, choices interleaved as they decode; ``finish_reason``
        null until a choice ends; then [DONE]."""
        opened: set[int] = set()
        try:
            while (event := await self.next(feed, cancel))[0] != "done":
                kind = event[0]
                if kind == "error":
                    raise event[1]
                if kind not in ("piece", "end"):
                    continue
                index = event[1]
                if index not in opened:
                    opened.add(index)
                    for chunk in self._opening(index):
                        yield chunk
                if kind == "piece":
                    self._note_first_piece()
                    yield self._chunk(index, {"content": event[2]})
                else:
                    self.results[index] = event[2]
                    for chunk in self._ending(index, event[2]):
                        yield chunk
            usage = self.usage()
            if self.body.include_usage:
                yield self._event(choices=[], usage=usage)
            yield "data: [DONE]\n\n"
        except Exception as error:  # headers are sent: the error goes in the stream
            yield f"data: {json.dumps(from_exception(error, self.names).body())}\n\n"
        finally:
            if not cancel.is_set() and any(r is None for r in self.results):
                cancel.set()  # the client went away mid-stream
                self.server.metrics.count("genai_cancelled_total", model=self.model)

    def _note_first_piece(self) -> None:
        if self.first_piece:
            self.first_piece = False
            seconds = time.perf_counter() - self.started
            self.server.metrics.observe("genai_first_token_seconds", seconds, model=self.model)
