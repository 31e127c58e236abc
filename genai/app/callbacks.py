"""What every tab's callbacks share: errors shown in the page, loading models, running the
model work off the event loop so Stop really stops it, and where files go.

Long jobs run in a worker thread (``in_thread`` / ``streamed``); when Gradio cancels the
request (the tab's Stop button, or a client's ``job.cancel()``) the job's cancel event is
set, and the generator stops at its next step: the progress callback raises
GenerationCancelled between denoising steps, sentences and tokens, a text stream is
closed, and a generator whose spec takes ``cancel`` gets the event itself.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import logging
import os
import shutil
import tempfile
import threading
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import anyio
import gradio as gr

import genai

from ..errors import GenerationCancelled
from .models import find_loaded, resolve_for

logger = logging.getLogger("genai.app")

OUTPUT_DIR_ENV = "GENAI_APP_OUTPUT_DIR"
MAX_SEED = 2**32 - 1
T = TypeVar("T")


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


def require_text(value: str | None, what: str) -> str:
    """The stripped text, or a page message saying it is empty."""
    text = (value or "").strip()
    if not text:
        raise gr.Error(f"{what} is empty: type something first.", print_exception=False)
    return text


def as_seed(value: Any) -> int | None:
    """A seed box value: -1 (or empty) means random; whole numbers pass; genai refuses the rest."""
    if value is None or value == "" or value == -1:
        return None
    return as_int(value)


def as_int(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def given(**keywords: Any) -> dict[str, Any]:
    """The keywords a control set (None: the model's own default)."""
    return {name: value for name, value in keywords.items() if value is not None}


# --- model work off the event loop, cancelled with the request -----------------------------


async def in_thread(work: Callable[[threading.Event], T]) -> T:
    """``work(cancel)`` in a worker thread; if the request is cancelled, ``cancel`` is set."""
    cancel = threading.Event()
    try:
        return await anyio.to_thread.run_sync(work, cancel, abandon_on_cancel=True)
    except BaseException:
        cancel.set()  # the model stops at its next step and frees its lock
        raise


async def streamed(stream: Iterable[str]) -> AsyncIterator[str]:
    """A text stream's pieces, each read in a worker thread; the stream is closed (so
    generation stops) when the reader stops or the request is cancelled."""
    pieces, done = iter(stream), object()
    try:
        while (piece := await anyio.to_thread.run_sync(next, pieces, done)) is not done:
            yield piece
    finally:
        close = getattr(pieces, "close", None)
        if close is not None:
            close()


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
    generator: Any, cancel: threading.Event, keywords: dict[str, Any]
) -> dict[str, Any]:
    """Hand ``cancel`` to a generator whose call spec takes it (the audio backends' hook)."""
    if "cancel" in getattr(generator, "call_spec", ()):
        return {**keywords, "cancel": cancel}
    return keywords


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


# --- the app's state: built once per demo, shared by its callbacks ---------------------------


class Studio:
    """What one demo's callbacks share: the default models, where files go, one lock per model."""

    def __init__(self, defaults: dict[str, str], output_dir: str | os.PathLike | None = None):
        self.defaults = defaults
        given_dir = output_dir or os.environ.get(OUTPUT_DIR_ENV)
        self._output_dir = Path(given_dir).expanduser() if given_dir else None
        self._temporary: Path | None = None
        self._locks: dict[int, threading.Lock] = {}
        self._guard = threading.Lock()
        self._numbers = itertools.count(1)

    @property
    def output_dir(self) -> Path:
        """The given folder, else a temporary one made at the first output and removed at exit."""
        with self._guard:
            if self._output_dir is None:
                self._temporary = Path(tempfile.mkdtemp(prefix="genai-app-"))
                self._output_dir = self._temporary
                cleanup = weakref.finalize(self, shutil.rmtree, self._temporary, True)
                atexit.register(cleanup)
            return self._output_dir

    def folder(self, name: str) -> Path:
        path = self.output_dir / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def fresh(self, folder: str) -> Path:
        """A new name in ``folder`` (time and a running number): nothing written there yet."""
        return self.folder(folder) / f"{time.strftime('%Y%m%d-%H%M%S')}-{next(self._numbers):04d}"

    def save(self, result: Any, folder: str) -> list[Path]:
        """Every file of a result (outputs and JSON record) under a fresh name in ``folder``."""
        stem = self.fresh(folder)
        try:
            return list(result.save_files(stem))
        except NotImplementedError:  # results written before save_files existed
            saved = result.save(self.folder(folder))
            paths = saved if isinstance(saved, list) else [saved]
            record = Path(paths[0]).with_suffix(".json")
            return [*paths, *([record] if record.is_file() else [])]

    async def generate(
        self,
        generator: Any,
        arguments: list[Any],
        keywords: dict[str, Any],
        *,
        folder: str,
        progress: gr.Progress | None,
        what: str,
        unit: str,
    ) -> tuple[Any, list[Path]]:
        """One call of ``generator`` in a worker thread, and every file of its result saved in
        ``folder``. Its errors show in the page; one call at a time per model; the progress
        bar says ``what`` and counts ``unit``s, and Stop ends the call at its next one."""

        def work(cancel: threading.Event) -> tuple[Any, list[Path]]:
            with shown_in_page(), self.using(generator):
                result = generator(
                    *arguments,
                    progress=reporter(progress, what, unit, cancel),
                    **with_cancel(generator, cancel, keywords),
                )
                return result, self.save(result, folder)

        return await in_thread(work)

    @contextlib.contextmanager
    def using(self, generator: Any) -> Iterator[None]:
        """One call at a time per model, whichever tab asks (the story shares models with
        the tabs). Taken around one generator call, never while loading: no cycle."""
        with self._guard:
            lock = self._locks.setdefault(id(generator), threading.Lock())
        with lock:
            yield

    def load(self, slot: str, name: str | None, progress: gr.Progress | None = None) -> Any:
        """The generator for a slot, or a message in the page saying why it cannot be had."""
        with shown_in_page():
            return self.load_or_raise(slot, name, progress)

    def load_or_raise(self, slot: str, name: str | None, progress: gr.Progress | None) -> Any:
        """The generator for a slot, loaded once per process by genai.load; progress while it loads."""
        name = (name or "").strip() or self.defaults[slot]
        already = find_loaded(name)
        if already is None and progress is not None:
            progress(None, desc=f"loading {name} (first use: this can take a while)")
        started = time.perf_counter()
        resolved = resolve_for(slot, name).check()
        generator = genai.load(name, task=resolved.task)
        if already is None:
            info = generator.info()
            gr.Info(
                f"{info['name']} loaded on {info['device']} / {info['dtype']} "
                f"in {time.perf_counter() - started:.1f} s",
                duration=5,
            )
        return generator


class Tab:
    """One tab of the page: its callbacks share the demo's studio."""

    def __init__(self, studio: Studio):
        self.studio = studio
