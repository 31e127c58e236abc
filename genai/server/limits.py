"""What keeps one client from starving the others: body size, ``n``, sizes and lengths, a
bounded queue per model (503 + Retry-After when full) and a per-request timeout.

Generation runs in worker threads, never on the event loop. A model's slot is given back
when its worker thread ends, not when the client stops waiting: a timed-out or abandoned
request cancels its generation (through ``cancel``) and holds its slot until it has stopped.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from .config import Limits
from .errors import APIError

T = TypeVar("T")


class BodySizeLimit:
    """ASGI middleware: a request body above ``max_bytes`` gets 413 (declared or streamed)."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        too_large = APIError(
            413,
            f"the request body is above this server's limit of {self.max_bytes} bytes",
            code="request_too_large",
        )
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await too_large.response()(scope, receive, send)
        seen = 0

        async def counted_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise too_large
            return message

        await self.app(scope, counted_receive, send)


class ModelQueue:
    """At most ``concurrency`` generations of one model at once and ``queue_size`` waiting."""

    def __init__(self, name: str, concurrency: int, queue_size: int):
        self.name = name
        self.queue_size = queue_size
        self._slots = asyncio.Semaphore(concurrency)
        self.waiting = 0
        self.running = 0

    @property
    def busy(self) -> bool:
        return self.waiting > 0 or self.running > 0

    async def acquire(self, timeout_s: float) -> None:
        """Wait for a slot, at most ``timeout_s`` (then 503 timeout); 503 at once when the queue is full."""
        if self.waiting >= self.queue_size:
            raise APIError(
                503,
                f"model {self.name!r} has {self.queue_size} requests waiting already; try again shortly",
                type="server_error",
                code="queue_full",
            )
        self.waiting += 1
        try:
            await asyncio.wait_for(self._slots.acquire(), timeout_s)
        except asyncio.TimeoutError:
            raise timed_out(timeout_s) from None
        finally:
            self.waiting -= 1
        self.running += 1

    def release(self) -> None:
        self.running -= 1
        self._slots.release()


class Workers:
    """The thread pool generation runs in, and the one way work is handed to it."""

    def __init__(self, limits: Limits, metrics):
        self.limits = limits
        self.metrics = metrics
        self._pool = ThreadPoolExecutor(limits.workers, thread_name_prefix="genai-serve")

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def start(self, queue: ModelQueue, work: Callable[[], T]) -> asyncio.Future[T]:
        """Run ``work`` in a thread; ``queue``'s slot (already acquired) is freed when it ends."""
        loop = asyncio.get_running_loop()

        def run() -> T:
            try:
                return work()
            finally:
                loop.call_soon_threadsafe(queue.release)

        try:
            return asyncio.wrap_future(self._pool.submit(run))
        except RuntimeError:  # the pool is shutting down
            queue.release()
            raise APIError(503, "the server is shutting down", type="server_error") from None

    async def run(
        self,
        queue: ModelQueue,
        work: Callable[[], T],
        cancel: threading.Event,
        *,
        watch: Callable[[], Any] | None = None,
    ) -> T:
        """Queue for a slot, run ``work`` in a thread and wait for it within the timeout.

        ``watch`` (a coroutine function) runs meanwhile and returns when the client has gone:
        then, as on timeout, ``cancel`` is set and the answer is abandoned.
        """
        deadline = time.monotonic() + self.limits.timeout_s
        await queue.acquire(self.limits.timeout_s)
        future = self.start(queue, work)
        watcher = asyncio.ensure_future(watch()) if watch is not None else None
        try:
            waiting = {future} | ({watcher} if watcher else set())
            done, _ = await asyncio.wait(
                waiting,
                timeout=max(deadline - time.monotonic(), 0),
                return_when=asyncio.FIRST_COMPLETED,
            )
            if future in done:
                return future.result()
            cancel.set()
            self.metrics.count("genai_cancelled_total", model=queue.name)
            if watcher in done:
                raise APIError(499, "the client closed the connection", code="client_closed")
            raise timed_out(self.limits.timeout_s)
        except asyncio.CancelledError:
            cancel.set()
            raise
        finally:
            if watcher is not None:
                watcher.cancel()


def timed_out(seconds: float) -> APIError:
    return APIError(
        503,
        f"the request took longer than this server's limit of {seconds:g} s and was stopped; "
        "ask for less (max_tokens, n, size) or raise --timeout",
        type="server_error",
        code="timeout",
    )


async def client_gone(request) -> None:
    """Returns once the client has closed the connection (the body has been read already)."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return
