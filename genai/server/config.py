"""The server's settings as plain data (no web framework imported: the CLI reads them for --help)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Limits:
    """The server's limits (``genai serve --help`` sets each)."""

    max_body_bytes: int = 1_000_000
    max_n: int = 8
    max_image_side: int = 1024
    max_audio_seconds: float = 60.0
    max_speech_chars: int = 4096  # OpenAI's own limit on ``input``
    # Generations of one model running at once; None: a text engine's slots (the sequences it
    # decodes together), 4 for image and audio models.
    concurrency: int | None = None
    queue_size: int = 16  # requests of one model waiting beyond those; more get 503
    timeout_s: float = 600.0
    shutdown_grace_s: float = 4.0  # on SIGTERM/SIGINT: time to finish before being cancelled
    max_loaded_models: int = 3
    workers: int = 32  # threads for generation, all models together


@dataclass
class ServerConfig:
    """What ``genai serve`` was told."""

    models: dict[str, str] | None = None  # served id -> alias/path/hub id; None: the catalog
    limits: Limits = field(default_factory=Limits)
    api_key: str | None = None
    output_dir: Path | None = None  # where pictures answered by URL go
    # The address clients reach this server at, for URLs in answers ("https://genai.example");
    # None: the address the server listens on (never the request's Host header).
    public_url: str | None = None
    ui: bool = True
