"""Ending the process at once, with the exit code the program asked for (genai.lifecycle's last resort).

When a generation will not stop within the exit's bound, letting CPython finalize would abort
the process as the thread comes back from native code (see genai.lifecycle). os._exit skips
finalization, so nothing can abort; what it loses is the atexit handlers that would have run
after genai's (those registered before ``import genai``), and output not yet flushed, which
is flushed here first.

os._exit needs the code, which Python does not tell an atexit handler: sys.exit and
sys.excepthook are wrapped (at the first generation) to note it. The code is sys.exit's
argument; 1 after an uncaught exception (Python has printed its traceback already); SIGINT
after an uncaught KeyboardInterrupt, as Python itself ends then; else 0. A bare
``raise SystemExit(n)`` is not seen and counts as 0.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
from typing import Any

logger = logging.getLogger("genai")


class _Noted:
    code: int | None = None  # what sys.exit (or a signal's stop) asked for
    uncaught: type | None = None  # the uncaught exception sys.excepthook reported
    hooked = False


NOTED = _Noted()


def end_process_now(code: int | None, why: str) -> None:
    """Flush output and end the process without finalizing; ``code`` None: the one asked for."""
    exit_code = requested_code() if code is None else code
    shown = 130 if exit_code == "SIGINT" else exit_code
    logger.warning("genai: %s; ending the process now (exit code %s)", why, shown)
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    with contextlib.suppress(Exception):  # what C libraries buffered (printf)
        import ctypes

        ctypes.CDLL(None).fflush(None)
    if exit_code == "SIGINT":
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    os._exit(shown)


def requested_code() -> int | str:
    """The exit code the program asked for so far ("SIGINT" for an uncaught KeyboardInterrupt)."""
    uncaught = NOTED.uncaught
    if uncaught is None and NOTED.hooked and sys.excepthook is not _noting_excepthook:
        uncaught = getattr(sys, "last_type", None)  # the hook was replaced after ours
    if uncaught is not None:
        return "SIGINT" if issubclass(uncaught, KeyboardInterrupt) else 1
    return 0 if NOTED.code is None else NOTED.code


def install_hooks() -> None:
    """Wrap sys.excepthook and sys.exit to note the exit code (once)."""
    global _previous_excepthook, _previous_exit
    if NOTED.hooked:
        return
    NOTED.hooked = True
    _previous_excepthook, sys.excepthook = sys.excepthook, _noting_excepthook
    _previous_exit, sys.exit = sys.exit, _noting_exit


def _exit_status(status: Any) -> int:
    """The process exit code SystemExit(status) gives."""
    if status is None:
        return 0
    return status if isinstance(status, int) else 1


_previous_excepthook = sys.excepthook
_previous_exit = sys.exit


def _noting_excepthook(kind: type, value: BaseException, traceback: Any) -> None:
    NOTED.uncaught = kind
    _previous_excepthook(kind, value, traceback)


def _noting_exit(status: Any = None) -> None:
    NOTED.code = _exit_status(status)
    _previous_exit(status)
