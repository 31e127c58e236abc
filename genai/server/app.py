"""The FastAPI application: ``create_app(ServerConfig(...))``.

Routes: /v1/models, /v1/chat/completions, /v1/completions, /v1/responses, /v1/embeddings,
/v1/images/generations, /v1/audio/speech, /v1/audio/generations, /v1/files/{name}, /health,
/metrics, /docs, and the Gradio studio at /ui (under the server's models, queues and limits:
genai.server.ui). With an API key, /v1, /metrics, /docs and /openapi.json want
``Authorization: Bearer <key>`` and the studio asks for it as its password; /health stays
open for load balancers.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import threading
import time
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse

from .. import __version__
from ..paths import cache_dir
from . import errors, routes_audio, routes_images, routes_responses, routes_text
from .config import ServerConfig
from .errors import APIError
from .limits import BodySizeLimit, Workers
from .metrics import Metrics
from .pool import ModelPool, ServedModel

logger = logging.getLogger("genai.server")

URL_FILES_TTL_S = 3600  # pictures answered by URL are kept this long (OpenAI's URLs expire too)
DRAIN_S = 2.0  # once cancelled, generations get this long to stop before the process exits
KEYED_PATHS = ("/metrics", "/docs", "/docs/oauth2-redirect", "/openapi.json")


class Server:
    """Everything the routes share, at ``app.state.genai``."""

    def __init__(self, config: ServerConfig):
        self.config = config
        self.limits = config.limits
        self.pool = ModelPool(config.limits, config.models)
        self.metrics = Metrics()
        self.workers = Workers(config.limits, self.metrics)
        self.output_dir = config.output_dir or cache_dir() / "server-files"
        self.started = time.time()
        self.loop: asyncio.AbstractEventLoop | None = None  # set when the server starts
        self.responses = routes_responses.ResponseStore()
        self.stopping = False
        self.cancelled_at_stop = 0
        self.metrics.gauge(
            "genai_requests_running", "Generations running, by model.", self._running
        )
        self.metrics.gauge("genai_requests_waiting", "Requests queued, by model.", self._waiting)
        self.metrics.gauge("genai_models_loaded", "Models loaded now.", self._loaded)

    async def served(self, request: Request, model_id: str, modality: str) -> ServedModel:
        """The served model (looked up off the event loop: it may read the disk)."""
        served = await anyio.to_thread.run_sync(self.pool.get, model_id, modality, "/v1/models")
        request.state.model = served.id
        return served

    def _running(self):
        return [((("model", q.name),), q.running) for q in self.pool.distinct_queues()]

    def _waiting(self):
        return [((("model", q.name),), q.waiting) for q in self.pool.distinct_queues()]

    def public_url(self, request: Request) -> str:
        """The base URL for links in answers: the configured one, else the address this
        server listens on (never the request's Host header, which a client chooses)."""
        if self.config.public_url:
            return self.config.public_url.rstrip("/")
        host, port = request.scope.get("server") or ("127.0.0.1", 80)
        host = f"[{host}]" if ":" in str(host) else host
        return f"http://{host}:{port}"

    def stop(self) -> None:
        """A signal asked the server to stop: requests in flight get the limits'
        ``shutdown_grace_s`` to finish, then are cancelled (from any thread; returns at once)."""
        if self.stopping:
            return
        self.stopping = True
        timer = threading.Timer(self.limits.shutdown_grace_s, self._cancel_in_flight)
        timer.daemon = True
        timer.start()

    def _cancel_in_flight(self) -> None:
        self.cancelled_at_stop += self.workers.cancel_all()

    def drain(self) -> int:
        """At shutdown: cancel what still runs, wait up to DRAIN_S for it; how many were
        cancelled since the stop began."""
        self._cancel_in_flight()
        if not self.workers.shutdown(DRAIN_S):
            logger.warning("%d generations were still stopping at exit", self.workers.in_flight)
        # Not genai.lifecycle.shutdown(): it refuses every later generation in the process,
        # and an app that stops its server may go on. At exit genai.lifecycle stops the rest.
        return self.cancelled_at_stop

    def _loaded(self):
        return [((), len(self.pool.loaded_ids()))]

    def prune_files(self) -> None:
        """Forget pictures answered by URL more than URL_FILES_TTL_S ago."""
        if not self.output_dir.is_dir():
            return
        oldest = time.time() - URL_FILES_TTL_S
        for path in self.output_dir.iterdir():
            if routes_images.FILE_NAME.match(path.name) and path.stat().st_mtime < oldest:
                path.unlink(missing_ok=True)


class Guard:
    """ASGI middleware: the API key on /v1 and /metrics, and request metrics for /v1."""

    def __init__(self, app, server: Server):
        self.app = app
        self.server = server

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path.startswith("/v1/") or path in KEYED_PATHS):
            return await self.app(scope, receive, send)
        key = self.server.config.api_key
        if key is not None and not _authorized(scope, key):
            error = APIError(
                401,
                "missing or wrong API key: send the header 'Authorization: Bearer <key>'",
                code="invalid_api_key",
                headers={"WWW-Authenticate": "Bearer"},
            )
            return await error.response()(scope, receive, send)
        started, status = time.perf_counter(), [0]

        async def noting_send(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noting_send)
        except Exception as error:  # answered here, so the connection stays usable
            if status[0]:
                logger.error("error after the answer started", exc_info=error)
            else:
                await errors.from_exception(error).response()(scope, receive, noting_send)
        finally:
            self._count(scope, status[0] or 500, time.perf_counter() - started)

    def _count(self, scope, status: int, seconds: float) -> None:
        route = getattr(scope.get("route"), "path", "other")
        model = (scope.get("state") or {}).get("model", "")
        metrics = self.server.metrics
        metrics.count("genai_requests_total", route=route, model=model, status=str(status))
        if status >= 400:
            metrics.count("genai_errors_total", route=route, model=model, status=str(status))
        elif route != "/v1/files/{name}":
            metrics.observe("genai_request_seconds", seconds, route=route, model=model)


