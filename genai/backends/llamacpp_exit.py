"""Leaving llama.cpp before the interpreter ends (issue 22).

A thread still inside llama.cpp when Python finalizes is ended by a forced unwind through
llama.cpp's C++ frames, which aborts the process ("FATAL: exception not rethrown"). At exit
every request is told to stop at its next chunk (llama.cpp sends one per token, and one per
prompt batch while it reads) and exit waits, a few seconds at most, for them to return.

This covers every call genai makes into llama.cpp (generation, counting, trimming, reading an
answer back, embeddings), whichever thread makes it. A caller's own cancel event (``cancel=``,
or genai.lifecycle's shutdown setting it) stops a request the same way; a thread then raises
GenerationCancelled in Python, outside llama.cpp. A request waiting for a free slot waits in
Python (not inside llama.cpp) and gives up when exit begins. The servers themselves are
released by their destructors, which stop and join llama.cpp's own loop thread and call no
Python code: dropping a generator (or exiting with one loaded) cannot abort.
"""

from __future__ import annotations

import atexit
import threading
from typing import Any

from ..errors import GenerationCancelled

EXITING = threading.Event()
_INSIDE_COUNT = [0]
_COUNT_LOCK = threading.Lock()
EXIT_WAIT_S = 5.0


def stopping(cancel: threading.Event | None) -> bool:
    return EXITING.is_set() or (cancel is not None and cancel.is_set())


def run(handler, body: dict[str, Any], on_chunk=None):
    """Call into llama.cpp, counted so that exit can wait for the call to return."""
    with _COUNT_LOCK:
        if EXITING.is_set():
            raise GenerationCancelled("the process is exiting")
        _INSIDE_COUNT[0] += 1
    try:
        return handler(body) if on_chunk is None else handler(body, on_chunk)
    finally:
        with _COUNT_LOCK:
            _INSIDE_COUNT[0] -= 1


@atexit.register
def _leave_llamacpp() -> None:
    import time

    from .. import lifecycle

    lifecycle.stop_now()  # the calls genai runs end with the shutdown's typed error
    EXITING.set()
    deadline = time.monotonic() + EXIT_WAIT_S
    while _INSIDE_COUNT[0] and time.monotonic() < deadline:
        time.sleep(0.01)
