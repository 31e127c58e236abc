"""Stopping the app cleanly: on SIGTERM or SIGINT the running jobs are told to stop (through
the cancel events genai already has) and waited for up to 5 s, the server closes, and the
process exits with 0 (SIGTERM: a clean drain) or 130 (SIGINT), saying how many jobs it
cancelled. ``genai.lifecycle.on_signals`` does the installing where genai has it.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

logger = logging.getLogger("genai.app")

DRAIN_SECONDS = 5.0


def stop_on_signals(demo: Any) -> None:
    """Install the handlers for a page served from the main thread (else nothing: the host,
    e.g. ``genai serve``, has its own)."""
    if threading.current_thread() is not threading.main_thread():
        return
    studio = demo.studio

    def drain() -> int:
        count = studio.shutdown(DRAIN_SECONDS)
        logger.warning("genai studio: stopping; %d running job(s) cancelled", count)
        demo.close()
        return count

    try:
        from ..lifecycle import on_signals
    except ImportError:
        on_signals = None
    if on_signals is not None:
        on_signals(callback=drain)
        return

    def stop(signum: int, frame: Any) -> None:
        drain()
        raise SystemExit(130 if signum == signal.SIGINT else 0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
