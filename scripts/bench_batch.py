"""Batched against one-at-a-time text generation through genai's batch runner, in one process.

The same greedy text jobs (32 prompts of mixed lengths, temperature 0) go through
``genai.batch.run_batch`` with ``batch_size=1`` (one generate call per job) and with
larger micro-batches, each into a fresh folder, files and fsynced manifest included. The
model is loaded once beforehand, so load time counts for neither side. Prints jobs per
second, tokens per second and the ratio, and checks the outputs are the same text.

Model: a random-weight Llama of SmolLM2-135M's shape built locally and run on transformers
(the cost of a step does not depend on the weights). The runner batches jobs only on
engines whose batched decoding equals lone decoding (genai.batch.share.batches_reproduce):
on llama.cpp (``--model smollm2-135m-gguf``) every size makes one call per job, and the
script says so.

    python scripts/bench_batch.py                       # 32 prompts, 32 new tokens, sizes 8 and 32
    python scripts/bench_batch.py --jobs 64 --sizes 4 16 64 --max-new-tokens 64
    python scripts/bench_batch.py --model path/to/model
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

TOPICS = (
    "the sea",
    "a red fox in the snow",
    "why the sky is blue",
    "the capital of France and its history",
    "how to make bread at home with flour, water, salt and a little yeast",
    "three tips for a job interview",
    "a short poem about autumn leaves falling on a quiet street",
    "what a compiler does",
)


def prompts(count: int) -> list[str]:
    return [f"Write one sentence about {TOPICS[i % len(TOPICS)]}. ({i})" for i in range(count)]


def smollm2_shaped_llama(folder: Path) -> Path:
    """A random Llama with SmolLM2-135M's layer sizes and a small word tokenizer."""
    from genai.testing.text import tiny_llama

    sizes = {
        "hidden_size": 576,
        "intermediate_size": 1536,
        "num_hidden_layers": 30,
        "num_attention_heads": 9,
        "num_key_value_heads": 3,
    }
    return tiny_llama(folder, max_positions=2048, sizes=sizes)


def pick_model(name: str | None, workdir: Path) -> str:
    return name or str(smollm2_shaped_llama(workdir / "llama"))


def timed_run(jobs, folder: Path, batch_size: int):
    from genai.batch import run_batch

    started = time.perf_counter()
    summary = run_batch(jobs, folder, batch_size=batch_size, seed=0, progress=False)
    seconds = time.perf_counter() - started
    assert summary.done == len(jobs) and summary.failed == 0, summary.describe()
    texts = {job["id"]: (folder / f"{job['id']}.txt").read_text() for job in jobs}
    return seconds, summary.tokens, texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="default: a Llama of SmolLM2-135M's shape")
    parser.add_argument("--jobs", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[8, 32], help="batch sizes to compare with 1"
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's)"
    )
    args = parser.parse_args()

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch

    import genai

    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        model = pick_model(args.model, workdir)
        generator = genai.load(model, task="text")  # loaded once; the runs reuse it
        generator("Hello", temperature=0, max_new_tokens=4)  # warm-up
        parameters = {"max_new_tokens": args.max_new_tokens, "temperature": 0}
        jobs = [
            {
                "id": f"p{i:03d}",
                "task": "text",
                "model": model,
                "prompt": p,
                "parameters": parameters,
            }
            for i, p in enumerate(prompts(args.jobs))
        ]
        print(
            f"model {generator.name} on {generator.placement.describe()}, {torch.get_num_threads()} threads, "
            f"{len(jobs)} greedy jobs x {args.max_new_tokens} new tokens, load average "
            f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
        )
        from genai.batch.share import batches_reproduce

        if not batches_reproduce(generator):
            print(f"{generator.engine}: the runner makes one call per job at every batch size")
        base_seconds, base_tokens, base_texts = timed_run(jobs, workdir / "one", 1)
        print(
            f"batch size  1: {base_seconds:7.2f} s  {len(jobs) / base_seconds:6.2f} jobs/s  "
            f"{base_tokens / base_seconds:7.1f} tokens/s  (one generate call per job)"
        )
        for size in args.sizes:
            seconds, tokens, texts = timed_run(jobs, workdir / f"b{size}", size)
            same = sum(texts[k] == base_texts[k] for k in texts)
            print(
                f"batch size {size:2d}: {seconds:7.2f} s  {len(jobs) / seconds:6.2f} jobs/s  "
                f"{tokens / seconds:7.1f} tokens/s  x{base_seconds / seconds:.2f} jobs/s vs size 1; "
                f"{same}/{len(texts)} outputs identical to one-at-a-time"
            )
        # What the runner adds (files, fsynced manifest lines, hashes) over bare generator calls.
        size = max(args.sizes)
        ordered = sorted(prompts(args.jobs), key=len)  # as the runner orders them
        started = time.perf_counter()
        for i in range(0, len(ordered), size):
            generator(ordered[i : i + size], **parameters)
        direct = time.perf_counter() - started
        seconds, _, _ = timed_run(jobs, workdir / "again", size)
        print(
            f"batch size {size:2d}, bare generator calls (no files): {direct:.2f} s; through the runner "
            f"{seconds:.2f} s ({100 * (seconds - direct) / direct:+.1f}%)"
        )


if __name__ == "__main__":
    main()
