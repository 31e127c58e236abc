"""The web app at /ui, under the server's rules: :class:`ServerGate` and :func:`mount_studio`.

The app reaches models only through its gate (``genai.app.gate.ModelGate``). Under
``genai serve`` the gate is a :class:`ServerGate`: the page offers only the served models,
and every use of one goes through the server's pool and the model's queue (the same
concurrency, queue size and timeout as /v1); anything else is refused with a typed error the
page shows. The page loads no paths (``serving = True``) and never says whether one exists.
"""

from __future__ import annotations

import asyncio
import hmac
import inspect
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from ..catalog import MODALITY_OF_TASK, TEXT_TO_AUDIO, TEXT_TO_SPEECH
from ..errors import GenaiError, GenerationCancelled
from .errors import APIError

try:
    from ..app.gate import ModelGate
except ImportError:  # an app without gates: the interface it will have (INTERFACES.md)

    class ModelGate:  # type: ignore[no-redef]
        serving = False

        def choices(self, task: str) -> list[str] | None:
            return None


logger = logging.getLogger("genai.server")
T = TypeVar("T")

# The app's slots -> the modality they use, and the one task where a modality has two.
SLOT_MODALITY = {"text": "text", "image": "image", "speech": "audio", "audio": "audio"}
SLOT_TASK = {"speech": TEXT_TO_SPEECH, "audio": TEXT_TO_AUDIO}


class ServedOnlyError(GenaiError):
    """What the server refuses the page: a model it does not serve, a full queue, a timeout."""


class ServerGate(ModelGate):
    """The app's way to models under ``genai serve``: served models only, each through its
    queue, concurrency limit and timeout."""

    serving = True

    def __init__(self, server):
        self.server = server

    def _fits(self, served, task: str) -> bool:
        if MODALITY_OF_TASK[served.task] != SLOT_MODALITY[task]:
            return False
        return task not in SLOT_TASK or served.task == SLOT_TASK[task]

    def choices(self, task: str) -> list[str]:
        """The served ids the page may offer for ``task`` (text, image, speech, audio)."""
        if task not in SLOT_MODALITY:
            raise ValueError(f"task {task!r} is not one of {', '.join(SLOT_MODALITY)}")
        listing = self.server.pool.listing()
        return sorted(i for i, served in listing.items() if self._fits(served, task))

    def run(
        self,
        name: str,
        task: str,
        work: Callable[[Any], T],
        *,
        cancel: threading.Event | None = None,
    ) -> T:
        """``work(generator)`` for the served model ``name``, holding a slot of its queue;
        past the server's timeout ``cancel`` is set. Called from the app's worker threads."""
        loop = self.server.loop
        if loop is None or loop.is_closed():
            raise ServedOnlyError("the server is not running; try again once it has started")
        if _on_loop(loop):
            raise RuntimeError("ServerGate.run blocks: call it from a worker thread")
        served = self._served(name, task)
        queue = self.server.pool.queue(served)
        timeout = self.server.limits.timeout_s
        self._call(loop, queue.acquire(timeout))
        cancel = cancel if cancel is not None else threading.Event()
        timer = threading.Timer(timeout, cancel.set)
        timer.daemon = True
        token = self.server.workers.track(cancel)
        timer.start()
        try:
            return work(self.server.pool.load(served, loop))
        except GenerationCancelled:
            if timer.is_alive():
                raise
            raise ServedOnlyError(
                f"the request took longer than this server's limit of {timeout:g} s and was "
                "stopped; ask for less"
            ) from None
        finally:
            timer.cancel()
            self.server.workers.untrack(token)
            loop.call_soon_threadsafe(queue.release)

    def _served(self, name: Any, task: str):
        if task not in SLOT_MODALITY:
            raise ServedOnlyError(f"task {task!r} is not one of {', '.join(SLOT_MODALITY)}")
        if not isinstance(name, str) or name not in self.server.pool.listing():
            served = ", ".join(self.choices(task)) or "none"
            raise ServedOnlyError(
                f"model {str(name)[:200]!r} is not served here for {task}; pick one of: {served}"
            )
        served = self.server.pool.listing()[name]
        if not self._fits(served, task):
            raise ServedOnlyError(f"model {name!r} does {served.task}, not {task}")
        return served

    def _call(self, loop, coroutine) -> None:
        try:
            asyncio.run_coroutine_threadsafe(coroutine, loop).result()  # it has its timeout
        except APIError as error:
            raise ServedOnlyError(error.message) from None


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def mount_studio(app, server) -> None:
    """The Gradio studio at /ui, built with a ServerGate where the app takes one; with an
    API key the page asks for it as its password."""
    import gradio as gr

    from ..app.page import quiet_queue

    module = _studio_module()
    build = getattr(module, "build_demo", None)
    if build is not None and "gate" in inspect.signature(build).parameters:
        demo = build(gate=ServerGate(server))
    else:
        logger.warning(
            "this genai.app takes no model gate: /ui loads models outside the server's queues"
        )
        demo = getattr(module, "demo", None) or build()
    quiet_queue(demo)  # genai.app's own is quiet already; another app may not be
    auth = None
    api_key = server.config.api_key
    if api_key is not None:

        def auth(username: str, password: str) -> bool:
            return hmac.compare_digest(password.encode(), api_key.encode())

    options = {"css": getattr(module, "CSS", None), "theme": gr.themes.Soft()}
    gr.mount_gradio_app(
        app, demo, path="/ui", auth=auth, auth_message="Password: the server's API key", **options
    )


def _studio_module():
    import importlib

    try:
        return importlib.import_module("genai.app")
    except ModuleNotFoundError as error:
        if error.name != "genai.app":
            raise
    from ..cli.demo import app_path, load_app

    return load_app(app_path())
