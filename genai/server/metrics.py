"""Prometheus metrics in the text exposition format (written here: no client library needed).

Counters: requests and errors per route, model and status; tokens per model and kind;
cancelled generations. Histograms: request latency per route and model, and time to the
first streamed piece. Gauges: requests running and waiting per model, models loaded.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterable

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)

Labels = tuple[tuple[str, str], ...]


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    escaped = (
        f'{key}="{value.replace(chr(92), chr(92) * 2).replace(chr(10), " ").replace(chr(34), chr(92) + chr(34))}"'
        for key, value in labels
    )
    return "{" + ",".join(escaped) + "}"


class Metrics:
    """Every number the server exposes at GET /metrics; safe to update from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, dict[Labels, float]] = defaultdict(lambda: defaultdict(float))
        self._histograms: dict[str, dict[Labels, list[float]]] = defaultdict(dict)
        self._help = {
            "genai_requests_total": ("counter", "Requests answered, by route, model and status."),
            "genai_errors_total": ("counter", "Requests answered with an error, by route, model and code."),
            "genai_tokens_total": ("counter", "Tokens processed, by model and kind (prompt, completion)."),
            "genai_cancelled_total": ("counter", "Generations stopped early (client gone, timeout)."),
            "genai_request_seconds": ("histogram", "Request latency in seconds, by route and model."),
            "genai_first_token_seconds": ("histogram", "Time to the first streamed piece, by model."),
        }  # fmt: skip
        self.gauges: dict[str, tuple[str, Callable[[], Iterable[tuple[Labels, float]]]]] = {}

    def count(self, name: str, amount: float = 1.0, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            self._counters[name][key] += amount

    def observe(self, name: str, seconds: float, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            buckets = self._histograms[name].setdefault(key, [0.0] * (len(LATENCY_BUCKETS) + 2))
            for index, bound in enumerate(LATENCY_BUCKETS):
                if seconds <= bound:
                    buckets[index] += 1
            buckets[-2] += 1  # +Inf bucket, which is also the count
            buckets[-1] += seconds

    def gauge(
        self, name: str, help: str, read: Callable[[], Iterable[tuple[Labels, float]]]
    ) -> None:
        """A gauge whose values are read when /metrics is asked for."""
        self.gauges[name] = (help, read)

    def exposition(self) -> str:
        lines: list[str] = []
        with self._lock:
            for name, series in sorted(self._counters.items()):
                self._header(lines, name)
                lines.extend(f"{name}{_labels(k)} {v:g}" for k, v in sorted(series.items()))
            for name, series in sorted(self._histograms.items()):
                self._header(lines, name)
                for key, buckets in sorted(series.items()):
                    for bound, count in zip(LATENCY_BUCKETS, buckets, strict=False):
                        lines.append(
                            f"{name}_bucket{_labels((*key, ('le', f'{bound:g}')))} {count:g}"
                        )
                    lines.append(f"{name}_bucket{_labels((*key, ('le', '+Inf')))} {buckets[-2]:g}")
                    lines.append(f"{name}_count{_labels(key)} {buckets[-2]:g}")
                    lines.append(f"{name}_sum{_labels(key)} {buckets[-1]:.6f}")
        for name, (help, read) in sorted(self.gauges.items()):
            lines += [f"# HELP {name} {help}", f"# TYPE {name} gauge"]
            lines.extend(f"{name}{_labels(k)} {v:g}" for k, v in read())
        return "\n".join(lines) + "\n"

    def _header(self, lines: list[str], name: str) -> None:
        kind, help = self._help.get(name, ("untyped", name))
        lines += [f"# HELP {name} {help}", f"# TYPE {name} {kind}"]
