"""The skips of a test run: summarised, written down, and checked against an allow-list.

A test that always skips tests nothing, and a skip line in pytest's long output is easy to
miss. ``scripts/test.sh`` loads this module as a pytest plugin (``-p genai.testing.skips``):
at the end of the run it prints every skip reason with its count and, when the environment
variable ``GENAI_SKIP_REPORT`` names a file, writes one line per skip there::

    tests/test_x.py::test_y [gpu,slow] needs a CUDA GPU

``.ci/run`` then checks that file against ``tests/skips-allowed.txt``
(``python -m genai.testing.skips REPORT ALLOWED``): every line must match one of its
patterns (Python regular expressions, ``#`` starts a comment), or CI fails.

Only the standard library is imported here: the plugin loads before the tests' conftest.
"""

from __future__ import annotations

import os
import re
import sys
from collections import Counter
from pathlib import Path

REPORT_ENV = "GENAI_SKIP_REPORT"


def _reason(longrepr) -> str:
    text = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return text.removeprefix("Skipped: ").strip().replace("\n", " ")


class SkipRecorder:
    """Collects one ``nodeid [markers] reason`` line per skipped test or module."""

    def __init__(self, markers: set[str]):
        self.markers = markers
        self.lines: list[str] = []

    def _record(self, report) -> None:
        if not report.skipped or hasattr(report, "wasxfail"):
            return
        marks = sorted(m for m in self.markers if m in getattr(report, "keywords", {}))
        self.lines.append(f"{report.nodeid} [{','.join(marks)}] {_reason(report.longrepr)}")

    def pytest_runtest_logreport(self, report) -> None:
        self._record(report)

    def pytest_collectreport(self, report) -> None:
        self._record(report)  # a module skipped as a whole (importorskip at the top)

    def pytest_terminal_summary(self, terminalreporter) -> None:
        reasons = Counter(line.split("] ", 1)[1] for line in self.lines)
        terminalreporter.section(f"skips: {len(self.lines)}")
        for reason, count in reasons.most_common():
            terminalreporter.write_line(f"{count:4d}  {reason}")
        target = os.environ.get(REPORT_ENV)
        if target:
            Path(target).write_text("".join(f"{line}\n" for line in self.lines))


def pytest_configure(config) -> None:
    names = {line.split(":", 1)[0].strip() for line in config.getini("markers")}
    config.pluginmanager.register(SkipRecorder(names), "genai-skip-recorder")


def allowed_patterns(path: str | Path) -> list[re.Pattern]:
    """The patterns of an allow-list file: one regular expression a line, ``#`` comments."""
    patterns = []
    for raw in Path(path).read_text().splitlines():
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if line:
            patterns.append(re.compile(line))
    return patterns


def unexpected(report_lines: list[str], patterns: list[re.Pattern]) -> list[str]:
    """The skip lines no pattern matches (``re.search``)."""
    return [line for line in report_lines if not any(p.search(line) for p in patterns)]


def main(argv: list[str] | None = None) -> int:
    report, allowed = argv if argv is not None else sys.argv[1:]
    lines = [line for line in Path(report).read_text().splitlines() if line.strip()]
    wrong = unexpected(lines, allowed_patterns(allowed))
    for line in wrong:
        print(f"unexpected skip: {line}")
    print(f"skips: {len(lines)}, of which {len(wrong)} not on the allow-list {allowed}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
