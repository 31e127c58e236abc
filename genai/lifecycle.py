"""Generations in flight: stopped and waited for at exit, on SIGTERM/SIGINT, and before an unload.

Every call that uses a model (``Generator.__init_subclass__`` wraps the methods) and every
text stream's decoding thread is registered here while it runs, with the cancel event its
engine watches: a :class:`CallCancel` of genai's own, joined to the caller's ``cancel``.
That gives three things:

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

``shutdown()`` and ``on_signals()``: the same stop for the app, the server and batch.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from .errors import GenaiError, GenerationCancelled, ModelNotAvailableError
from .lifecycle_exit import NOTED, end_process_now, install_hooks

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
        # The thread that started it: a text stream's reader, who gets the stream's error.
        self.starter = threading.current_thread()
        self.reason: str | None = None  # why genai stopped it: "unload" or "shutdown"

    def stop(self, reason: str) -> None:
        self.reason = self.reason or reason
        self.cancel.set()

    def typed_error(self) -> GenaiError:
        """The error a call genai stopped (``reason`` set) ends with."""
        name = getattr(self.generator, "name", "the model")
        if self.reason == "unload":
            return ModelNotAvailableError(
                f"model {name!r} was unloaded while this call ran; load it again with "
                f"genai.load({name!r})"
            )
        return GenerationCancelled(
            f"genai is shutting down (the program is exiting or was asked to stop): this "
            f"generation with {name!r} was cancelled"
        )


_LOCK = threading.Condition()  # guards everything below; notified whenever a call ends
_CALLS: set[Call] = set()
_UNFREED: dict[int, Any] = {}  # id -> generator unloaded while calls ran: freed by the last
_GENERATORS: weakref.WeakSet = weakref.WeakSet()  # every generator made: released at exit
_LOCAL = threading.local()  # .calls: the calls this thread runs (a nested call counts once)
_closing = False  # set by shutdown(): new calls are refused


class _Stopping:
    """What shutdown() and a signal's stop did, for the exit that follows."""

    def __init__(self) -> None:
        self.deadline: float | None = None  # when the first shutdown's wait ends (monotonic)
        self.stopped: list[Call] = []  # calls shutdown() stopped: their threads get a grace
        self.callbacks: list[Callable[[], Any]] = []  # on_signals' callbacks
        self.signal_timeout = EXIT_TIMEOUT
        self.signalled = False  # a signal's stop is under way
        # A signal came while its own thread ran a call: the code that call's end exits with.
        self.exit_after_call: int | None = None
        self.watchdog: threading.Timer | None = None


_STATE = _Stopping()


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
    install_hooks()
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
            given = parameters.get("cancel")  # not an event: left for the spec to refuse
            if given is None or callable(getattr(given, "is_set", None)):
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
        if call is None or call.reason is None:
            raise
        _exit_if_signalled(call)
        raise call.typed_error() from None  # the engine's own cancel message adds nothing
    finally:
        end(call)
    _exit_if_signalled(call)


@contextlib.contextmanager
def streaming(call: Call | None) -> Iterator[None]:
    """A text stream's decoding (registered by begin(thread=...)): a stream genai stopped
    ends with the typed error even when the engine returned its text so far."""
    try:
        try:
            yield
        except GenerationCancelled:
            if call is None or call.reason is None:
                raise
        if call is not None and call.reason is not None:
            raise call.typed_error() from None
    finally:
        end(call)


def calls_on(generator: Any) -> int:
    """How many calls (and text streams) run on ``generator`` now."""
    with _LOCK:
        return sum(1 for c in _CALLS if c.generator is generator)


def _busy(generator: Any) -> bool:
    return any(c.generator is generator for c in _CALLS)


def _wait(calls: list[Call], deadline: float) -> list[Call]:
    """Wait until ``calls`` (not this thread's) ended or ``deadline``; those still running."""
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
        logger.warning("genai: %s did not stop within %g s", _describe(stuck), timeout)
    return len(calls)


def _stop_all(deadline: float) -> tuple[list[Call], list[Call]]:
    """Stop every call and refuse new ones; (the calls stopped, those running at ``deadline``)."""
    with _LOCK:
        _STATE.deadline = min(_STATE.deadline or deadline, deadline)
        calls = _stop_calls()
    return calls, _wait(calls, deadline)


