"""The sweep: pick tries at random, classify them, count, report."""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import genai

from .api import (
    try_bounds,
    try_chat,
    try_misspelled_call,
    try_names,
    try_number,
    try_prompt,
    try_text_option,
)
from .batch import try_batch_repeat, try_batch_rows, try_batch_signal
from .cli import try_cli, try_shell
from .files import SHARED, try_garbage_load, try_misspelled_load, try_output, try_race
from .outcome import Outcome, Try, run_api, run_cli
from .server import HTTP, try_http
from .targets import PATHS, Target, build_models, first_prompt, make_targets

COLUMNS = ("tried", "typed", "ok", "wrong exception", "traceback", "silently wrong", "hang", "5xx")
SURFACES = ("api", "api threads", "cli", "http", "batch")


# --- the sweep ------------------------------------------------------------------------------

API_KINDS = (
    (try_prompt, 5, None),
    (try_number, 6, None),
    (try_bounds, 5, None),
    (try_names, 1, None),
    (try_text_option, 2, None),
    (try_chat, 1, "text"),
    (try_misspelled_call, 2, None),
    (try_misspelled_load, 1, None),
    (try_output, 2, None),
    (try_race, 3, None),
)


def prepare(target: Target) -> str | None:
    """Load the target and make one good result; a reason when that fails."""
    try:
        target.generator = genai.load(target.location)
        SHARED.add(id(target.generator))
        target.result = target.generator(first_prompt(target), **target.base)
    except Exception as error:  # the sweep goes on without this target
        return f"{type(error).__name__}: {error}"
    return None


ONCE: set[str] = set()  # the costly batch tries, made once per sweep


def pick(rng: random.Random, targets: list[Target], args: argparse.Namespace, scratch: Path) -> Try:
    live = [t for t in targets if not t.stuck]
    draw = rng.random()
    if draw < args.cli_share:
        if rng.random() < 0.4:
            return try_shell(rng, rng.choice(targets), scratch)
        return try_cli(rng, rng.choice(targets), scratch)
    draw -= args.cli_share
    if draw < args.http_share:
        return try_http(rng, targets, scratch)
    draw -= args.http_share
    if draw < args.batch_share:
        for name, make in (("repeat", try_batch_repeat), ("signal", try_batch_signal)):
            if name not in ONCE:
                ONCE.add(name)
                return make(rng, targets, scratch)
        return try_batch_rows(rng, rng.choice(targets), scratch)
    if rng.random() < 0.1 or not live:
        return try_garbage_load(rng, PATHS, scratch)
    target = rng.choice(live)
    kinds = [(make, weight) for make, weight, only in API_KINDS if only in (None, target.modality)]
    make = rng.choices([k for k, _ in kinds], weights=[w for _, w in kinds])[0]
    return make(rng, target, scratch)


def quiet_libraries() -> None:
    """Library warnings would flood the table (CLIP echoes a whole cut-off 1 MB prompt)."""
    import logging

    import transformers

    transformers.logging.set_verbosity_error()
    logging.getLogger("diffusers").setLevel(logging.ERROR)


def sweep(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    quiet_libraries()
    scratch = Path(tempfile.mkdtemp(prefix="genai-fuzz-"))
    models = Path(args.models) if args.models else scratch / "models"
    started = time.monotonic()
    PATHS.update(build_models(models))
    targets = make_targets(PATHS, args.real)
    for target in list(targets):
        target.timeout = args.timeout
        reason = prepare(target)
        if reason:
            print(f"skipping {target.name}: {reason}", file=sys.stderr)
            targets.remove(target)
    print(
        f"models ready in {time.monotonic() - started:.0f} s: {', '.join(t.name for t in targets)}",
        file=sys.stderr,
    )
    counts: dict[str, Counter] = {surface: Counter() for surface in SURFACES}
    failures: list[tuple[str, Try, Outcome]] = []
    deadline = time.monotonic() + args.seconds
    by_name = {t.name: t for t in targets}
    for index in range(args.iterations):
        if time.monotonic() > deadline:
            break
        attempt = pick(rng, targets, args, scratch)
        if attempt.custom is not None:
            slow = attempt.surface in ("cli", "batch")
            outcome = attempt.custom(args.cli_timeout if slow else args.timeout)
        elif attempt.surface in ("api", "batch"):
            outcome = run_api(attempt, args.timeout)
        else:
            outcome = run_cli(attempt, args.cli_timeout)
        if outcome.column == "hang" and attempt.surface == "api" and attempt.target in by_name:
            by_name[attempt.target].stuck = True  # its lock may be held: no more API tries on it
        counts[attempt.surface]["tried"] += 1
        counts[attempt.surface][outcome.column] += 1
        if outcome.column not in ("ok", "typed"):
            failures.append((str(index), attempt, outcome))
        if args.verbose:
            print(
                f"{index:4d} {outcome.column:10s} {attempt.surface} {attempt.target}: {attempt.label}"
                f"  {outcome.detail[:120]}",
                file=sys.stderr,
            )
    report(counts, failures, time.monotonic() - started, args)
    HTTP.close()
    shutil.rmtree(scratch, ignore_errors=True)
    return 1 if failures else 0


# The columns' earlier names, still written to --json for readers of the first table.
OLD_NAMES = {"wrong type": "wrong exception", "silent": "silently wrong"}


def counts_record(row: Counter) -> dict[str, int]:
    record = {c: row[c] for c in COLUMNS}
    record.update({old: row[new] for old, new in OLD_NAMES.items()})
    return record


def report(
    counts: dict[str, Counter], failures: list, seconds: float, args: argparse.Namespace
) -> None:
    total = sum(counts.values(), Counter())
    rows = [(surface, counts[surface]) for surface in SURFACES] + [("total", total)]
    print(f"fuzz_inputs: seed {args.seed}, {seconds:.0f} s, load average {os.getloadavg()[0]:.1f}")
    print("| surface | " + " | ".join(COLUMNS) + " |")
    print("|---|" + "---|" * len(COLUMNS))
    for name, row in rows:
        print(f"| {name} | " + " | ".join(str(row[c]) for c in COLUMNS) + " |")
    for index, attempt, outcome in failures:
        print(
            f"[{outcome.column}] #{index} {attempt.surface} {attempt.target}: {attempt.label}\n"
            f"    repro: {attempt.repro}\n    got: {outcome.detail}"
        )
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "seed": args.seed,
                    "counts": {name: counts_record(row) for name, row in rows},
                    "failures": [
                        {
                            "column": o.column,
                            "surface": a.surface,
                            "target": a.target,
                            "label": a.label,
                            "repro": a.repro,
                            "detail": o.detail,
                        }
                        for _, a, o in failures
                    ],
                },
                indent=2,
            )
        )
