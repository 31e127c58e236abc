"""genai's OpenAI-compatible HTTP server (``genai serve``): text, images and audio over one API.

    from genai.server import ServerConfig, create_app
    app = create_app(ServerConfig(models={"chat": "smollm2-135m-gguf"}))   # run it with uvicorn

Needs the ``server`` extra (fastapi, uvicorn); neither ``import genai`` nor ``import
genai.server`` imports them: ``create_app`` does.
"""

from __future__ import annotations

from typing import Any

from .config import Limits, ServerConfig

__all__ = ["Limits", "ServerConfig", "create_app"]


def create_app(config: ServerConfig | None = None) -> Any:
    """The FastAPI app serving ``config`` (see genai.server.app.create_app)."""
    from .app import create_app as create

    return create(config)
