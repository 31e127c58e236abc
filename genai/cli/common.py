"""Options shared by the generating subcommands."""

from __future__ import annotations

import argparse
import sys


def add_model_options(parser: argparse.ArgumentParser, *, default_help: str) -> None:
    parser.add_argument(
        "-m", "--model", default=None, help=f"catalog alias, hub id or local path ({default_help})"
    )
    parser.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N or mps")
    parser.add_argument(
        "--dtype", default="auto", help="auto (default), float32, float16 or bfloat16"
    )
    parser.add_argument("--seed", type=int, default=None, help="seed for reproducible output")


def load_from_args(args: argparse.Namespace, task: str, **options):
    """Load the model the arguments name, or the task's catalog default (``options``: load options)."""
    import genai

    name = args.model or genai.default_model(task)
    return genai.load(name, task=task, device=args.device, dtype=args.dtype, **options)


def read_prompt(argument: str) -> str:
    """The prompt argument, or stdin for "-" (which must be UTF-8)."""
    if argument != "-":
        return argument
    from ..errors import InvalidParameterError

    if not hasattr(sys.stdin, "buffer"):  # already text (a caller replaced stdin)
        return sys.stdin.read()
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidParameterError(
            f"stdin is not valid UTF-8 (byte {data[error.start]:#04x} at offset {error.start}); "
            "convert it, e.g. with iconv -t UTF-8"
        ) from None
