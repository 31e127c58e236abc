"""Output files: checked before any work, written atomically (a file is either whole or absent).

Results save through these, and so do the batch manifest, provenance records, boards and
stories. With ``overwrite=False`` a write is also exclusive: the file is linked into place
under its final name (``os.link`` fails if the name exists, so of several savers racing for
one name exactly one wins and the others get OutputPathError); ``write_files`` writes a
group (an output and its ``.json`` record) all or nothing, and ``write_numbered`` claims
the next free number in a folder under a lock, so same-seed saves into one folder never
share a name.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
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


def check_output_folder(folder: str | os.PathLike) -> Path:
    """Refuse, before any work, a folder that numbered outputs could not be written into (one
    under a file, read-only). Which numbers are free is decided only when the files are
    written (``write_numbered``): another save may take the next one meanwhile."""
    folder = Path(folder)
    check_output_path(folder / "00000-0", overwrite=True)
    return folder


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


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, overwrite: bool = True) -> Path:
    """Write to a temporary file beside ``path``, then move it into place (whole or absent).

    ``overwrite=False`` never replaces a file, even one another thread or process makes
    meanwhile: OutputPathError says the name is taken. The file gets the permissions the
    umask gives a new file; disk-full and permission errors become OutputPathError and leave
    no partial file behind.
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
        if overwrite:
            os.replace(tmp, path)
        else:
            _link_new(tmp, path)
    except OutputPathError:
        raise
    except OSError as error:
        raise OutputPathError(f"cannot write {path}: {error.strerror or error}") from error
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


# File systems without hard links (FAT, some network and FUSE mounts) say one of these.
_NO_LINKS = {errno.EPERM, errno.EXDEV, errno.EMLINK, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP}


def _link_new(tmp: str, path: Path) -> None:
    """Give the finished temporary file its final name only if that name is free (atomic)."""
    try:
        os.link(tmp, path)
        return
    except FileExistsError:
        raise _taken(path) from None
    except OSError as error:
        if error.errno not in _NO_LINKS:
            raise
    try:  # no hard links: claim the name with O_EXCL, then move the content over the claim
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        raise _taken(path) from None
    os.replace(tmp, path)


def _taken(path: Path) -> OutputPathError:
    return OutputPathError(
        f"{path} exists (another save got there first); pass overwrite=True (--overwrite on the "
        "command line) to replace it, or choose another name"
    )


def write_files(files: Sequence[tuple[Path, bytes]], *, overwrite: bool = False) -> list[Path]:
    """Write several files as one output (a result and its records): each atomically, and with
    ``overwrite=False`` each exclusively, so if any name is taken the files this call already
    wrote are removed again and OutputPathError is raised: all of them or none."""
    written: list[Path] = []
    try:
        for path, data in files:
            written.append(atomic_write_bytes(path, data, overwrite=overwrite))
    except BaseException:
        if not overwrite:  # only files this call made: nobody else's are touched
            for path in written:
                path.unlink(missing_ok=True)
        raise
    return written


_FOLDER_LOCKS: dict[str, threading.Lock] = {}
_FOLDER_LOCKS_GUARD = threading.Lock()


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold ``folder`` against other savers: a lock per folder in this process, and flock on the
    folder itself against other processes (where the system has it)."""
    key = os.path.realpath(folder)
    with _FOLDER_LOCKS_GUARD:
        lock = _FOLDER_LOCKS.setdefault(key, threading.Lock())
    with lock:
        try:
            import fcntl
        except ImportError:  # Windows: one process at a time is what we can promise
            yield
            return
        try:
            fd = os.open(folder, os.O_RDONLY)
        except OSError as error:
            raise OutputPathError(f"cannot write in {folder}: {error.strerror or error}") from error
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the flock


def write_numbered(
    folder: str | os.PathLike,
    contents: Sequence[bytes | Callable[[Path], Sequence[tuple[Path, bytes]]]],
    *,
    first_free: Callable[[Path], int],
    name: Callable[[int, int], str],
) -> list[list[Path]]:
    """Write outputs under the next free numbers of ``folder`` (``00001-<seed>.png``...).

    ``first_free(folder)`` says the first number not taken; output ``i`` is named
    ``name(number, i)``. Each item of ``contents`` is its bytes, or a function that, given the
    output's path, returns every file of that output (the output and its records). The
    numbers are claimed under ``folder_lock``, so concurrent saves (threads or processes)
    into one folder each get numbers of their own. Returns the files of each output.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputPathError(f"cannot write in {folder}: {error.strerror or error}") from error
    with folder_lock(folder):
        number = first_free(folder)
        groups: list[list[Path]] = []
        try:
            for index, content in enumerate(contents):
                path = folder / name(number + index, index)
                files = content(path) if callable(content) else [(path, content)]
                groups.append(write_files(files, overwrite=False))
        except BaseException:
            for group in groups:  # all of this call's outputs or none
                for path in group:
                    path.unlink(missing_ok=True)
            raise
    return groups


def _read_umask() -> int:
    mask = os.umask(0o022)  # read once at import, before any thread could race on it
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def _umask() -> int:
    return _UMASK


def atomic_write_text(path: str | os.PathLike, text: str, *, overwrite: bool = True) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"), overwrite=overwrite)


def to_jsonable(value: Any) -> Any:
    """Parameters as plain JSON (paths and tensors become strings, tuples lists)."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
