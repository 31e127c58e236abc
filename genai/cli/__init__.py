"""The `genai` command: a thin layer over the Python API.

Each subcommand lives in its own module here with a ``register(subparsers)`` function.
Errors genai raises on purpose become one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import sys

# Subcommand modules, in the order `genai --help` lists them.
COMMANDS = (
    "models",
    "text",
    "image",
    "audio",
    "batch",
    "demo",
    "serve",
    "replay",
    "verify",
    "compare",
    "bench",
)


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line like every other genai error (exit code 2)."""

    def error(self, message: str):
        self.exit(2, f"genai: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="genai", description="Small generative models for text, images and audio.")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log what genai decides and why"
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        module_name = f"{__name__}.{name}"
        if importlib.util.find_spec(module_name) is not None:
            importlib.import_module(module_name).register(subparsers)
    return parser


# Long-running front ends log to stdout (uvicorn's access log, Gradio's URL): a closed stdout
# there keeps Python's own behaviour (the log goes nowhere), not a typed error.
SERVERS = ("serve", "demo")


def main(argv: list[str] | None = None) -> int:
    """Run one command; errors genai raises on purpose are one line and exit code 2. Standard
    I/O (genai.cli.stdio): a failed write to stdout is such an error; a reader that went away
    (``| head``) is a normal end, exit 0."""
    from ..errors import GenaiError
    from .stdio import StdoutError, drop_unwritten_stdout, flush_stdout, guarded_streams

    original_stdout = sys.stdout
    with guarded_streams():
        try:
            args = build_parser().parse_args(argv)  # --help writes to stdout too
            logging.basicConfig(
                level=logging.INFO if args.verbose else logging.WARNING,
                format="genai: %(message)s",
            )
            if args.command in SERVERS:
                sys.stdout = original_stdout
            code = int(args.run(args) or 0)
            flush_stdout()
            return code
        except BrokenPipeError:
            drop_unwritten_stdout()
            return 0
        except GenaiError as error:
            try:
                if isinstance(error, StdoutError):
                    raise error
                flush_stdout()  # what the command printed before the error still goes out
            except (StdoutError, BrokenPipeError):
                drop_unwritten_stdout()
            print(f"genai: error: {error}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("genai: interrupted", file=sys.stderr)
            return 130


if __name__ == "__main__":
    sys.exit(main())
