"""`genai verify FILE`: make the output again and say whether it comes out identical.

Exit code 0 identical, 1 differs, 2 cannot replay (the model is missing: the command says
how to get it).
"""

from __future__ import annotations

import argparse
import json

from .replay import add_source_options

EXIT_CODES = {"identical": 0, "differs": 1, "cannot replay": 2}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "verify", help="make an output again and compare: identical, differs or cannot replay"
    )
    add_source_options(parser)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from ..replay import verify

    report = verify(args.file, job=args.job, model=args.model)
    print(json.dumps(asdict(report), indent=2) if args.json else report)
    return EXIT_CODES[report.status]
