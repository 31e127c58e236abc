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
from collections import deque
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
    """At most ``capacity`` generations of one model at once and ``queue_size`` waiting.

    Runs on the event loop. A text model's capacity is its engine's ``slots`` (the sequences
    it decodes together), set once it has loaded (``set_capacity``); until then one request
    runs (it loads the model) and the others wait.
    """

    def __init__(self, name: str, capacity: int, queue_size: int, *, fixed: bool = True):
        self.name = name
        self.queue_size = queue_size
        self.capacity = capacity
        self.fixed = fixed  # set by --concurrency: the model's slots do not change it
        self._waiters: deque[asyncio.Future] = deque()
        self.waiting = 0
        self.running = 0
        self.waited = 0  # requests so far that found every slot taken

    @property
    def busy(self) -> bool:
        return self.waiting > 0 or self.running > 0

    def set_capacity(self, capacity: int) -> None:
        """The model's own concurrency, once known (ignored when --concurrency fixed it)."""
        if not self.fixed and capacity >= 1:
            self.capacity = capacity
            self._wake()

    def _wake(self) -> None:
        while self._waiters and self.running < self.capacity:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.running += 1  # the slot is handed over
                waiter.set_result(None)

    async def acquire(self, timeout_s: float) -> None:
        """Wait for a slot, at most ``timeout_s`` (then 503 timeout); 503 at once when the queue is full."""
        if self.running < self.capacity and not self._waiters:
            self.running += 1
            return
        if self.waiting >= self.queue_size:
            raise APIError(
                503,
                f"model {self.name!r} has {self.queue_size} requests waiting already; try again shortly",
                type="server_error",
                code="queue_full",
            )
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        self.waiting += 1
        self.waited += 1
        try:
            await asyncio.wait_for(waiter, timeout_s)
        except BaseException as error:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed a slot while giving up: give it back
            else:
                waiter.cancel()
            if isinstance(error, asyncio.TimeoutError):
                raise timed_out(timeout_s) from None
            raise
        finally:
            self.waiting -= 1
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def release(self) -> None:
        self.running -= 1
        self._wake()


class Workers:
    """The thread pool generation runs in, and the one way work is handed to it.

    Every piece of work in flight is known with its ``cancel`` event, so that a stopping
    server can cancel what is still running (:meth:`cancel_all`) and wait for it
    (:meth:`shutdown`).
    """

    def __init__(self, limits: Limits, metrics):
        self.limits = limits
        self.metrics = metrics
        self._pool = ThreadPoolExecutor(limits.workers, thread_name_prefix="genai-serve")
        self._lock = threading.Lock()
        self._running: dict[object, threading.Event | None] = {}
        self._idle = threading.Condition(self._lock)

    @property
    def in_flight(self) -> int:
        with self._lock:
            return len(self._running)

    def track(self, cancel: threading.Event | None) -> object:
        """Count work run outside the pool (the web app's threads) as in flight; pass the
        token to :meth:`untrack` when it ends."""
        token = object()
        with self._lock:
            self._running[token] = cancel
        return token

    def untrack(self, token: object) -> None:
        with self._idle:
            self._running.pop(token, None)
            self._idle.notify_all()

    def cancel_all(self) -> int:
        """Set the cancel event of every piece of work still running; how many there were."""
        with self._lock:
            events = list(self._running.values())
        for event in events:
            if event is not None:
                event.set()
        return len(events)

    def shutdown(self, timeout: float = 0.0) -> bool:
        """Take no more work; wait up to ``timeout`` s for what runs. True when none is left."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._running and time.monotonic() < deadline:
                self._idle.wait(max(deadline - time.monotonic(), 0.01))
            return not self._running

    def start(
        self, queue: ModelQueue, work: Callable[[], T], cancel: threading.Event | None = None
    ) -> asyncio.Future[T]:
        """Run ``work`` in a thread; ``queue``'s slot (already acquired) is freed when it ends."""
        loop = asyncio.get_running_loop()
        token = self.track(cancel)

        def run() -> T:
            try:
                return work()
            finally:
                self.untrack(token)
                try:
                    loop.call_soon_threadsafe(queue.release)
                except RuntimeError:  # the event loop has closed: the server has stopped
                    pass

        try:
            return asyncio.wrap_future(self._pool.submit(run))
        except RuntimeError:  # the pool is shutting down
            self.untrack(token)
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
        future = self.start(queue, work, cancel)
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
