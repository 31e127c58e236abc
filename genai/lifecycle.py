"""Generations in flight: stopped and waited for at exit, on SIGTERM/SIGINT, and before an unload.

Every call that uses a model (``Generator.__init_subclass__`` wraps ``__call__``,
``interpolate``, ``embed`` and ``count_tokens``) and every text stream's decoding thread is
registered here while it runs, with the cancel event its engine watches: for a family whose
spec takes ``cancel``, the call gets a :class:`CallCancel` of genai's own, joined to the
caller's ``cancel`` if one was given. That gives three things:

- ``generator.in_use``: how many calls run on a generator now (the server's LRU skips those);
- ``generator.unload()`` during a call: the call is told to stop and waited for (bounded); it
  ends with ModelNotAvailableError (or its result, if it finished first), and the model's
  memory is freed when the last call has ended, never under it;
- a clean exit. CPython stops daemon threads abruptly when it finalizes: a daemon thread that
  comes back from native code (ONNX Runtime, torch, llama.cpp) after that point is ended by
  pthread_exit, whose forced unwinding through C++ frames aborts the process (exit 134,
  "terminate called without an active exception" / "FATAL: exception not rethrown"). So at
  exit every running generation is cancelled and waited for (up to 5 s) before finalization
  starts, and the loaded models are released while the interpreter is whole.

``shutdown()`` and ``on_signals()`` are the same stop for long-running front ends (the app,
the server, batch).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from .errors import GenaiError, GenerationCancelled, ModelNotAvailableError

logger = logging.getLogger("genai")

EXIT_TIMEOUT = 5.0  # seconds exit, signals and unload wait for running generations to stop
THREAD_GRACE = 1.0  # seconds a stopped call's thread gets to finish its own code at exit


class CallCancel(threading.Event):
    """A running call's cancel event: set by genai (exit, unload), or through the caller's own."""

    def __init__(self, caller: Any = None):
        super().__init__()
        self.caller = caller  # the caller's ``cancel`` (anything with is_set()), or None

    def is_set(self) -> bool:
        return super().is_set() or (self.caller is not None and bool(self.caller.is_set()))


class Call:
    """One generation running now: its generator, the event its engine watches, its thread."""

    def __init__(self, generator: Any, cancel: threading.Event, thread: threading.Thread):
        self.generator, self.cancel, self.thread = generator, cancel, thread
        self.reason: str | None = None  # why genai stopped it: "unload" or "shutdown"

    def stop(self, reason: str) -> None:
        self.reason = self.reason or reason
        self.cancel.set()

    def typed_error(self) -> GenaiError | None:
        """The error a call genai stopped ends with; None when genai did not stop it."""
        name = getattr(self.generator, "name", "the model")
        if self.reason == "unload":
            return ModelNotAvailableError(
                f"model {name!r} was unloaded while this call ran; load it again with "
                f"genai.load({name!r})"
            )
        if self.reason == "shutdown":
            return GenerationCancelled(
                f"genai is shutting down (the program is exiting or was asked to stop): this "
                f"generation with {name!r} was cancelled"
            )
        return None


_LOCK = threading.Condition()  # guards everything below; notified whenever a call ends
_CALLS: set[Call] = set()
_UNFREED: dict[int, Any] = {}  # id -> generator unloaded while calls ran: freed by the last
_GENERATORS: weakref.WeakSet = weakref.WeakSet()  # every generator made: released at exit
_LOCAL = threading.local()  # .calls: the calls this thread runs (a nested call counts once)
_closing = False  # set by shutdown(): new calls are refused


# --- the registry ----------------------------------------------------------------------------


def remember(generator: Any) -> None:
    """Note a new generator, so exit can release it (called by Generator.__init__)."""
    with _LOCK:
        _GENERATORS.add(generator)


def begin(
    generator: Any,
    *,
    parameters: dict[str, Any] | None = None,
    cancel: threading.Event | None = None,
    thread: threading.Thread | None = None,
) -> Call | None:
    """Register a call on ``generator`` running in ``thread`` (default: this one).

    Refused with a typed error when the generator was unloaded or genai is shutting down.
    With ``parameters`` (a call's keywords) and a family whose spec takes ``cancel``, the
    keywords get a CallCancel joined to the caller's own ``cancel``. ``cancel`` is the event
    the engine watches otherwise (a text stream's). None for a call nested in a call on the
    same generator in the same thread: it is already counted.
    """
    _install_exit_code_hooks()
    own_thread = thread is None
    thread = thread or threading.current_thread()
    with _LOCK:
        if _closing:
            raise GenerationCancelled(
                "genai is shutting down (the program is exiting or was asked to stop); "
                "no new generation starts"
            )
        if generator is not None:
            generator.check_loaded()
        running_here = getattr(_LOCAL, "calls", [])
        if own_thread and any(c.generator is generator for c in running_here):
            return None
        if parameters is not None and "cancel" in generator.call_spec:
            given = parameters.get("cancel")
            if given is None or callable(
                getattr(given, "is_set", None)
            ):  # else the spec refuses it
                cancel = parameters["cancel"] = CallCancel(given)
        call = Call(generator, cancel or CallCancel(), thread)
        _CALLS.add(call)
    if own_thread:
        _LOCAL.calls = [*running_here, call]
    return call


def end(call: Call | None) -> None:
    """The call has ended: it no longer counts, and a model unloaded under it is freed now."""
    if call is None:
        return
    if call.thread is threading.current_thread():
        _LOCAL.calls = [c for c in getattr(_LOCAL, "calls", []) if c is not call]
    unfreed = None
    with _LOCK:
        _CALLS.discard(call)
        generator = call.generator
        if generator is not None and id(generator) in _UNFREED and not _busy(generator):
            unfreed = _UNFREED.pop(id(generator))
        _LOCK.notify_all()
    if unfreed is not None:
        unfreed._free()


@contextlib.contextmanager
def running(generator: Any, parameters: dict[str, Any] | None = None) -> Iterator[None]:
    """A generator call in flight (see begin); stopped by genai, it ends with a typed error."""
    call = begin(generator, parameters=parameters)
    try:
        yield
    except GenerationCancelled:
        typed = call.typed_error() if call is not None else None
        if typed is None:
            raise
        raise typed from None  # the engine's own cancel message adds nothing
    finally:
        end(call)


@contextlib.contextmanager
def streaming(call: Call | None) -> Iterator[None]:
    """A text stream's decoding (registered by begin(thread=...)): a stream genai stopped
    ends with the typed error even when the engine returned its text so far."""
    try:
        try:
            yield
        except GenerationCancelled:
            typed = call.typed_error() if call is not None else None
            if typed is None:
                raise
            raise typed from None  # the engine's own cancel message adds nothing
        typed = call.typed_error() if call is not None else None
        if typed is not None:
            raise typed
    finally:
        end(call)


def calls_on(generator: Any) -> int:
    """How many calls (and text streams) run on ``generator`` now."""
    with _LOCK:
        return sum(1 for c in _CALLS if c.generator is generator)


def _busy(generator: Any) -> bool:
    return any(c.generator is generator for c in _CALLS)


def _wait(calls: list[Call], deadline: float) -> list[Call]:
    """Wait until ``calls`` ended (those of this thread cannot: skipped) or ``deadline``; the
    ones still running."""
    me = threading.current_thread()
    with _LOCK:
        while True:
            left = [c for c in calls if c in _CALLS and c.thread is not me]
            remaining = deadline - time.monotonic()
            if not left or remaining <= 0:
                return left
            _LOCK.wait(remaining)


# --- unload ----------------------------------------------------------------------------------


def retire(generators: list[Any], timeout: float = EXIT_TIMEOUT, *, if_idle: bool = False) -> int:
    """Unload ``generators``: refuse new calls, stop the running ones (they end with
    ModelNotAvailableError) and wait up to ``timeout`` seconds for them; each model's memory
    is freed now, or by its last call when it ends. With ``if_idle``, a generator in use is
    left loaded. Returns how many were unloaded."""
    with _LOCK:
        chosen = [g for g in generators if g.loaded and not (if_idle and _busy(g))]
        for generator in chosen:
            generator.loaded = False
        calls = [c for c in _CALLS if any(c.generator is g for g in chosen)]
        for call in calls:
            call.stop("unload")
    _wait(calls, time.monotonic() + timeout)
    idle = []
    with _LOCK:
        for generator in chosen:
            if _busy(generator):
                _UNFREED[id(generator)] = generator
            else:
                idle.append(generator)
    for generator in idle:
        generator._free()
    return len(chosen)


# --- shutdown, exit, signals -----------------------------------------------------------------


def shutdown(timeout: float = EXIT_TIMEOUT) -> int:
    """Tell every running generation to stop (through its cancel event; it ends with
    GenerationCancelled), refuse new ones from now on, and wait up to ``timeout`` seconds for
    them to end. Returns how many were told to stop. Runs by itself at interpreter exit."""
    calls, stuck = _stop_all(time.monotonic() + timeout)
    if stuck:
        logger.warning(
            "genai: %d of %d generation(s) did not stop within %g s: %s",
            len(stuck),
            len(calls),
            timeout,
            _describe(stuck),
        )
    return len(calls)


def _stop_all(deadline: float) -> tuple[list[Call], list[Call]]:
    """Stop every call and refuse new ones; (the calls stopped, those running at ``deadline``)."""
    global _closing
    with _LOCK:
        _closing = True
        _STATE.deadline = min(_STATE.deadline or deadline, deadline)
        calls = list(_CALLS)
        for call in calls:
            call.stop("shutdown")
    return calls, _wait(calls, deadline)


def on_signals(callback: Callable[[], Any] | None = None, *, timeout: float = EXIT_TIMEOUT) -> None:
    """Stop cleanly on SIGTERM and SIGINT (for the app, the server, batch); call from the
    main thread, after any framework that installs handlers of its own.

    On either signal: ``shutdown(timeout)``, a log line saying how many generations were
    cancelled, ``callback()`` if given, then ``sys.exit`` with 0 after SIGTERM when every
    generation stopped in time (143 when one did not), 130 after SIGINT (a shell's Ctrl-C
    code). A second signal while stopping ends the process at once.
    """

    def stop(signum: int, frame: Any) -> None:
        name = signal.Signals(signum).name
        if _STATE.stopping:  # a second Ctrl-C: no more waiting
            _end_process_now(130 if signum == signal.SIGINT else 143, f"a second {name}")
        _STATE.stopping = True
        cancelled = shutdown(timeout)
        with _LOCK:
            still = len(_CALLS)
        code = 130 if signum == signal.SIGINT else (143 if still else 0)
        logger.warning(
            "genai: %s: %d generation(s) in flight cancelled%s; exiting with code %d",
            name,
            cancelled,
            f", {still} still running after {timeout:g} s" if still else "",
            code,
        )
        if callback is not None:
            try:
                callback()
            except Exception:  # the stop goes on: the exit code says what was asked
                logger.exception("genai: the %s callback failed", name)
        _STATE.code = code
        raise SystemExit(code)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)


def _at_exit() -> None:
    """Before CPython finalizes: stop what still runs, then release the models (see top).

    An ``atexit`` handler runs after the non-daemon threads were joined (so their work is
    never cut short) and while daemon threads still run; threading's own exit hooks
    (threading._register_atexit) run before that join, too early to tell the two apart.
    """
    with _LOCK:
        if not _CALLS and not _GENERATORS:
            return
    now = time.monotonic()
    # After a shutdown() (a signal), what is left of its bound; else EXIT_TIMEOUT from now.
    calls, stuck = _stop_all(
        max(now, min(_STATE.deadline or now + EXIT_TIMEOUT, now + EXIT_TIMEOUT))
    )
    if stuck:
        _end_process_now(None, f"{_describe(stuck)} still running after the program ended")
    # A stopped call's thread gets a moment to finish its own code (print its error, leave
    # native code such as a save); a thread that goes on waiting for work is left to Python.
    grace = time.monotonic() + THREAD_GRACE
    for call in calls:
        if call.thread.daemon and call.thread is not threading.current_thread():
            call.thread.join(max(0.0, grace - time.monotonic()))
    # Released now, in one thread and while nothing decodes, rather than in whatever order
    # finalization reaches them (a llama.cpp server's own threads run until it is dropped).
    with _LOCK:
        generators = [g for g in _GENERATORS if g.loaded and not _busy(g)]
    for generator in generators:
        generator.loaded = False
        with contextlib.suppress(Exception):
            generator._release()


atexit.register(_at_exit)


def _describe(calls: list[Call]) -> str:
    names = sorted({getattr(c.generator, "name", "a text stream") for c in calls})
    return f"{len(calls)} generation(s) ({', '.join(map(str, names))})"


# --- ending the process when a generation would not stop ---------------------------------------


class _ExitState:
    code: int | None = None  # what sys.exit or a signal asked for
    uncaught: type | None = None  # the uncaught exception sys.excepthook reported
    stopping = False  # a signal's stop is under way
    deadline: float | None = None  # when the first shutdown stops waiting (time.monotonic)
    hooked = False


_STATE = _ExitState()


def _end_process_now(code: int | None, why: str) -> None:
    """End the process without finalizing, with the exit code the program asked for.

    Finalizing while a thread is inside native code aborts (see top), so when a generation
    would not stop in time, the process ends with os._exit, which skips finalization:
    nothing can abort. What is lost: atexit handlers that would run after genai's (those
    registered before ``import genai``); output is flushed first. The code is the one the
    program asked for, as far as Python tells: sys.exit's argument (sys.exit is wrapped to
    note it; a bare ``raise SystemExit(n)`` is not seen and counts as 0), 1 after an uncaught
    exception (whose traceback Python has already printed), the signal's for on_signals,
    else 0. An uncaught KeyboardInterrupt ends by SIGINT, as Python itself does.
    """
    code = _requested_code() if code is None else code
    logger.warning("genai: %s; ending the process now (exit code %s)", why, code)
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    with contextlib.suppress(Exception):  # output C libraries buffered (printf)
        import ctypes

        ctypes.CDLL(None).fflush(None)
    if code == "SIGINT":
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
        code = 130
    os._exit(code)


def _requested_code() -> int | str:
    uncaught = _STATE.uncaught
    if uncaught is None and sys.excepthook is not _noting_excepthook:  # replaced after us
        uncaught = getattr(sys, "last_type", None)
    if uncaught is not None:
        return "SIGINT" if issubclass(uncaught, KeyboardInterrupt) else 1
    return 0 if _STATE.code is None else _STATE.code


def _exit_status(status: Any) -> int:
    """The process exit code SystemExit(status) gives."""
    if status is None:
        return 0
    return status if isinstance(status, int) else 1


_previous_excepthook = sys.excepthook
_previous_exit = sys.exit


def _noting_excepthook(kind: type, value: BaseException, traceback: Any) -> None:
    _STATE.uncaught = kind
    _previous_excepthook(kind, value, traceback)


def _noting_exit(status: Any = None) -> None:
    _STATE.code = _exit_status(status)
    _previous_exit(status)


def _install_exit_code_hooks() -> None:
    """Wrap sys.excepthook and sys.exit to note the exit code (once, at the first call)."""
    global _previous_excepthook, _previous_exit
    if _STATE.hooked:
        return
    _STATE.hooked = True
    _previous_excepthook, sys.excepthook = sys.excepthook, _noting_excepthook
    _previous_exit, sys.exit = sys.exit, _noting_exit


def _forget_in_child() -> None:
    """A forked child runs none of its parent's calls."""
    global _LOCK, _CALLS
    _LOCK, _CALLS = threading.Condition(), set()
    _LOCAL.calls = []


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)
