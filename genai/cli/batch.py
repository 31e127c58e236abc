"""`genai batch INPUT -o OUTDIR`: generate every job of a JSONL/CSV/text file, resumably.

``scripts/batch_generate.py`` runs the same :func:`main`; start it with
``accelerate launch --num_processes N`` (or ``torchrun --nproc_per_node N``) to share the
jobs between processes. Exit codes: 0 every job of the input done, 1 some failed or
left failed (see the manifest), 2 malformed input or a bad option (nothing generated).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "input",
        help="jobs: a .jsonl file (id, task, model, prompt, parameters, seed per line), a .csv "
        "with those columns (parameters as JSON), or a text file with one prompt per line",
    )
    parser.add_argument("-o", "--output", required=True, help="output folder (created if needed)")
    parser.add_argument("-m", "--model", default=None, help="model for jobs that name none")
    parser.add_argument(
        "-t", "--task", default=None, help="task for jobs that name none (text, image, speech...)"
    )
    parser.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a parameter for every job that does not set it, e.g. -p max_new_tokens=64 "
        "(values are read as JSON where they parse); repeatable",
    )
    parser.add_argument(
        "--parameters",
        default=None,
        metavar="JSON",
        help="parameters for every job, as a JSON object",
    )
    parser.add_argument(
        "--format",
        dest="input_format",
        choices=("jsonl", "csv", "txt"),
        default=None,
        help="input format (default: from the file's suffix; anything else is one prompt per line)",
    )
    parser.add_argument(
        "-b",
        "--batch-size",
        type=int,
        default=8,
        help="text prompts per generate call (default 8). Only greedy jobs (temperature 0) "
        "share a call; sampled ones run one by one, so each can be remade alone from its seed",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="run seed: jobs without a seed get derive_seed(run seed, id) (default: the folder's "
        "last run seed, else a random one; recorded in runs.jsonl and the manifest)",
    )
    parser.add_argument("--retry-failed", action="store_true", help="run failed jobs again")
    parser.add_argument(
        "--dry-run", action="store_true", help="check the input and the models; generate nothing"
    )
    parser.add_argument(
        "--cpu", action="store_true", help="every process on the CPU (gloo), even with GPUs"
    )
    parser.add_argument(
        "--device", default="auto", help="auto (default: each process its own GPU), cpu, cuda:N"
    )
    parser.add_argument(
        "--dtype",
        default="auto",
        choices=("auto", "float32", "float16", "bfloat16"),
        help="auto (default), float32, float16 or bfloat16",
    )
    parser.add_argument("--audio-format", choices=("wav", "flac"), default="wav")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")


EPILOG = """\
a JSONL job (model, task, parameters may come from -m/-t/-p; id defaults to the line number, seed to\nderive_seed(run seed, id)):
  {"id": "fox-1", "task": "image", "model": "sd-turbo", "prompt": "a red fox", "parameters": {"num_inference_steps": 1}, "seed": 7}
output: OUTDIR/<id>.txt|.png|.wav (+ .json records), OUTDIR/manifest.jsonl (one line per job), OUTDIR/runs.jsonl
run the same command again to go on after a crash; many processes:
  accelerate launch --num_processes 4 scripts/batch_generate.py jobs.jsonl -o OUTDIR
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "batch",
        help="generate a file of jobs into a folder, resumably",
        description=__doc__.split("\n\n")[0],
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    parser.set_defaults(run=run)


def _parameters(args: argparse.Namespace) -> dict:
    from ..batch.jobs import parse_value
    from ..errors import InvalidParameterError

    parameters: dict = {}
    if args.parameters:
        try:
            parameters = json.loads(args.parameters)
        except json.JSONDecodeError as error:
            raise InvalidParameterError(f"--parameters is not valid JSON ({error})") from error
        if not isinstance(parameters, dict):
            raise InvalidParameterError("--parameters must be a JSON object")
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidParameterError(f"--param {item!r} must look like KEY=VALUE")
        parameters[key.strip()] = parse_value(value)
    return parameters


# Options passed to run_batch under the same name.
_RUN_OPTIONS = (
    "model", "task", "input_format", "batch_size", "seed", "retry_failed", "dry_run", "cpu",
    "device", "dtype", "audio_format",
)  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from ..batch import run_batch

    options = {name: getattr(args, name) for name in _RUN_OPTIONS}
    with stop_on_signals() as stop:
        summary = run_batch(
            args.input,
            args.output,
            parameters=_parameters(args),
            progress=not args.quiet,
            stop=stop,
            **options,
        )
    _leave_process_group()
    if not _is_main_process():
        return 0  # the main process speaks for the run, its exit code included
    if not args.quiet or summary.stopped:
        # A path from argv may hold bytes that are not UTF-8 (as lone surrogates): show them escaped.
        text = summary.describe().encode("utf-8", "backslashreplace").decode("utf-8")
        print(text, file=sys.stderr if summary.stopped else sys.stdout)
    if summary.stopped:
        return 128 + stop.signal  # 143 after SIGTERM, 130 after Ctrl-C, as the shell expects
    return 0 if summary.ok else 1


class _Stop(threading.Event):
    signal: int = signal.SIGTERM


@contextlib.contextmanager
def stop_on_signals() -> Iterator[_Stop]:
    """An Event set by the first SIGTERM or SIGINT: the batch cancels the job in flight (left
    unrecorded, so the next run makes it) and ends with what is done merged. A second signal
    ends the process at once. (When genai.lifecycle lands, its on_signals can set this.)"""
    stop = _Stop()
    if threading.current_thread() is not threading.main_thread():
        yield stop  # signal handlers belong to the main thread; a caller's thread gets none
        return

    def handle(number: int, frame) -> None:
        if stop.is_set():  # asked twice: go now
            signal.signal(number, signal.SIG_DFL)
            if number == signal.SIGINT:
                raise KeyboardInterrupt
            os.kill(os.getpid(), number)
            return
        stop.signal = number  # no printing here: the handler may interrupt a write to stderr
        stop.set()

    previous = {number: signal.signal(number, handle) for number in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _is_main_process() -> bool:
    return os.environ.get("RANK", "0") == "0"


def _leave_process_group() -> None:
    """End the torch.distributed group a multi-process run opened (torch warns at exit otherwise)."""
    if "torch" not in sys.modules:
        return
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def main(argv: list[str] | None = None) -> int:
    """The standalone entry point (scripts/batch_generate.py): same options as `genai batch`."""
    from ..errors import GenaiError

    parser = argparse.ArgumentParser(
        prog=os.path.basename(sys.argv[0]) or "batch_generate.py",
        description=__doc__.split("\n\n")[0],
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what genai decides")
    add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="genai: %(message)s"
    )
    try:
        return run(args)
    except GenaiError as error:
        if _is_main_process():  # every process finds the same problem; say it once
            print(f"genai: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("genai: interrupted; run the same command again to go on", file=sys.stderr)
        return 130