def _authorized(scope, key: str) -> bool:
    header = dict(scope.get("headers") or ()).get(b"authorization", b"").decode("latin-1")
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), key.encode())


def create_app(config: ServerConfig | None = None) -> FastAPI:
    """The server as an ASGI app (uvicorn runs it; tests too)."""
    config = config or ServerConfig()
    server = Server(config)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        server.loop = asyncio.get_running_loop()
        await anyio.to_thread.run_sync(server.pool.listing)  # read the catalog once, up front
        await anyio.to_thread.run_sync(server.prune_files)
        yield
        cancelled = await anyio.to_thread.run_sync(server.drain)
        # Beside uvicorn's own "Shutting down" lines, in the server's log.
        logging.getLogger("uvicorn.error").info("%d requests in flight were cancelled", cancelled)

    app = FastAPI(
        title="genai",
        version=__version__,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.genai = server
    errors.install(app)
    for module in (routes_text, routes_responses, routes_images, routes_audio):
        app.include_router(module.router)
    _add_service_routes(app, server)
    if config.ui:
        from .ui import mount_studio

        mount_studio(app, server)
    app.add_middleware(Guard, server=server)
    app.add_middleware(BodySizeLimit, max_bytes=config.limits.max_body_bytes)
    return app


def _add_service_routes(app: FastAPI, server: Server) -> None:
    @app.get("/v1/models")
    async def list_models() -> dict:
        listing = await anyio.to_thread.run_sync(server.pool.listing)
        cards = [served.card(server.pool.created) for served in listing.values()]
        return {"object": "list", "data": cards}

    @app.get("/v1/models/{model_id:path}")
    async def get_model(model_id: str) -> dict:
        listing = await anyio.to_thread.run_sync(server.pool.listing)
        if model_id not in listing:
            raise APIError(
                404, f"model {model_id!r} is not served here", param="model", code="model_not_found"
            )
        return listing[model_id].card(server.pool.created)

    @app.get("/health")
    async def health() -> dict:
        return {
            "status": "ok",
            "version": __version__,
            "uptime_s": round(time.time() - server.started, 1),
            "models_loaded": server.pool.loaded_ids(),
        }

    @app.get("/metrics")
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(
            server.metrics.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8"
        )
