"""`genai demo`: start the web app (genai.app), on this machine only unless told otherwise."""

from __future__ import annotations

import argparse

from ..app.options import add_arguments, check_port


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo", help="start the web app (text, image, audio and story tabs) in the browser"
    )
    add_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import require

    check_port(args.host, args.port)  # a bad --port is one line, before gradio loads
    require("gradio", "app")
    from ..app import serve

    serve(args.host, args.port, args.share)
    return 0
