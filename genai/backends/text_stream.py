"""Streaming text, shared by both text engines: stop strings, cancel, and the TextStream object.

An engine decodes one prompt in ``run(on_piece)``, calling ``on_piece(text)`` for every new
piece; ``on_piece`` answers True when decoding must end (a stop string appeared, or the
reader closed the stream), and the engine then stops at once. :class:`TextStream` runs that
in a worker thread and hands the pieces to the reader; :func:`decode` runs it in the calling
thread. Both cut the text at the first stop string, so the pieces a reader sees join up to
exactly the result's text.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .. import lifecycle


@dataclass
class Decoded:
    """What an engine made from one prompt, before it becomes a TextResult."""

    text: str
    finish_reason: str  # "eos", "length" or "stop"
    prompt_tokens: int
    completion_tokens: int
    first_token_at: float | None = None  # time.perf_counter() when the first piece came
    # With logprobs: one entry per new token, OpenAI's shape: {"token", "logprob", "bytes",
    # "top_logprobs": [{"token", "logprob", "bytes"}, ...]}.
    logprobs: list[dict[str, Any]] | None = None


OnPiece = Callable[[str], bool]
Run = Callable[[OnPiece], Decoded]


class StopScanner:
    """Finds stop strings in text that arrives piece by piece.

    ``feed`` returns the text that is safe to show: it holds back the last few characters
    that could be the start of a stop string, until the next piece says they are not.
    """

    def __init__(self, stop: list[str] | None):
        self.stop = list(stop or [])
        self.hold = max((len(s) for s in self.stop), default=1) - 1
        self.text = ""
        self.sent = 0
        self.stopped = False
        self.first_at: float | None = None

    def feed(self, piece: str) -> str:
        if self.stopped:
            return ""
        if piece and self.first_at is None:
            self.first_at = time.perf_counter()
        start = max(0, self.sent - self.hold)
        self.text += piece
        cut = min((i for i in (self.text.find(s, start) for s in self.stop) if i >= 0), default=-1)
        if cut >= 0:
            self.stopped = True
            self.text = self.text[:cut]
            return self._take(len(self.text))
        return self._take(len(self.text) - self.hold)

    def finish(self) -> str:
        """The held-back rest, once no more pieces come."""
        return self._take(len(self.text))

    def _take(self, end: int) -> str:
        if end <= self.sent:
            return ""
        piece, self.sent = self.text[self.sent : end], end
        return piece

    def apply(self, decoded: Decoded) -> Decoded:
        """The engine's result with the text cut at the stop string."""
        decoded.text = self.text
        if self.stopped:
            decoded.finish_reason = "stop"
        decoded.first_token_at = decoded.first_token_at or self.first_at
        return decoded


def decode(run: Run, stop: list[str] | None) -> Decoded:
    """Run an engine's decoding in this thread, ending it at the first stop string."""
    scanner = StopScanner(stop)

    def on_piece(piece: str) -> bool:
        scanner.feed(piece)
        return scanner.stopped

    return scanner.apply(run(on_piece))


_DONE = object()


class TextStream:
    """Iterate to get text pieces as they are produced; ``.result`` holds the TextResult after.

    ``close()`` (or breaking out of a ``for`` loop and dropping the stream) stops decoding
    at once; a closed stream records no result.
    """

    owner: Any = None  # the generator (set by Generator.stream): decoding counts as its call

    def __init__(self, run: Run, stop: list[str] | None, finish: Callable[[Decoded, float], Any]):
        self._run = run
        self._finish = finish
        self._scanner = StopScanner(stop)
        self._queue: queue.Queue = queue.Queue()
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self._iterator: Iterator[str] | None = None
        self.result: Any = None
        self.started = 0.0

    def _work(self) -> None:
        def on_piece(piece: str) -> bool:
            shown = self._scanner.feed(piece)
            if shown:
                self._queue.put(shown)
            return self._scanner.stopped or self._cancel.is_set()

        try:
            with lifecycle.streaming(self._call):  # stopped by an unload or the exit: typed error
                decoded = self._run(on_piece)
            rest = self._scanner.finish()
            if rest:
                self._queue.put(rest)
            if not self._cancel.is_set():
                self.result = self._finish(self._scanner.apply(decoded), self.started)
            self._queue.put(_DONE)
        except BaseException as error:  # handed to the reader, raised there
            self._queue.put(error)

    def _pieces(self) -> Iterator[str]:
        self.started = time.perf_counter()
        self._thread = threading.Thread(target=self._work, name="genai-text-stream", daemon=True)
        # A call in flight until decoding ends: the exit and unload() stop it first.
        self._call = lifecycle.begin(self.owner, cancel=self._cancel, thread=self._thread)
        self._thread.start()
        try:
            while True:
                item = self._queue.get()
                if item is _DONE:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self._cancel.set()  # no-op after a normal end; stops the engine otherwise
            self._thread.join()

    def __iter__(self) -> Iterator[str]:
        if self._iterator is None:
            self._iterator = self._pieces()
        return self._iterator

    def __next__(self) -> str:
        return next(iter(self))

    def close(self) -> None:
        """Stop decoding now; no result is recorded."""
        self._cancel.set()
        if self._iterator is not None:
            self._iterator.close()
        self.result = None

    def text(self) -> str:
        """Read the rest of the stream and return the whole text."""
        for _ in self:
            pass
        return self.result.text if self.result is not None else ""


# --- transformers' side: generate() reports to streamers and asks stopping criteria --------


class FirstTokenTimer:
    """A streamer that notes when the first new token arrives (generate puts the prompt first)."""

    def __init__(self) -> None:
        self._calls = 0
        self.first_at: float | None = None

    def put(self, value) -> None:
        self._calls += 1
        if self._calls == 2:
            self.first_at = time.perf_counter()

    def end(self) -> None:
        pass


def piece_streamer(tokenizer, on_piece: OnPiece, cancel: threading.Event):
    """A transformers streamer handing each finished piece of text to ``on_piece``."""
    from transformers import TextStreamer

    class PieceStreamer(TextStreamer):
        def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
            if text and on_piece(text):
                cancel.set()

    return PieceStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)


def cancel_criteria(event: threading.Event):
    """A transformers stopping criterion that ends generation once ``event`` is set."""
    import torch
    from transformers import StoppingCriteria

    class CancelCriteria(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            return torch.full(
                (input_ids.shape[0],), event.is_set(), dtype=torch.bool, device=input_ids.device
            )

    return CancelCriteria()
