"""Stopping the app cleanly: ``genai.lifecycle.on_signals`` handles SIGTERM and SIGINT (every
running generation told to stop and waited for, a line saying how many, exit 0 or 130); the
app adds its own part: its jobs' cancel events set, and the server closed.
"""

from __future__ import annotations

import threading
from typing import Any

from ..lifecycle import on_signals

DRAIN_SECONDS = 5.0


def stop_on_signals(demo: Any) -> None:
    """Install the handlers for a page served from the main thread (else nothing: the host,
    e.g. ``genai serve``, has its own)."""
    if threading.current_thread() is not threading.main_thread():
        return
    studio = demo.studio

    def drain() -> None:
        studio.shutdown(DRAIN_SECONDS)  # what is left of the page's jobs (model loads, saves)
        demo.close()

    on_signals(callback=drain, timeout=DRAIN_SECONDS)
