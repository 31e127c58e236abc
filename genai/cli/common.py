"""Options shared by the generating subcommands."""

from __future__ import annotations

import argparse

DTYPES = ("auto", "float32", "float16", "bfloat16")


def model_name(value: str) -> str:
    """argparse type of a model name: an empty one is an error, never "the default model"."""
    if not value.strip():
        raise argparse.ArgumentTypeError(
            f"{value!r} names no model; give a catalog alias, a hub id or a path (see "
            "`genai models`)"
        )
    return value


def add_model_options(parser: argparse.ArgumentParser, *, default_help: str) -> None:
    parser.add_argument(
        "-m",
        "--model",
        default=None,
        type=model_name,
        help=f"catalog alias, hub id or local path ({default_help})",
    )
    parser.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N or mps")
    parser.add_argument(
        "--dtype",
        default="auto",
        choices=DTYPES,
        help="auto (default), float32, float16 or bfloat16",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed for reproducible output")


def load_from_args(args: argparse.Namespace, task: str, **options):
    """Load the model the arguments name, or the task's catalog default (``options``: load options)."""
    import genai

    name = args.model or genai.default_model(task)
    return genai.load(name, task=task, device=args.device, dtype=args.dtype, **options)


def read_prompt(argument: str) -> str:
    """The prompt argument, or stdin for "-" (UTF-8, size-capped: genai.cli.stdio)."""
    if argument != "-":
        return argument
    from .stdio import read_stdin

    return read_stdin("prompt")
