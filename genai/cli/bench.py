"""`genai bench [MODEL ...]`: measure models on this machine; `genai models` shows the figures."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench", help="measure load time, memory and time per output of models on disk"
    )
    parser.add_argument(
        "models", nargs="*", help="models to measure (default: every catalog model on disk)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import genai

    from ..errors import GenaiError
    from ..machine_bench import bench, describe, hardware, store_path

    names = args.models or [row["alias"] for row in genai.list_models() if row["on_disk"]]
    machine = hardware()
    print(f"measuring on {machine['cpu']}, {machine['cores']} cores, {machine['ram_gb']} GB")
    failed = 0
    for name in names:
        try:
            figures = bench(name)
        except GenaiError as error:
            print(f"{name}: not measured: {error}")
            failed += 1
            continue
        print(f"{name}: {describe(figures)}, load {figures['load_s']} s on {figures['device']}")
    print(f"figures kept in {store_path()}")
    return 1 if failed and failed == len(names) else 0
