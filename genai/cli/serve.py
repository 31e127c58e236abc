"""`genai serve`: the OpenAI-compatible HTTP API (and the web app at /ui), on this machine only
unless told otherwise.

    genai serve                                  # http://127.0.0.1:8000/v1, studio at /ui
    genai serve --models chat=smollm2-135m-gguf,piper-joe
    GENAI_API_KEY=secret genai serve --host 0.0.0.0
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import math
import os
import signal
import threading
from pathlib import Path

from ..errors import GenaiError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_KEY_ENV = "GENAI_API_KEY"
# (flag, Limits field, type, help) for each configurable limit
LIMIT_FLAGS = (
    ("--max-body-bytes", "max_body_bytes", int, "largest request body"),
    ("--max-n", "max_n", int, "most choices or pictures per request"),
    ("--max-image-side", "max_image_side", int, "largest picture side, pixels"),
    ("--max-audio-seconds", "max_audio_seconds", float, "longest music/sound duration"),
    ("--max-speech-chars", "max_speech_chars", int, "longest speech input, characters"),
    (
        "--concurrency",
        "concurrency",
        int,
        "generations of one model at once (default: a text engine's slots, 4 for other models)",
    ),
    ("--queue-size", "queue_size", int, "requests of one model waiting; more get 503"),
    ("--timeout", "timeout_s", float, "seconds a request may take"),
    ("--max-loaded-models", "max_loaded_models", int, "models kept loaded (LRU)"),
)


def register(subparsers: argparse._SubParsersAction) -> None:
    from ..server.config import Limits

    defaults = Limits()
    parser = subparsers.add_parser(
        "serve",
        help="serve text, image and audio models over an OpenAI-compatible HTTP API",
        description="Serve models over an OpenAI-compatible API (/v1/...), the web app at /ui, "
        "/health and /metrics. Listens on this machine only unless --host says otherwise; "
        "another host needs an API key (or --no-auth).",
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address (default {DEFAULT_HOST})")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--models",
        default=None,
        help="comma-separated models to serve, each an alias, path or hub id, or ID=SOURCE to "
        "serve it under another name (default: every catalog model on disk or embedded)",
    )
    parser.add_argument(
        "--api-key-env",
        default=DEFAULT_KEY_ENV,
        metavar="NAME",
        help=f"environment variable holding the API key (default {DEFAULT_KEY_ENV}); when set, "
        "clients send 'Authorization: Bearer <key>'",
    )
    parser.add_argument(
        "--no-auth",
        action="store_true",
        help="allow a non-loopback --host without an API key (anyone who can reach it may use it)",
    )
    parser.add_argument("--no-ui", action="store_true", help="do not mount the web app at /ui")
    parser.add_argument(
        "--output-dir", type=Path, default=None, help="where pictures answered by URL are kept"
    )
    parser.add_argument(
        "--public-url",
        default=None,
        metavar="URL",
        help="the address clients reach the server at, for URLs in answers (default: the "
        "address it listens on; never a request's Host header)",
    )
    parser.add_argument(
        "--shutdown-grace",
        type=float,
        default=defaults.shutdown_grace_s,
        metavar="SECONDS",
        help="on SIGTERM/SIGINT, requests in flight get this long to finish before they are "
        f"cancelled (default {defaults.shutdown_grace_s:g})",
    )
    limits = parser.add_argument_group("limits")
    for flag, name, kind, help in LIMIT_FLAGS:
        default = getattr(defaults, name)
        shown = "" if default is None else f" (default {default})"
        limits.add_argument(flag, dest=name, type=kind, default=default, help=help + shown)
    parser.set_defaults(run=run)


def parse_models(text: str | None) -> dict[str, str] | None:
    """``a,chat=b`` -> {"a": "a", "chat": "b"}."""
    if not text:
        return None
    models: dict[str, str] = {}
    for item in text.split(","):
        model_id, _, source = item.strip().partition("=")
        source = source.strip() or model_id.strip()
        model_id = model_id.strip()
        if not model_id or not source:
            raise GenaiError(
                f"--models {text!r}: each item is NAME or ID=SOURCE, separated by commas"
            )
        if model_id in models:
            raise GenaiError(f"--models {text!r}: the id {model_id!r} is given twice")
        models[model_id] = source
    return models


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def config_from(args: argparse.Namespace):
    """The server's configuration, refusing a network-facing server without an API key."""
    from ..server import Limits, ServerConfig

    if not 0 <= args.port <= 65535:
        raise GenaiError(f"--port {args.port} is not a port number (0 to 65535)")
    api_key = os.environ.get(args.api_key_env) or None
    if not is_loopback(args.host) and api_key is None and not args.no_auth:
        raise GenaiError(
            f"--host {args.host} makes the server reachable from other machines; set an API key "
            f"in ${args.api_key_env} (clients then send it as a Bearer token), or pass --no-auth "
            "to serve without one"
        )
    for flag, name, _, _ in LIMIT_FLAGS:
        value = getattr(args, name)
        if value is not None and not (math.isfinite(value) and value > 0):
            raise GenaiError(f"{flag} {value} must be a finite number above 0")
    grace = args.shutdown_grace
    if not (math.isfinite(grace) and 0 <= grace <= 3600):
        raise GenaiError(f"--shutdown-grace {grace} must be 0 to 3600 seconds")
    chosen = {name: getattr(args, name) for _, name, _, _ in LIMIT_FLAGS}
    limits = Limits(**chosen, shutdown_grace_s=grace)
    if args.public_url and not args.public_url.startswith(("http://", "https://")):
        raise GenaiError(f"--public-url {args.public_url!r} must start with http:// or https://")
    return ServerConfig(
        models=parse_models(args.models),
        limits=limits,
        api_key=api_key,
        output_dir=args.output_dir,
        ui=not args.no_ui,
        public_url=args.public_url,  # None: the address each connection reached (its socket)
    )


def build_server(args: argparse.Namespace):
    """A uvicorn server for these arguments, not started (tests start it in a thread)."""
    from ..errors import require

    require("fastapi", "server")
    uvicorn = require("uvicorn", "server")
    config = config_from(args)
    if config.ui:
        require("gradio", "app")
    from ..server import create_app
    from ..server.app import DRAIN_S

    app = create_app(config)

    class Server(uvicorn.Server):
        """uvicorn's server, stopping genai's way on SIGTERM/SIGINT: requests in flight get
        --shutdown-grace seconds to finish, then are cancelled; the exit code is 0 (SIGTERM)
        or 130 (SIGINT) instead of the signal raised again."""

        signal: int | None = None

        def handle_exit(self, sig: int, frame) -> None:
            if self.signal is None:
                self.signal = sig
                app.state.genai.stop()
            super().handle_exit(sig, frame)

        @contextlib.contextmanager
        def capture_signals(self):
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            handled = (signal.SIGINT, signal.SIGTERM)
            original = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
            try:
                yield
            finally:
                for sig, handler in original.items():
                    signal.signal(sig, handler)

    # uvicorn waits a little longer than the grace, so cancelled requests still answer.
    graceful = int(math.ceil(config.limits.shutdown_grace_s + DRAIN_S / 2))
    return Server(
        uvicorn.Config(
            app,
            host=args.host,
            port=args.port,
            log_level="info",
            timeout_graceful_shutdown=graceful,
        )
    )


def run(args: argparse.Namespace) -> int:
    server = build_server(args)
    server.run()
    if not server.started:
        return 2
    return 130 if server.signal == signal.SIGINT else 0
