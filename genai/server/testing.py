"""A real server in a background thread, on a free loopback port: for tests and benchmarks.

with running(ServerConfig(models={"chat": "smollm2-135m-gguf"}, ui=False)) as base_url:
    OpenAI(base_url=base_url + "/v1", api_key="none").chat.completions.create(...)
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

from .config import ServerConfig


@contextlib.contextmanager
def running(app: ServerConfig | Any, *, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``app`` (or ``create_app(config)``) with uvicorn until the block ends; yields the base URL (no /v1)."""
    import uvicorn

    from .app import create_app

    if isinstance(app, ServerConfig):
        app = create_app(app)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, name="genai-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    address = server.servers[0].sockets[0].getsockname()
    try:
        yield f"http://{address[0]}:{address[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
