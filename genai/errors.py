"""The errors genai raises: one base class, each member also a built-in it resembles.

Every message names the problem and the fix, so a boundary (CLI, web app, batch run)
can show ``str(error)`` as it is.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


class GenaiError(Exception):
    """Base class of every error genai raises on purpose."""


class UnknownModelError(GenaiError, KeyError):
    """A name that is neither a catalog alias, a local path, nor a hub id."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ModelNotAvailableError(GenaiError, FileNotFoundError):
    """The model is not on disk and cannot be downloaded (offline, no network, missing path)."""


class UnsupportedModelError(GenaiError, ValueError):
    """The checkpoint exists but belongs to no family genai supports."""


class WrongTaskError(GenaiError, ValueError):
    """The model cannot do the task asked of it (an image model asked for text, say)."""


class InvalidParameterError(GenaiError, ValueError):
    """A generation parameter outside what the model accepts."""


class MissingDependencyError(GenaiError, ImportError):
    """An optional library is not installed; the message names the extra to install."""


class OutputPathError(GenaiError, OSError):
    """An output path that cannot be written (a folder, read-only, disk full) or would replace a file."""


class GenerationCancelled(GenaiError):
    """A long generation was stopped by its caller (a closed stream, a cancelled request)."""


class InputTooLongError(InvalidParameterError):
    """Input (text, prompt) or asked-for output (duration, size) above the model's limit."""


class GenaiMemoryError(GenaiError, MemoryError):
    """The device ran out of memory; the message suggests smaller settings or offload."""


def require(module: str, extra: str):
    """Import an optional module or raise a MissingDependencyError naming the extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise MissingDependencyError(
            f"{module!r} is not installed; install it with: pip install 'genai-showcase[{extra}]'"
        ) from error


# What libraries raise when they cannot read a model's files (anything else is a bug: re-raised).
_READ_ERRORS = (OSError, ValueError, RuntimeError, KeyError, IndexError, EOFError, UnicodeError)
_READ_ERROR_NAMES = ("SafetensorError", "UnpicklingError")


@contextlib.contextmanager
def unreadable_files(name: str, where: str, *, as_what: str = "") -> Iterator[None]:
    """A library's failure to read a model's files becomes UnsupportedModelError naming them.

    Our own errors pass through, and so do out-of-memory and errors that are no reading
    errors (bugs). What is left when from_pretrained, torch.load or a GGUF reader chokes on
    junk weights, a truncated download or a config of the wrong shape is reported as
    damaged files, with the fix.
    """
    try:
        yield
    except GenaiError:
        raise
    except Exception as error:
        kind = type(error).__name__
        if kind == "OutOfMemoryError" or (
            not isinstance(error, _READ_ERRORS) and kind not in _READ_ERROR_NAMES
        ):
            raise
        first_line = (str(error).strip().splitlines() or [""])[0][:300]
        read_as = f" (read as {as_what})" if as_what else ""
        raise UnsupportedModelError(
            f"model {name!r}: its files could not be read from {where}{read_as}: {kind}: "
            f"{first_line}; they look damaged, incomplete or of another kind: download them "
            "again (`genai pull`) or check the path"
        ) from error
