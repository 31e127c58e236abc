"""POST /v1/chat/completions and /v1/completions.

A whole answer is one plain call per choice (several choices run side by side: engines that
decode parallel sequences serve them together). A streamed answer reads the model's stream
(``generator.stream``), choice after choice, and stops decoding as soon as its client goes
away or its time is up. Choice ``i`` of a request with ``seed`` uses ``seed + i``: ``n=1``
with a seed answers what the first choice of ``n=2`` with that seed answers.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from ..errors import GenerationCancelled
from ..seeding import MAX_SEED
from .errors import from_exception
from .limits import client_gone, timed_out
from .schemas import ChatRequest, CompletionRequest, Sampling

router = APIRouter()

# genai's reasons a generation ended -> OpenAI's
FINISH_REASONS = {"eos": "stop", "stop": "stop", "length": "length"}


@router.post("/v1/chat/completions")
async def chat_completions(body: ChatRequest, request: Request):
    prompt = [message.as_genai() for message in body.messages]
    return await _complete(request, body, [prompt], chat=True)


@router.post("/v1/completions")
async def completions(body: CompletionRequest, request: Request):
    return await _complete(request, body, body.prompts(), chat=False)


class Feed:
    """Events from the worker thread to the event loop, in order."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[tuple] = asyncio.Queue()

    def put(self, *event: Any) -> None:
        self.loop.call_soon_threadsafe(self.queue.put_nowait, event)


def _generate(server, served, prompts, parameters, seeds, cancel: threading.Event) -> list:
    """In a worker thread: every choice of every prompt as a TextResult, choices side by side;
    setting ``cancel`` (the client left, the deadline passed) stops the decoding."""
    generator = server.pool.load(served)
    calls = [(prompt, seed) for prompt in prompts for seed in seeds]
    parameters = {**parameters, "cancel": cancel}

    def one(call):
        prompt, seed = call
        return generator(prompt, **(parameters if seed is None else {**parameters, "seed": seed}))

    if len(calls) == 1:
        return [one(calls[0])]
    with ThreadPoolExecutor(len(calls), thread_name_prefix="genai-serve-choice") as pool:
        return list(pool.map(one, calls))


def _produce(server, served, prompts, parameters, seeds, cancel: threading.Event, feed: Feed):
    """In a worker thread: every choice streamed, as ready/piece/end/done/error events."""
    try:
        generator = server.pool.load(served)
        for prompt_index, prompt in enumerate(prompts):
            for choice, seed in enumerate(seeds):
                index = prompt_index * len(seeds) + choice
                seeded = parameters if seed is None else {**parameters, "seed": seed}
                stream = generator.stream(prompt, **seeded)  # checks every parameter first
                if index == 0:
                    feed.put("ready")
                try:
                    for piece in stream:
                        if cancel.is_set():
                            break
                        feed.put("piece", index, piece)
                finally:
                    if cancel.is_set():
                        stream.close()
                if cancel.is_set():
                    raise GenerationCancelled("the request was cancelled")
                feed.put("end", index, stream.result)
        feed.put("done")
    except BaseException as error:  # handed to the event loop, which answers the client
        feed.put("error", error)


async def _complete(request: Request, body: Sampling, prompts: list, *, chat: bool):
    server = request.app.state.genai
    body.check(server.limits.max_n)
    served = await server.served(request, body.model, "text")
    parameters = body.generation_parameters()
    seeds = [None if body.seed is None else (body.seed + i) % (MAX_SEED + 1) for i in range(body.n)]
    deadline = time.monotonic() + server.limits.timeout_s
    reply = _Reply(server, served.id, body, chat, len(prompts), deadline)
    queue = server.pool.queue(served)
    if not body.stream:
        cancel = threading.Event()
        results = await server.workers.run(
            queue,
            lambda: _generate(server, served, prompts, parameters, seeds, cancel),
            cancel,  # set when the client leaves or the deadline passes: decoding stops
            watch=lambda: client_gone(request),
        )
        return JSONResponse(reply.whole(results))
    await queue.acquire(server.limits.timeout_s)
    cancel, feed = threading.Event(), Feed()
    server.workers.start(
        queue, lambda: _produce(server, served, prompts, parameters, seeds, cancel, feed)
    )
    reply.watch(request)
    try:
        first = await reply.next(feed, cancel)
        if first[0] == "error":
            raise first[1]
        reply.unwatch()  # from here the streaming response notices a client that leaves
        return StreamingResponse(
            reply.sse(feed, cancel),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    except BaseException:
        cancel.set()
        raise
    finally:
        reply.unwatch()


class _Reply:
    """Turns a request's events into OpenAI's answer: one JSON object or a stream of chunks."""

    def __init__(
        self, server, model: str, body: Sampling, chat: bool, prompts: int, deadline: float
    ):
        self.server = server
        self.model = model
        self.body = body
        self.chat = chat
        self.deadline = deadline
        self.id = ("chatcmpl-" if chat else "cmpl-") + secrets.token_hex(12)
        self.created = int(time.time())
        self.choices = prompts * body.n
        self.texts = [""] * self.choices
        self.results: list[Any] = [None] * self.choices
        self.started = time.perf_counter()
        self.first_piece = True
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

    def _record(self, event: tuple) -> None:
        kind = event[0]
        if kind == "piece":
            if self.first_piece:
                self.first_piece = False
                self.server.metrics.observe(
                    "genai_first_token_seconds",
                    time.perf_counter() - self.started,
                    model=self.model,
                )
            self.texts[event[1]] += event[2]
        elif kind == "end":
            self.results[event[1]] = event[2]
        elif kind == "error":
            raise event[1]

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
                message = {"role": "assistant", "content": result.text, "refusal": None}
                choice = {"index": index, "message": message}
            else:
                choice = {"index": index, "text": result.text}
            choices.append({**choice, "logprobs": None, "finish_reason": reason})
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

    def _chunk(
        self, index: int, *, text: str | None = None, finish: str | None = None, role: bool = False
    ):
        if self.chat:
            delta: dict[str, Any] = {"role": "assistant", "content": ""} if role else {}
            if text is not None:
                delta["content"] = text
            choice = {"index": index, "delta": delta}
        else:
            choice = {"index": index, "text": text or ""}
        return self._event(choices=[{**choice, "logprobs": None, "finish_reason": finish}])

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

    async def sse(self, feed: Feed, cancel: threading.Event) -> AsyncIterator[str]:
        """Chunks as pieces arrive; ``finish_reason`` null until a choice ends; then [DONE]."""
        opened: set[int] = set()
        try:
            while (event := await self.next(feed, cancel))[0] != "done":
                self._record(event)
                if event[0] not in ("piece", "end"):
                    continue
                index = event[1]
                if self.chat and index not in opened:
                    opened.add(index)
                    yield self._chunk(index, role=True)
                if event[0] == "piece":
                    yield self._chunk(index, text=event[2])
                else:
                    reason = FINISH_REASONS.get(event[2].finish_reason, "stop")
                    yield self._chunk(index, finish=reason)
            usage = self.usage()
            if self.body.include_usage:
                yield self._event(choices=[], usage=usage)
            yield "data: [DONE]\n\n"
        except Exception as error:  # headers are sent: the error goes in the stream
            yield f"data: {json.dumps(from_exception(error).body())}\n\n"
        finally:
            if not cancel.is_set() and any(r is None for r in self.results):
                cancel.set()  # the client went away mid-stream
                self.server.metrics.count("genai_cancelled_total", model=self.model)
