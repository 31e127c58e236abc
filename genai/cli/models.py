"""`genai models [--fits]`, `genai info MODEL`, `genai pull MODEL`.

`genai models` shows, beside each model, this machine's figures from `genai bench` or an
estimate from its parameter count ("~1.2 s / 64 tokens, 300 MB", "≈ ... (estimate)").
"""

from __future__ import annotations

import argparse
import json

from .common import model_name


def register(subparsers: argparse._SubParsersAction) -> None:
    models = subparsers.add_parser("models", help="list the catalog and what is on disk")
    models.add_argument(
        "--task", default=None, help="text, image, speech, audio or a full task name"
    )
    models.add_argument("--json", action="store_true", help="print JSON instead of a table")
    models.add_argument(
        "--fits", action="store_true", help="only models that fit in the memory free now"
    )
    models.set_defaults(run=run_models)

    info = subparsers.add_parser("info", help="show what genai knows about a model")
    info.add_argument("model", type=model_name)
    info.set_defaults(run=run_info)

    pull = subparsers.add_parser("pull", help="download a model ahead of time")
    pull.add_argument("model", type=model_name)
    pull.set_defaults(run=run_pull)


def run_models(args: argparse.Namespace) -> int:
    import genai

    from ..catalog import get_entry
    from ..machine_bench import describe, figures_for, fits

    rows = genai.list_models(task=args.task)
    for row in rows:
        row["figures"] = figures_for(get_entry(row["alias"]))
    if args.fits:
        rows = [row for row in rows if fits(row["figures"])]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    header = (
        f"{'alias':<20} {'task':<31} {'params':>6}  {'on disk':<7}  "
        f"{'on this machine':<38} {'license':<24} hub id"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        disk = "yes" if row["on_disk"] else "no"
        print(
            f"{row['alias']:<20} {row['task']:<31} {row['params']:>6}  {disk:<7}  "
            f"{describe(row['figures']):<38} {row['license']:<24} {row['hub_id']}"
        )
    return 0


def run_info(args: argparse.Namespace) -> int:
    from ..resolve import describe

    print(json.dumps(describe(args.model), indent=2))  # with the model that runs offline
    return 0


def run_pull(args: argparse.Namespace) -> int:
    import genai

    for path in genai.pull(args.model):
        print(path)
    return 0
