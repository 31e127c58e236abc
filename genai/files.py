"""Output files: checked before any work, written atomically (a file is either whole or absent).

Results save through these, and so do the batch manifest, provenance records, boards and
stories.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from .errors import OutputPathError


def is_folder(path: str | os.PathLike) -> bool:
    """``Path.is_dir`` that says False, not OSError, for a name the system cannot even look up
    (too long, a NUL); check_output_path then names the problem."""
    try:
        return Path(path).is_dir()
    except (OSError, ValueError):
        return False


def check_output_path(path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Refuse, before any work, an output path that cannot be written or would replace a file.

    Call it at the boundary (CLI, ``save``) before generating: a missing parent folder is
    fine (it is created), a parent that is a file, a read-only folder or an existing file
    (unless ``overwrite``) raise OutputPathError naming the path and the fix.
    """
    path = Path(path)
    try:
        return _check_output_path(path, overwrite)
    except OutputPathError:
        raise
    except OSError as error:  # a name too long, a path through a file...
        raise OutputPathError(
            f"cannot write {str(path)[:200]}: {error.strerror or error}"
        ) from error


def _check_output_path(path: Path, overwrite: bool) -> Path:
    if len(path.name.encode("utf-8", "surrogateescape")) > 255:
        raise OutputPathError(
            f"the file name {path.name[:40]}... is {len(path.name)} characters long; "
            "file systems take at most 255 bytes: choose a shorter name"
        )
    if path.exists() and path.is_dir():
        raise OutputPathError(f"{path} is a folder; give a file name (e.g. {path / 'out'})")
    if path.exists() and not overwrite:
        raise OutputPathError(
            f"{path} exists; pass overwrite=True (--overwrite on the command line) to replace it, "
            "or choose another name"
        )
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise OutputPathError(f"cannot write {path}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputPathError(f"cannot write {path}: no permission to write in {parent}")
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputPathError(f"cannot write {path}: the file is read-only")
    return path


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write to a temporary file beside ``path``, then rename it into place (whole or absent).

    The file gets the permissions the umask gives a new file; disk-full and permission
    errors become OutputPathError and leave no partial file behind.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise OutputPathError(f"cannot write {path}: {error.strerror or error}") from error
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except OSError as error:
        Path(tmp).unlink(missing_ok=True)
        raise OutputPathError(f"cannot write {path}: {error.strerror or error}") from error
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _read_umask() -> int:
    mask = os.umask(0o022)  # read once at import, before any thread could race on it
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def _umask() -> int:
    return _UMASK


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def to_jsonable(value: Any) -> Any:
    """Parameters as plain JSON (paths and tensors become strings, tuples lists)."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
