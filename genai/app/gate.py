"""How the app reaches its models: the ``ModelGate``.

Every model use in the app goes through ``gate.run(name, task, work)``, and the pickers
list ``gate.choices(task)``. The default gate loads with ``genai.load`` in this process.
``genai serve`` mounts the app at /ui with a gate of its own (genai/server/ui.py) that
loads through the server's pool and runs each call under that model's queue, limits and
timeout, so the page follows the same rules as /v1; with ``serving`` set the page loads
no path or hub id typed into it and never says whether such a path exists.

``task`` is the app's slot: "text", "image", "speech" or "audio".
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from ..generator import Generator

T = TypeVar("T")


class ModelGate:
    """The app's way to models: load in this process, every catalog model on offer."""

    serving: bool = False

    def choices(self, task: str) -> list[str] | None:
        """The model ids the page may offer for ``task`` (None: the app's catalog choices)."""
        return None

    def run(
        self,
        name: str,
        task: str,
        work: Callable[[Generator], T],
        *,
        cancel: threading.Event | None = None,
    ) -> T:
        """``work(generator)`` for the model ``name`` in the app slot ``task``: loaded (once per
        process) by genai.load for the task the model does there."""
        import genai

        from .models import resolve_for

        resolved = resolve_for(task, name).check()
        return work(genai.load(name, task=resolved.task))
