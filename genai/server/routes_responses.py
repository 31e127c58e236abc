"""POST /v1/responses, minimal: text (or a JSON ``text.format``) in a chat model's answer.

Current OpenAI SDKs and agent kits default to this endpoint. It takes ``input`` (a string or
text messages), ``instructions`` (a system message for this turn only, as OpenAI's), the
sampling fields, ``stream`` (OpenAI's event sequence: created, output item and content part
added, text deltas, done events, completed) and ``previous_response_id``: the conversation
of a stored response continues. Responses are kept in memory (``store``, default true),
the most recent RESPONSES_KEPT of them, and are lost when the server stops.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from ..errors import GenaiError
from .errors import APIError, from_exception
from .limits import client_gone
from .routes_text import produce
from .schemas_text import ResponsesRequest
from .text_reply import Feed, Waiter

router = APIRouter()

RESPONSES_KEPT = 256
NAMES = {"max_new_tokens": "max_output_tokens", "response_format": "text.format"}


class ResponseStore:
    """The conversations of recent responses, by id: bounded, oldest forgotten first."""

    def __init__(self, limit: int = RESPONSES_KEPT):
        self.limit = limit
        self._items: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, response_id: str, conversation: list[dict[str, Any]]) -> None:
        with self._lock:
            self._items[response_id] = conversation
            while len(self._items) > self.limit:
                self._items.popitem(last=False)

    def get(self, response_id: str) -> list[dict[str, Any]] | None:
        with self._lock:
            return self._items.get(response_id)


def _with_instructions(conversation: list[dict[str, Any]], instructions: str | None) -> list:
    if not instructions:
        return conversation
    if conversation and conversation[0]["role"] == "system":
        first = {"role": "system", "content": instructions + "\n\n" + conversation[0]["content"]}
        return [first, *conversation[1:]]
    return [{"role": "system", "content": instructions}, *conversation]


class ResponseReply:
    """One response object and its stream of events."""

    def __init__(self, body: ResponsesRequest, model: str):
        self.body = body
        self.model = model
        self.id = "resp_" + secrets.token_hex(16)
        self.message_id = "msg_" + secrets.token_hex(16)
        self.created = int(time.time())
        self.sequence = 0

    def message(self, text: str, status: str) -> dict[str, Any]:
        content = [] if status == "in_progress" else [self.part(text)]
        return {
            "type": "message",
            "id": self.message_id,
            "status": status,
            "role": "assistant",
            "content": content,
        }

    @staticmethod
    def part(text: str) -> dict[str, Any]:
        return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}

    def response(self, result=None, *, text: str = "") -> dict[str, Any]:
        """The response object: in progress (no result yet) or done."""
        body = self.body
        status, incomplete, output, usage = "in_progress", None, [], None
        if result is not None:
            status = "incomplete" if result.finish_reason == "length" else "completed"
            if status == "incomplete":
                incomplete = {"reason": "max_output_tokens"}
            output = [self.message(result.text, "completed" if not incomplete else "incomplete")]
            usage = {
                "input_tokens": result.prompt_tokens,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": result.completion_tokens,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": result.prompt_tokens + result.completion_tokens,
            }
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created,
            "status": status,
            "error": None,
            "incomplete_details": incomplete,
            "instructions": body.instructions,
            "max_output_tokens": body.max_output_tokens,
            "model": self.model,
            "output": output,
            "parallel_tool_calls": True,
            "previous_response_id": body.previous_response_id,
            "temperature": body.temperature,
            "top_p": body.top_p,
            "tool_choice": "auto",
            "tools": [],
            "text": body.text or {"format": {"type": "text"}},
            "truncation": "disabled",
            "store": body.store,
            "usage": usage,
            "metadata": (body.model_extra or {}).get("metadata") or {},
        }

    def event(self, kind: str, **fields: Any) -> str:
        data = {"type": kind, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"

    def opening(self) -> list[str]:
        where = {"output_index": 0, "item_id": self.message_id, "content_index": 0}
        return [
            self.event("response.created", response=self.response()),
            self.event("response.in_progress", response=self.response()),
            self.event(
                "response.output_item.added",
                output_index=0,
                item=self.message("", "in_progress"),
            ),
            self.event("response.content_part.added", **where, part=self.part("")),
        ]

    def delta(self, piece: str) -> str:
        where = {"output_index": 0, "item_id": self.message_id, "content_index": 0}
        return self.event("response.output_text.delta", **where, delta=piece, logprobs=[])

    def closing(self, result) -> list[str]:
        where = {"output_index": 0, "item_id": self.message_id, "content_index": 0}
        done = self.response(result)
        final = "response.completed" if done["status"] == "completed" else "response.incomplete"
        return [
            self.event("response.output_text.done", **where, text=result.text, logprobs=[]),
            self.event("response.content_part.done", **where, part=self.part(result.text)),
            self.event("response.output_item.done", output_index=0, item=done["output"][0]),
            self.event(final, response=done),
        ]


@router.post("/v1/responses")
async def responses(body: ResponsesRequest, request: Request):
    server = request.app.state.genai
    body.refuse_extras()
    earlier: list[dict[str, Any]] = []
    if body.previous_response_id is not None:
        earlier = server.responses.get(body.previous_response_id)
        if earlier is None:
            raise APIError(
                400,
                f"previous_response_id {body.previous_response_id!r} is not known here: this "
                f"server keeps its last {server.responses.limit} stored responses in memory",
                param="previous_response_id",
                code="previous_response_not_found",
            )
    conversation = earlier + body.messages()
    prompt = _with_instructions(conversation, body.instructions)
    served = await server.served(request, body.model, "text")
    cancel = threading.Event()
    chosen = {
        "max_new_tokens": body.max_output_tokens,
        "temperature": body.temperature,
        "top_p": body.top_p,
        "seed": body.seed,
        "top_k": body.top_k,
        "response_format": body.response_format(),
    }
    parameters = {k: v for k, v in chosen.items() if v is not None} | {"cancel": cancel}
    reply = ResponseReply(body, served.id)
    queue = server.pool.queue(served)

    def keep(result) -> None:
        if body.store:
            answer = {"role": "assistant", "content": result.text}
            server.responses.put(reply.id, [*conversation, answer])

    if not body.stream:
        try:
            results = await server.workers.run(
                queue,
                lambda: [server.pool.load(served, server.loop)(prompt, **parameters)],
                cancel,
                watch=lambda: client_gone(request),
            )
        except GenaiError as error:
            raise from_exception(error, NAMES) from None
        keep(results[0])
        return JSONResponse(reply.response(results[0]))
    deadline = time.monotonic() + server.limits.timeout_s
    await queue.acquire(server.limits.timeout_s)
    feed = Feed()
    calls = [(prompt, None)]
    server.workers.start(
        queue, lambda: produce(server, served, calls, parameters, cancel, feed), cancel
    )
    events = Waiter(server, served.id, deadline)
    events.watch(request)
    try:
        first = await events.next(feed, cancel)
        if first[0] == "error":
            raise from_exception(first[1], NAMES)
        events.unwatch()
        stream = _events(reply, events, feed, cancel, keep)
        return StreamingResponse(stream, media_type="text/event-stream")
    except BaseException:
        cancel.set()
        raise
    finally:
        events.unwatch()


async def _events(
    reply: ResponseReply, events: Waiter, feed: Feed, cancel, keep
) -> AsyncIterator[str]:
    finished = False
    for chunk in reply.opening():
        yield chunk
    try:
        while (event := await events.next(feed, cancel))[0] != "done":
            if event[0] == "error":
                raise event[1]
            if event[0] == "piece":
                yield reply.delta(event[2])
            elif event[0] == "end":
                finished = True
                keep(event[2])
                for chunk in reply.closing(event[2]):
                    yield chunk
    except Exception as error:  # headers are sent: the error goes in the stream
        failure = from_exception(error, NAMES).body()["error"]
        yield reply.event("error", code=failure["code"], message=failure["message"], param=None)
    finally:
        if not cancel.is_set() and not finished:
            cancel.set()  # the client went away mid-stream
