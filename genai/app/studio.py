"""The app's state, built once per page and shared by its callbacks: the default models, the
gate every model use goes through, where files go, one lock per model, and the jobs running
now (so a stopping server can cancel them).
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import shutil
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import anyio
import gradio as gr

from ..errors import ModelNotAvailableError
from .callbacks import logger, reporter, shown_in_page, with_cancel
from .gate import ModelGate
from .models import SLOTS, find_loaded, status_line

OUTPUT_DIR_ENV = "GENAI_APP_OUTPUT_DIR"
T = TypeVar("T")


class Studio:
    """What one page's callbacks share."""

    def __init__(
        self,
        defaults: dict[str, str],
        output_dir: str | os.PathLike | None = None,
        gate: ModelGate | None = None,
    ):
        self.defaults = defaults
        self.gate = gate or ModelGate()
        given_dir = output_dir or os.environ.get(OUTPUT_DIR_ENV)
        self._output_dir = Path(given_dir).expanduser() if given_dir else None
        self._temporary: Path | None = None
        self._locks: dict[int, threading.Lock] = {}
        self._guard = threading.Lock()
        self._numbers = itertools.count(1)
        self._running: set[threading.Event] = set()
        self._idle = threading.Condition(self._guard)

    # --- which models ------------------------------------------------------------------------

    def served(self, slot: str) -> list[str] | None:
        """The gate's choices for a slot (None: the catalog's)."""
        return self.gate.choices(slot)

    def model_name(self, slot: str, name: Any) -> str:
        """The model a page callback names (empty: the slot's default). Behind a server only
        a served model passes, with one message whatever was typed: a page never learns
        whether a path exists."""
        name = name.strip() if isinstance(name, str) else ""
        name = name or self.defaults[slot]
        allowed = self.served(slot)
        if self.gate.serving and (allowed is None or name not in allowed):
            shown = ", ".join(allowed or []) or "none"
            raise ModelNotAvailableError(
                f"that {SLOTS[slot].label.lower()} is not served here; pick one from the list "
                f"({shown})"
            )
        return name

    def knows(self, slot: str, name: Any) -> bool:
        """Whether the page may look ``name`` up (always, unless behind a server)."""
        try:
            self.model_name(slot, name)
        except ModelNotAvailableError:
            return False
        return True

    def status_of(self, slot: str) -> Callable[[str], str]:
        """A page callback: the status line of the model a slot's picker names (behind a
        server: whether it is served, nothing about other names)."""

        def status(name: str) -> str:
            label = SLOTS[slot].label
            if not self.knows(slot, name):
                return f"⚠ {label}: that model is not served here; pick one from the list."
            if self.gate.serving:
                shown = self.model_name(slot, name)
                return (
                    f"● {label} **{shown}** is served here: it runs in the server's queue, "
                    "under the same limits as its API"
                )
            return status_line(slot, name)

        return status

    # --- running model work ----------------------------------------------------------------

    def call(
        self,
        slot: str,
        name: Any,
        work: Callable[[Any], T],
        *,
        cancel: threading.Event | None = None,
        progress: gr.Progress | None = None,
    ) -> T:
        """``work(generator)`` through the gate, in the calling (worker) thread: a progress
        line while a model loads for the first time, one call at a time per model, the
        job counted as running until it ends; errors become the page's messages."""
        cancel = cancel or threading.Event()
        with shown_in_page(), self.running(cancel):
            name = self.model_name(slot, name)
            fresh = not self.gate.serving and find_loaded(name) is None
            if fresh and progress is not None:
                progress(None, desc=f"loading {name} (first use: this can take a while)")
            started = time.perf_counter()

            def guarded(generator: Any) -> T:
                if fresh:
                    info = generator.info()
                    gr.Info(
                        f"{info['name']} loaded on {info['device']} / {info['dtype']} "
                        f"in {time.perf_counter() - started:.1f} s",
                        duration=5,
                    )
                with self.using(generator):
                    return work(generator)

            return self.gate.run(name, slot, guarded, cancel=cancel)

    async def in_thread(
        self, slot: str, name: Any, work: Callable[[Any, threading.Event], T], progress=None
    ) -> T:
        """``work(generator, cancel)`` through :meth:`call` in a worker thread; if the request
        is cancelled (Stop), ``cancel`` is set and the model stops at its next step."""
        cancel = threading.Event()

        def job() -> T:
            return self.call(
                slot, name, lambda g: work(g, cancel), cancel=cancel, progress=progress
            )

        try:
            return await anyio.to_thread.run_sync(job, abandon_on_cancel=True)
        except BaseException:
            cancel.set()  # the model stops at its next step and frees its lock
            raise

    async def generate(
        self,
        slot: str,
        name: Any,
        make_call: Callable[[Any], tuple[list[Any], dict[str, Any]]],
        *,
        folder: str,
        progress: gr.Progress | None,
        what: str,
        unit: str,
    ) -> tuple[Any, Any, list[Path]]:
        """One call of the slot's model (``make_call(generator)`` gives its arguments and
        keywords) and every file of its result saved in ``folder``: (generator, result,
        files). The progress bar says ``what`` and counts ``unit``s; Stop ends the call at
        its next one."""

        def work(generator: Any, cancel: threading.Event) -> tuple[Any, Any, list[Path]]:
            arguments, keywords = make_call(generator)
            result = generator(
                *arguments,
                progress=reporter(progress, what, unit, cancel),
                **with_cancel(generator, cancel, keywords),
            )
            return generator, result, self.save(result, folder)

        return await self.in_thread(slot, name, work, progress)

    @contextlib.contextmanager
    def using(self, generator: Any) -> Iterator[None]:
        """One call at a time per model, whichever tab asks (the story shares models with
        the tabs). Taken around one generator call, never while loading: no cycle."""
        with self._guard:
            lock = self._locks.setdefault(id(generator), threading.Lock())
        with lock:
            yield

    @contextlib.contextmanager
    def running(self, cancel: threading.Event) -> Iterator[None]:
        with self._guard:
            self._running.add(cancel)
        try:
            yield
        finally:
            with self._guard:
                self._running.discard(cancel)
                self._idle.notify_all()

    def shutdown(self, timeout: float = 5.0) -> int:
        """Tell every running job to stop and wait up to ``timeout`` s for them to end;
        returns how many were running."""
        with self._guard:
            jobs = list(self._running)
            for cancel in jobs:
                cancel.set()
            deadline = time.monotonic() + timeout
            while self._running and time.monotonic() < deadline:
                self._idle.wait(deadline - time.monotonic())
            if self._running:
                logger.warning("%d job(s) still running after %.0f s", len(self._running), timeout)
        return len(jobs)

    # --- files -------------------------------------------------------------------------------

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
        return list(result.save_files(self.fresh(folder)))


class Tab:
    """One tab of the page: its callbacks share the page's studio."""

    def __init__(self, studio: Studio):
        self.studio = studio
