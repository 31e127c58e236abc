"""How the transformers engine picks each request's next token, one request at a time.

:class:`TokenChooser` holds one request's choices: transformers' own repetition penalty,
OpenAI's presence/frequency penalties and logit_bias, a JSON-schema grammar, transformers'
temperature/top-k/top-p warpers, and a draw from the request's own seeded generator; it also
records the logprobs of what it chose. Both decode loops ask it: ``generate`` (through
:class:`ChooserProcessor`) and continuous batching (text_hf_batching.py).

Why genai draws the token itself rather than ``generate(do_sample=True)``: transformers draws
every row of a batch from one global random stream, so a request's sample would depend on
which other requests were decoded beside it. Here every request has its own
``torch.Generator`` seeded with its seed, on the CPU: a seed gives the same text alone, in a
list of prompts, or beside other callers, on any machine that computes the same logits.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any


def _warpers(settings):
    """transformers' own sampling warpers for these settings, in generate's order."""
    from transformers import (
        LogitsProcessorList,
        TemperatureLogitsWarper,
        TopKLogitsWarper,
        TopPLogitsWarper,
    )

    warpers = LogitsProcessorList()
    if settings["temperature"] != 1.0:
        warpers.append(TemperatureLogitsWarper(settings["temperature"]))
    if settings["top_k"]:
        warpers.append(TopKLogitsWarper(settings["top_k"]))
    if settings["top_p"] < 1.0:
        warpers.append(TopPLogitsWarper(settings["top_p"]))
    return warpers


class TokenChooser:
    """One request's token choice: penalties, bias, grammar, sampling, logprobs."""

    def __init__(self, settings, prompt_ids: list[int], vocab: TokenVocabulary, grammar=None):
        import torch

        self.greedy = settings["temperature"] == 0
        self.warpers = None if self.greedy else _warpers(settings)
        self.generator = None
        if not self.greedy:
            self.generator = torch.Generator().manual_seed(settings["seed"])
        self.repetition = None
        if settings["repetition_penalty"] != 1.0:
            from transformers import RepetitionPenaltyLogitsProcessor

            self.repetition = RepetitionPenaltyLogitsProcessor(settings["repetition_penalty"])
        self.presence = settings.get("presence_penalty") or 0.0
        self.frequency = settings.get("frequency_penalty") or 0.0
        bias = settings.get("logit_bias") or {}
        self.bias_ids = torch.tensor(list(bias), dtype=torch.long)
        self.bias_values = torch.tensor(list(bias.values()), dtype=torch.float32)
        self.grammar = grammar
        self.want_logprobs = bool(settings.get("logprobs"))
        self.top_logprobs = int(settings.get("top_logprobs") or 0) if self.want_logprobs else 0
        self.vocab = vocab
        self.prompt_ids = list(prompt_ids)
        self.ids: list[int] = []
        self.counts: dict[int, int] = {}
        self.logprobs: list[dict[str, Any]] = []
        self.done = (
            False  # set once it chose an end token (generate keeps asking for finished rows)
        )

    @property
    def plain(self) -> bool:
        """True when the decode loop's own argmax is this request's choice (nothing to do here)."""
        return (
            self.greedy
            and self.repetition is None
            and not (self.presence or self.frequency or len(self.bias_ids))
            and self.grammar is None
            and not self.want_logprobs
        )

    def choose(self, logits) -> int:
        """The next token from one row of logits (shape [vocab], any device)."""
        import torch

        row = logits.detach().float().reshape(1, -1)
        raw = row
        if self.repetition is not None:
            context = torch.tensor([self.prompt_ids + self.ids], device=row.device)
            row = self.repetition(context, row.clone())
        if self.presence or self.frequency:
            # OpenAI: logit -= presence * [count > 0] + frequency * count, over the tokens so far.
            ids = torch.tensor(list(self.counts), dtype=torch.long, device=row.device)
            counts = torch.tensor(
                list(self.counts.values()), dtype=torch.float32, device=row.device
            )
            row = row.clone()
            row[0, ids] -= self.presence * (counts > 0).float() + self.frequency * counts
        if len(self.bias_ids):
            row = row.clone()
            row[0, self.bias_ids.to(row.device)] += self.bias_values.to(row.device)
        if self.grammar is not None:
            row = row.cpu().clone()
            self.grammar.mask(row)
        if self.greedy:
            token = int(row.argmax())
        else:
            row = self.warpers(None, row.cpu())
            probs = torch.softmax(row, dim=-1)
            token = int(torch.multinomial(probs[0], 1, generator=self.generator))
        self._record(raw, token)
        return token

    def _record(self, raw, token: int) -> None:
        import torch

        if self.want_logprobs:
            logprobs = torch.log_softmax(raw[0], dim=-1)
            entry = self.vocab.entry(token, float(logprobs[token]))
            if self.top_logprobs:
                values, ids = torch.topk(logprobs, self.top_logprobs)
                entry["top_logprobs"] = [
                    self.vocab.entry(int(i), float(v)) for v, i in zip(values, ids, strict=True)
                ]
            else:
                entry["top_logprobs"] = []
            self.logprobs.append(entry)
        self.ids.append(token)
        self.counts[token] = self.counts.get(token, 0) + 1
        if self.grammar is not None:
            self.grammar.accept(token)
        if token in self.vocab.end_ids:
            self.done = True


class TokenVocabulary:
    """A tokenizer's tokens as OpenAI's logprobs show them: text and UTF-8 bytes."""

    def __init__(self, tokenizer, end_ids: set[int]):
        self.tokenizer = tokenizer
        self.end_ids = end_ids
        decoder = getattr(getattr(tokenizer, "backend_tokenizer", None), "decoder", None)
        self.byte_level = "ByteLevel" in type(decoder).__name__ or "ByteLevel" in repr(decoder)

    def token_bytes(self, token: int) -> bytes:
        piece = self.tokenizer.convert_ids_to_tokens(token)
        if piece is None:
            return b""
        if self.byte_level:
            table = _unicode_to_byte()
            if all(ch in table for ch in piece):
                return bytes(table[ch] for ch in piece)
        if len(piece) == 6 and piece.startswith("<0x") and piece.endswith(">"):
            return bytes([int(piece[3:5], 16)])  # sentencepiece's byte fallback
        return self.tokenizer.decode([token]).encode("utf-8")

    def entry(self, token: int, logprob: float) -> dict[str, Any]:
        data = self.token_bytes(token)
        logprob = logprob if math.isfinite(logprob) else -9999.0  # OpenAI's floor, JSON-safe
        return {
            "token": data.decode("utf-8", errors="replace"),
            "logprob": logprob,
            "bytes": list(data),
        }


@lru_cache(maxsize=1)
def _unicode_to_byte() -> dict[str, int]:
    """GPT-2's byte-level alphabet, reversed: the character a byte-level token uses -> its byte."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    codes, extra = list(printable), 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return {chr(code): byte for byte, code in zip(printable, codes, strict=True)}


def chooser_processor(choosers: list[TokenChooser]):
    """A transformers LogitsProcessor that lets each row's chooser pick its token, for generate
    run greedily: the chosen token gets logit 0 and every other -inf."""
    from transformers import LogitsProcessor

    class ChooserProcessor(LogitsProcessor):
        def __call__(self, input_ids, scores):
            import torch

            forced = torch.full_like(scores, -math.inf)
            for row, chooser in enumerate(choosers):
                if chooser.done:  # generate pads finished rows; keep them as they are
                    forced[row] = scores[row]
                    continue
                forced[row, chooser.choose(scores[row])] = 0.0
            return forced

    return ChooserProcessor()
