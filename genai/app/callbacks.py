"""What every tab's callbacks share: errors shown in the page, the page's values checked by
the parameter specs, model work run off the event loop so Stop really stops it, a text
stream carried from a worker thread to the page, and the audio tabs' outputs.

Long jobs run in a worker thread; when Gradio cancels the request (the tab's Stop button,
or a client's ``job.cancel()``) the job's cancel event is set, and the generator stops at
its next step: the progress callback raises GenerationCancelled between denoising steps,
sentences and tokens, and a generator whose spec takes ``cancel`` gets the event itself.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import queue
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import gradio as gr

import genai

from ..errors import GenerationCancelled, InvalidParameterError
from ..params import ParamSpec

logger = logging.getLogger("genai.app")

MAX_SEED = 2**32 - 1


@contextlib.contextmanager
def shown_in_page() -> Iterator[None]:
    """genai's errors (and bugs) become a message in the page, never a stack trace."""
    try:
        yield
    except gr.Error:
        raise
    except genai.GenaiError as error:
        raise gr.Error(str(error), print_exception=False) from error
    except Exception as error:
        logger.exception("unexpected error in the web app")
        raise gr.Error(
            f"something went wrong ({type(error).__name__}: {error}); the server log has the details"
        ) from error


def require_text(value: Any, what: str) -> str:
    """The stripped text, or a page message saying it is empty (or not text)."""
    if value is not None and not isinstance(value, str):
        raise gr.Error(f"{what} must be text, not {type(value).__name__}.", print_exception=False)
    text = (value or "").strip()
    if not text:
        raise gr.Error(f"{what} is empty: type something first.", print_exception=False)
    return text


# --- the page's values, checked before any work ----------------------------------------------


def number(value: Any, name: str) -> int | float | None:
    """A control's number (a whole float as an int); None for an empty box; anything else
    (text sent for a slider, nan, inf) is an InvalidParameterError naming the control."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidParameterError(f"{name}={value!r} must be a number")
    if not math.isfinite(value):
        raise InvalidParameterError(f"{name}={value} must be a finite number")
    return int(value) if isinstance(value, float) and value.is_integer() else value


def as_seed(value: Any) -> int | None:
    """A seed box value: -1 (or empty) means random; a whole number is checked by the spec."""
    seed = number(value, "seed")
    return None if seed is None or seed == -1 else seed


def checked(spec: ParamSpec | None, **values: Any) -> dict[str, Any]:
    """The values that are set (None: the model's own default), each checked by the spec that
    declares it (the model's call spec, or the modality's) before any model work."""
    found = {name: value for name, value in values.items() if value is not None}
    for name, value in found.items():
        if spec is not None and name in spec:
            found[name] = spec[name].validate(value, "the page")
    return found


# --- model work off the event loop, cancelled with the request -----------------------------


def reporter(
    progress: gr.Progress | None, what: str, unit: str, cancel: threading.Event | None
) -> Callable[[int, int], None]:
    """A generator's ``progress(step, total)``: shows the step, raises once cancelled."""

    def report(step: int, total: int) -> None:
        if cancel is not None and cancel.is_set():
            raise GenerationCancelled(f"{what} stopped at {unit} {step} of {total}")
        if progress is not None:
            progress((step, total), desc=what, unit=unit)

    return report


def with_cancel(
    generator: Any, cancel: threading.Event | None, keywords: dict[str, Any]
) -> dict[str, Any]:
    """Hand ``cancel`` to a generator whose call spec takes it."""
    if cancel is not None and "cancel" in getattr(generator, "call_spec", ()):
        return {**keywords, "cancel": cancel}
    return keywords


@dataclasses.dataclass(eq=False)
class Reply:
    """A streamed reply the page can stop: its cancel event, and whether Stop set it."""

    cancel: threading.Event
    stopped: bool = False


class PageStops:
    """The Stop button of a streamed reply, per browser session.

    Gradio's own cancel (``cancels=[event]``) races a reply that is streaming: a piece already
    on its way lands after it, and the page can mark the reply's outputs "Error". Instead Stop
    sets the cancel event of the session's running replies: the model stops at its next token
    and the reply ends as any reply ends, saying it was stopped. A reply still waiting in the
    queue when Stop is pressed is not touched; it runs when its turn comes.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[str, list[Reply]] = {}

    @contextlib.contextmanager
    def running(self, session: str | None, cancel: threading.Event) -> Iterator[Reply]:
        """While the block runs, Stop in ``session`` sets ``cancel``."""
        reply, key = Reply(cancel), session or ""
        with self._lock:
            self._running.setdefault(key, []).append(reply)
        try:
            yield reply
        finally:
            with self._lock:
                replies = self._running[key]
                replies.remove(reply)
                if not replies:
                    del self._running[key]

    def stop(self, session: str | None) -> int:
        """Stop the session's running replies; returns how many there were."""
        with self._lock:
            replies = list(self._running.get(session or "", []))
        for reply in replies:
            reply.stopped = True
            reply.cancel.set()
        return len(replies)


async def pieces_of(
    run: Callable[[Callable[[str], None], threading.Event], Any],
) -> AsyncIterator[tuple[str, Any]]:
    """``("piece", text)`` for each piece ``run(put, cancel)`` hands to ``put`` in a worker
    thread, as it comes, then ``("done", what run returned)``. Its errors are raised here.
    When the reader stops (the request is cancelled), ``cancel`` is set and ``put`` raises
    GenerationCancelled, so the model stops at its next token."""
    pieces: queue.Queue = queue.Queue()
    cancel = threading.Event()

    def put(piece: str) -> None:
        if cancel.is_set():
            raise GenerationCancelled("the page stopped reading the reply")
        pieces.put(("piece", piece))

    def work() -> None:
        try:
            pieces.put(("done", run(put, cancel)))
        except BaseException as error:  # noqa: BLE001 - handed to the reader, raised there
            pieces.put(("error", error))

    threading.Thread(target=work, name="genai-app-stream", daemon=True).start()
    try:
        while True:
            kind, item = await anyio.to_thread.run_sync(pieces.get, abandon_on_cancel=True)
            if kind == "error":
                raise item
            yield kind, item
            if kind == "done":
                return
    finally:
        cancel.set()


def audio_outputs(result: Any, files: list[Path], started: float) -> dict[str, Any]:
    """What an audio tab shows: the WAV, a mel picture, a piano roll if the result draws one
    (a MIDI-based model), the other files (MIDI, the JSON record) and a summary."""
    sound = next(str(p) for p in files if p.suffix.lower() in (".wav", ".flac"))
    has_notes = getattr(result, "midi", None) is not None
    return {
        "sound": sound,
        "mel": result.spectrogram(width=800, height=200),
        "notes": result.piano_roll() if has_notes else None,
        "others": [str(p) for p in files if str(p) != sound],
        "summary": (
            f"{result.duration:.1f} s at {result.sample_rate} Hz in "
            f"{time.perf_counter() - started:.1f} s on {result.device} / {result.dtype} · "
            f"seed {result.seed} · {result.model}"
        ),
    }
