"""Progress bars for the command line and batch: tqdm on a terminal; on a pipe or a log file,
a plain line at each quarter of the work (a redrawn bar there is a run of carriage returns).
"""

from __future__ import annotations

import sys
from typing import Any

from tqdm.auto import tqdm
from tqdm.std import tqdm as plain_tqdm


class LineBar(plain_tqdm):
    """tqdm that writes whole lines, one at 0 %, 25 %, 50 %, 75 % and 100 %; what tqdm offers
    besides drawing (update, write, set_postfix, format_dict) works as usual."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._quarter = -1
        kwargs.update(mininterval=0, miniters=1)  # every update reaches display(), which chooses
        super().__init__(*args, **kwargs)
        self.sp = None  # tqdm's redrawing printer: never used (close() then writes nothing)

    def display(self, msg: str | None = None, pos: int | None = None) -> bool:
        quarter = 4 * self.n // self.total if self.total else 0
        if quarter != self._quarter:
            self._quarter = quarter
            self.fp.write(self.format_meter(**self.format_dict).rstrip() + "\n")
            self.fp.flush()
        return True

    def clear(self, nolock: bool = False) -> None:
        """A line written stays: nothing to clear (tqdm.write calls this around its message)."""

    def close(self) -> None:
        if not self.disable:
            self.display()
        super().close()


def progress_bar(**kwargs: Any) -> plain_tqdm:
    """A progress bar (tqdm's keywords) that suits where it writes (``file``, default stderr)."""
    stream = kwargs.get("file") or sys.stderr
    if kwargs.get("disable") or _is_terminal(stream):
        return tqdm(**kwargs)
    return LineBar(**kwargs)


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed, or not a real file
        return False
