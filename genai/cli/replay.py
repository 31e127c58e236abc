"""`genai replay FILE [-o OUT]`: make an output again from the record its file carries."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_source_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file", help="a genai output (.png, .wav, .flac, .txt/.json), story .json or manifest.jsonl"
    )
    parser.add_argument("--job", default=None, help="the job's id, when FILE is a batch manifest")
    parser.add_argument(
        "--model",
        action="append",
        default=None,
        help="a model file or folder to use for the records naming its name (repeat for several)",
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("replay", help="make an output again from its file's record")
    add_source_options(parser)
    parser.add_argument(
        "-o", "--output", default=None, help="where to write (default: NAME-replay beside FILE)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output")
    parser.set_defaults(run=run)


def default_output(file: str, job: str | None) -> Path:
    """NAME-replay.EXT beside the file; a folder for a story or a batch job."""
    path = Path(file)
    if job is not None:
        return (path if path.is_dir() else path.parent) / f"{job}-replay"
    if path.suffix.lower() == ".json" and not any(
        path.with_suffix(s).is_file() for s in (".txt", ".wav", ".flac")
    ):
        return path.with_name(f"{path.stem}-replay")
    return path.with_name(f"{path.stem}-replay{path.suffix}")


def run(args: argparse.Namespace) -> int:
    from ..replay import read_items, replay

    out = Path(args.output) if args.output else default_output(args.file, args.job)
    if len(read_items(args.file, job=args.job)) > 1 or args.job is not None:
        out = out if not out.suffix else out.with_suffix("")
    results = replay(args.file, out, job=args.job, model=args.model, overwrite=args.overwrite)
    print(f"{len(results)} output(s) made again in {out}")
    return 0
