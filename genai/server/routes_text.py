"""POST /v1/chat/completions, /v1/completions and /v1/embeddings.

Chat runs the model's chat template; ``/v1/completions`` is a raw completion: the prompt
continues as given (genai's ``raw=True``), as OpenAI's and llama.cpp's own servers do. A
whole answer is one plain call per choice; a streamed one reads one ``generator.stream`` per
choice, all started together so that an engine decoding parallel sequences interleaves them.
Either way decoding stops as soon as the client goes away or its time is up. Choice ``i`` of
a request with ``seed`` uses ``seed + i``: ``n=1`` with a seed answers what the first choice
of ``n=2`` with that seed answers.
"""

from __future__ import annotations

import base64
import struct
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from ..errors import GenaiError, GenerationCancelled
from ..seeding import MAX_SEED
from .errors import APIError, from_exception
from .limits import client_gone
from .schemas_text import ChatRequest, CompletionRequest, EmbeddingRequest, Sampling
from .text_reply import Feed, Reply

router = APIRouter()

MAX_EMBEDDING_INPUTS = 2048  # OpenAI's limit on texts per request


@router.post("/v1/chat/completions")
async def chat_completions(body: ChatRequest, request: Request):
    body.check(request.app.state.genai.limits.max_n)
    return await _complete(request, body, [body.prompt()], chat=True)


@router.post("/v1/completions")
async def completions(body: CompletionRequest, request: Request):
    body.check(request.app.state.genai.limits.max_n)
    return await _complete(request, body, body.prompts(), chat=False)


def _calls(prompts: list, seeds: list) -> list[tuple[Any, int | None]]:
    return [(prompt, seed) for prompt in prompts for seed in seeds]


def _seeded(parameters: dict[str, Any], seed: int | None) -> dict[str, Any]:
    return parameters if seed is None else {**parameters, "seed": seed}


def _generate(server, served, calls, parameters) -> list:
    """In a worker thread: every choice of every prompt as a TextResult, side by side;
    ``parameters["cancel"]`` (set when the client left or the deadline passed) stops them."""
    generator = server.pool.load(served, server.loop)
    if len(calls) == 1:
        return [generator(calls[0][0], **_seeded(parameters, calls[0][1]))]
    with ThreadPoolExecutor(len(calls), thread_name_prefix="genai-serve-choice") as pool:
        return list(
            pool.map(lambda call: generator(call[0], **_seeded(parameters, call[1])), calls)
        )


def produce(server, served, calls, parameters, cancel: threading.Event, feed: Feed) -> None:
    """In a worker thread: every choice streamed at once, as ready/piece/end/done/error events."""
    try:
        generator = server.pool.load(served, server.loop)
        # Every stream's parameters are checked before the first piece is sent.
        streams = [generator.stream(prompt, **_seeded(parameters, seed)) for prompt, seed in calls]
        feed.put("ready")

        def drain(index: int) -> None:
            stream = streams[index]
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

        if len(streams) == 1:
            drain(0)
        else:
            with ThreadPoolExecutor(len(streams), thread_name_prefix="genai-serve-choice") as pool:
                futures = [pool.submit(drain, index) for index in range(len(streams))]
                done, _ = wait(futures, return_when=FIRST_EXCEPTION)
                failed = [f for f in futures if f in done and f.exception() is not None]
                if failed:
                    cancel.set()  # one choice failed: the others stop too
                    raise failed[0].exception()
        feed.put("done")
    except BaseException as error:  # handed to the event loop, which answers the client
        feed.put("error", error)


async def _complete(request: Request, body: Sampling, prompts: list, *, chat: bool):
    server = request.app.state.genai
    served = await server.served(request, body.model, "text")
    names = {"max_new_tokens": body.length_field}
    cancel = threading.Event()
    parameters = {**body.generation_parameters(), "cancel": cancel}
    seeds = [None if body.seed is None else (body.seed + i) % (MAX_SEED + 1) for i in range(body.n)]
    calls = _calls(prompts, seeds)
    deadline = time.monotonic() + server.limits.timeout_s
    reply = Reply(server, served.id, body, chat, prompts, deadline, names)
    queue = server.pool.queue(served)
    if not body.stream:
        try:
            results = await server.workers.run(
                queue,
                lambda: _generate(server, served, calls, parameters),
                cancel,  # set when the client leaves or the deadline passes: decoding stops
                watch=lambda: client_gone(request),
            )
        except GenaiError as error:
            raise from_exception(error, names) from None
        return JSONResponse(reply.whole(results))
    await queue.acquire(server.limits.timeout_s)
    feed = Feed()
    server.workers.start(
        queue,
        lambda: produce(server, served, calls, parameters, cancel, feed),
        cancel,
    )
    reply.watch(request)
    try:
        first = await reply.next(feed, cancel)
        if first[0] == "error":
            raise from_exception(first[1], names)
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


# --- embeddings --------------------------------------------------------------------------------


@router.post("/v1/embeddings")
async def embeddings(body: EmbeddingRequest, request: Request) -> dict[str, Any]:
    server = request.app.state.genai
    body.refuse_extras()
    texts = body.texts(MAX_EMBEDDING_INPUTS)
    served = await server.served(request, body.model, "text")

    def work():
        return server.pool.load(served, server.loop).embed(texts)

    try:
        vectors, tokens = await server.workers.run(
            server.pool.queue(served), work, threading.Event(), watch=lambda: client_gone(request)
        )
    except GenaiError as error:
        api_error = from_exception(error)
        if api_error.code == "unsupported_model":
            raise APIError(400, str(error), param="model", code="model_not_supported") from None
        raise api_error from None
    data = []
    for index, vector in enumerate(vectors):
        if body.encoding_format == "base64":  # OpenAI's: little-endian float32 bytes
            packed = struct.pack(f"<{len(vector)}f", *vector)
            vector = base64.b64encode(packed).decode("ascii")
        data.append({"object": "embedding", "index": index, "embedding": vector})
    server.metrics.count("genai_tokens_total", tokens, model=served.id, kind="prompt")
    return {
        "object": "list",
        "data": data,
        "model": served.id,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