def _stop_calls() -> list[Call]:
    """(Under _LOCK) refuse new calls and stop every running one; the calls stopped."""
    global _closing
    _closing = True
    calls = list(_CALLS)
    for call in calls:
        call.stop("shutdown")
    _STATE.stopped += [call for call in calls if call not in _STATE.stopped]
    return calls


def stop_now() -> None:
    """Stop every call as shutdown() does, without waiting: for an engine's own exit hook,
    so its calls end with the shutdown's typed error."""
    with _LOCK:
        _stop_calls()


def on_signals(callback: Callable[[], Any] | None = None, *, timeout: float = EXIT_TIMEOUT) -> None:
    """Stop cleanly on SIGTERM and SIGINT (for the app, the server, batch); call from the
    main thread, after any framework that installs handlers of its own.

    On either signal: ``shutdown(timeout)``, a log line saying how many generations were
    cancelled, every ``callback`` given so far (each call adds one), then ``sys.exit`` with 0
    after SIGTERM when every generation stopped in time (143 when one did not), 130 after
    SIGINT (a shell's Ctrl-C code). A second signal while stopping ends the process at once.
    """
    if callback is not None:
        _STATE.callbacks.append(callback)
    _STATE.signal_timeout = timeout
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _on_signal)


def _on_signal(signum: int, frame: Any) -> None:
    name, timeout = signal.Signals(signum).name, _STATE.signal_timeout
    if _STATE.signalled:  # a second Ctrl-C: no more waiting
        end_process_now(130 if signum == signal.SIGINT else 143, f"a second {name}")
    _STATE.signalled = True
    me = threading.current_thread()
    cancelled = shutdown(timeout)  # this thread's own call cannot end while we wait here
    with _LOCK:
        still = sum(1 for c in _CALLS if c.thread is not me)
        mine = any(c.thread is me for c in _CALLS)
    code = 130 if signum == signal.SIGINT else (143 if still else 0)
    late = f", {still} still running after {timeout:g} s" if still else ""
    said = "genai: %s: %d generation(s) in flight cancelled%s; exiting with code %d"
    logger.warning(said, name, cancelled, late, code)
    for callback in _STATE.callbacks:
        try:
            callback()
        except Exception:  # the stop goes on: the exit code says what was asked
            logger.exception("genai: a %s callback failed", name)
    NOTED.code = code
    if not mine:
        raise SystemExit(code)
    # This thread is inside a call, maybe in a callback from native code (llama.cpp's):
    # raising there would unwind through C++ frames. The call was cancelled; it raises
    # SystemExit itself once it has ended (_exit_if_signalled), or the watchdog ends the
    # process if it does not end in time.
    _STATE.exit_after_call = code
    why = f"the generation running when {name} came did not stop within {timeout:g} s"
    _STATE.watchdog = threading.Timer(timeout, end_process_now, (code, why))
    _STATE.watchdog.daemon = True
    _STATE.watchdog.start()


def _exit_if_signalled(call: Call | None) -> None:
    """After a call a signal's stop cancelled in its own thread: exit as the signal asked."""
    code = _STATE.exit_after_call
    if call is None or code is None or call.thread is not threading.current_thread():
        return
    if _STATE.watchdog is not None:
        _STATE.watchdog.cancel()
    raise SystemExit(code)


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
    _, stuck = _stop_all(max(now, min(_STATE.deadline or now + EXIT_TIMEOUT, now + EXIT_TIMEOUT)))
    if stuck:
        end_process_now(None, f"{_describe(stuck)} still running after the program ended")
    # A stopped call's threads get a moment to finish their own code (report the error,
    # leave native code such as a save); a thread that goes on waiting for work is left be.
    grace = time.monotonic() + THREAD_GRACE
    threads = {t for c in _STATE.stopped for t in (c.thread, c.starter) if t.daemon}
    for thread in threads - {threading.current_thread()}:
        thread.join(max(0.0, grace - time.monotonic()))
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
    names = ", ".join(sorted({str(getattr(c.generator, "name", "a text stream")) for c in calls}))
    return f"{len(calls)} generation(s) ({names})"


def _forget_in_child() -> None:
    """A forked child runs none of its parent's calls."""
    global _LOCK, _CALLS
    _LOCK, _CALLS = threading.Condition(), set()
    _LOCAL.calls = []


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)
