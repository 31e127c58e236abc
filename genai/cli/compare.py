"""`genai compare "prompt" --models a,b,c [--seed N] [-o board/]`: one prompt, several models."""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="one prompt and seed through several models: outputs and figures side by side",
    )
    parser.add_argument(
        "prompt", nargs="?", default=None, help="the prompt (none: unconditional images)"
    )
    parser.add_argument("--models", required=True, help="comma-separated models of one modality")
    parser.add_argument("--seed", type=int, default=None, help="the seed every model gets")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a call parameter for every model (VALUE read as JSON when it parses), repeatable",
    )
    parser.add_argument("-o", "--output", default="board", help="folder for board.html/.json")
    parser.set_defaults(run=run)


def parse_params(pairs: list[str]) -> dict:
    from ..errors import InvalidParameterError

    parameters = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise InvalidParameterError(
                f"--param {pair!r}: write NAME=VALUE, e.g. max_new_tokens=32"
            )
        try:
            parameters[name] = json.loads(value)
        except ValueError:
            parameters[name] = value
    return parameters


def run(args: argparse.Namespace) -> int:
    from ..compare import compare

    models = [m.strip() for m in args.models.split(",") if m.strip()]

    def show(entry) -> None:
        if entry.error:
            print(f"{entry.model}: failed: {entry.error}")
        else:
            figures = ", ".join(f"{k} {v}" for k, v in entry.figures.items() if v is not None)
            print(f"{entry.model}: {figures}")

    board = compare(args.prompt, models, seed=args.seed, on_entry=show, **parse_params(args.param))
    for path in board.save(args.output):
        print(path)
    return 0 if any(e.error is None for e in board.entries) else 1
