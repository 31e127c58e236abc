"""Standard input and output for the `genai` command, with the errors a shell can cause.

- stdin is read up to ``MAX_STDIN_BYTES`` (``genai text - < /dev/zero`` ends at once with a
  typed error); a closed stdin is a typed error too.
- stdout is wrapped: a write or flush that fails (a full disk, ``> /dev/full``; a closed
  stdout, ``>&-``) becomes OutputPathError, one line and exit code 2, never a traceback or
  exit 0 with the output lost; a reader that went away (``| head -c10``) raises
  BrokenPipeError, which ``main`` treats as a normal end (exit 0), as other Unix tools do.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Iterator
from typing import Any

from ..errors import InvalidParameterError, OutputPathError

MAX_STDIN_BYTES = 4 * 1024 * 1024  # prompts, not corpora: far above any model's context


def read_stdin(what: str = "prompt") -> str:
    """All of stdin as UTF-8 text: at most MAX_STDIN_BYTES; closed or unreadable stdin typed."""
    stream = sys.stdin
    if stream is None or getattr(stream, "closed", False):
        raise InvalidParameterError(
            f"stdin is closed, so '-' gives no {what}; pipe it in (echo hi | genai ...) or give "
            "it as an argument"
        )
    try:
        if not hasattr(stream, "buffer"):  # already text (a caller replaced stdin)
            text = stream.read(MAX_STDIN_BYTES + 1)
            data = None
        else:
            data = stream.buffer.read(MAX_STDIN_BYTES + 1)
    except (OSError, ValueError) as error:  # a folder (EISDIR), a closed descriptor
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        raise InvalidParameterError(f"cannot read the {what} from stdin: {reason}") from None
    size = len(data) if data is not None else len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_STDIN_BYTES:
        raise InvalidParameterError(
            f"stdin holds more than {MAX_STDIN_BYTES // (1024 * 1024)} MiB; a {what} is at most "
            "that long: give a shorter one"
        )
    if data is None:
        return text
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidParameterError(
            f"stdin is not valid UTF-8 (byte {data[error.start]:#04x} at offset {error.start}); "
            "convert it, e.g. with iconv -t UTF-8"
        ) from None


class StdoutError(OutputPathError):
    """Standard output cannot be written (full, closed); what is still buffered is dropped."""


class _Stdout:
    """sys.stdout, with write errors typed (a missing stdout is one that fails every write)."""

    def __init__(self, stream: Any):
        self._stream = stream

    @property
    def missing(self) -> bool:
        return self._stream is None

    def _fail(self, error: OSError) -> StdoutError:
        return StdoutError(f"cannot write to standard output: {error.strerror or error}")

    def write(self, text: str) -> int:
        if self._stream is None:
            raise self._fail(OSError(errno.EBADF, "it is closed"))
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            raise
        except OSError as error:
            raise self._fail(error) from None

    def flush(self) -> None:
        if self._stream is None:
            return
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as error:
            raise self._fail(error) from None

    def __getattr__(self, name: str) -> Any:
        if self._stream is None:
            raise AttributeError(name)
        return getattr(self._stream, name)


def require_stdout() -> None:
    """OutputPathError now, before any work, when stdout is closed (the output would be lost)."""
    if getattr(sys.stdout, "missing", False) or sys.stdout is None:
        raise StdoutError(
            "standard output is closed (>&-), so the output would be lost; redirect it to a "
            "file or use -o"
        )


@contextlib.contextmanager
def guarded_streams() -> Iterator[None]:
    """Wrap stdout for the command's run (restored after); a closed stderr goes to devnull."""
    original_out, original_err = sys.stdout, sys.stderr
    sys.stdout = _Stdout(original_out)
    if sys.stderr is None:  # print(file=None) would write errors to stdout
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (lives as long as the process)
    try:
        yield
    finally:
        sys.stdout = original_out
        if original_err is None:
            sys.stderr.close()
            sys.stderr = original_err


def flush_stdout() -> None:
    """Flush now, so a full disk or a closed pipe is found while errors can still be typed."""
    if sys.stdout is not None:
        sys.stdout.flush()


def drop_unwritten_stdout() -> None:
    """After a failed write, send what is still buffered to /dev/null, so the interpreter's
    own flush at exit does not fail again (Python's advice for BrokenPipeError)."""
    stream = sys.stdout._stream if isinstance(sys.stdout, _Stdout) else sys.stdout
    if stream is None or stream is not sys.__stdout__:
        return  # a caller's replacement (a test's capture): leave it alone
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
