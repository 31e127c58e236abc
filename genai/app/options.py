"""The web app's command-line options and the port check, without importing gradio.

``genai demo`` and ``python demos/app.py`` share them, and a bad ``--port`` is refused in
one line before anything is built.
"""

from __future__ import annotations

import argparse
import socket

from ..errors import InvalidParameterError

DEFAULT_HOST = "127.0.0.1"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST}: this machine only; 0.0.0.0: the network)",
    )
    parser.add_argument(
        "--port", type=int, default=None, help="port (default 7860, or the next free one)"
    )
    parser.add_argument(
        "--share",
        action="store_true",
        help="also open a public gradio.live link: anyone with it can use this machine",
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="genai studio: the web app")
    add_arguments(parser)
    return parser.parse_args(argv)


def check_port(host: str, port: int | None) -> None:
    """Refuse a port outside 1-65535 or one already taken on ``host`` (None: gradio picks)."""
    if port is None:
        return
    if not 1 <= port <= 65535:
        raise InvalidParameterError(
            f"--port {port} is not a port number; give one from 1 to 65535 (or leave it out "
            "to use 7860 or the next free one)"
        )
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            raise InvalidParameterError(
                f"--port {port} on {host} cannot be used ({error.strerror or error}); pick "
                "another port, or leave --port out to use the next free one"
            ) from None
