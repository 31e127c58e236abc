"""A randomized, bounded sweep of bad inputs against genai's Python API and CLI (issue 13).

    python scripts/fuzz_inputs.py --iterations 200 --seconds 120 --seed 1

Each try sends one hostile or careless input to a tiny local model (text, image, speech;
plus the real SmolLM2 GGUF and Piper voice when their wheels are installed and --real is
given) through the API or the `genai` command, and is classified:

  typed            refused with a GenaiError (API), exit 2 and one `genai: error:` line
                   (CLI), a 4xx with an OpenAI error body (HTTP)
  ok               a legitimate (or borderline) input that worked
  wrong exception  another exception (API), another exit code or error form (CLI)
  traceback        the CLI printed a Python traceback
  silently wrong   nonsense accepted (temperature=inf giving output, a file clobbered, a
                   half-written file left behind, two saves both "winning" one name, a batch
                   whose second run differs, output lost to a closed stdout)
  hang             the try ran past --timeout seconds
  5xx              the HTTP server answered with a server error

Surfaces: ``api`` (one call), ``api threads`` (eight threads saving one result to one
name, or into one folder), ``cli`` (the `genai` command, standard I/O included: endless,
closed and unreadable input, a closed or full stdout, a reader that goes away), ``http``
(``genai serve`` on tiny models, driven as a client) and ``batch`` (bad job files, two
runs of one file that must make the same files, SIGTERM in the middle).

Every try is either one that must be refused (a ``refuse`` expectation: success is
``silent``) or a borderline one that may work (``either``: success is ``ok``), so the
table counts only inputs a user should never get through. The script prints the counts
and each failure with a one-line repro, and exits 1 on anything but ok and typed.

The tries live in ``scripts/fuzz/``, one module per surface; this file is the command.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # scripts/, which holds fuzz/

from fuzz.sweep import sweep  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=200, help="at most this many tries")
    parser.add_argument("--seconds", type=float, default=120, help="stop starting tries after this")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=60, help="seconds before a try is a hang")
    parser.add_argument(
        "--cli-timeout",
        type=float,
        default=120,
        help="seconds before a CLI try (a fresh process loading a model) is a hang",
    )
    parser.add_argument(
        "--cli-share", type=float, default=0.15, help="fraction of tries via the CLI"
    )
    parser.add_argument(
        "--http-share", type=float, default=0.15, help="fraction of tries via `genai serve`"
    )
    parser.add_argument(
        "--batch-share", type=float, default=0.05, help="fraction of tries via genai batch"
    )
    parser.add_argument(
        "--real",
        action="store_true",
        help="also the real SmolLM2 GGUF and Piper voice, when installed",
    )
    parser.add_argument("--models", default=None, help="keep the tiny models here between runs")
    parser.add_argument("--json", default=None, help="also write the counts and failures here")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every try")
    args = parser.parse_args(argv)
    code = sweep(args)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # a hung try's thread must not keep the process alive


if __name__ == "__main__":
    main()
