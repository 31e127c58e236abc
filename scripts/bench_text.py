"""Text speed, measured side by side in one process (the load average beside every figure).

1. raw xllamacpp against genai's llama.cpp engine, same GGUF and settings: genai/raw;
2. genai on llama.cpp against genai on transformers: the ratio;
each for one prompt and for 8 prompts together (aggregate tokens/s), on 1 and 2 threads,
rounds interleaved so that drifts in machine load hit both alike. Then the time from a new
`python -c` to the first streamed token of the model.

    python scripts/bench_text.py [--model smollm2-135m-gguf] [--rounds 3] [--max-new-tokens 48]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial

PROMPTS = [
    "Write a short story about a lighthouse keeper.",
    "Explain how rain forms, step by step.",
    "List ten uses for a paperclip.",
    "Describe the city of Paris to a child.",
    "What should I pack for a week of hiking?",
    "Write a poem about autumn leaves.",
    "How does a bicycle stay upright?",
    "Give me a recipe for pancakes.",
]

FIRST_TOKEN_CODE = """
import time
t0 = time.perf_counter()
import genai
imported = time.perf_counter()
gen = genai.load({model!r})
loaded = time.perf_counter()
stream = gen.stream("What is the capital of France?", max_new_tokens=8)
next(iter(stream))
first = time.perf_counter()
stream.close()
print(f"import {{imported - t0:.2f}} s, load {{loaded - imported:.2f}} s, first token {{first - loaded:.2f}} s")
"""


def load_average() -> str:
    return f"load {os.getloadavg()[0]:.2f}"


def raw_server(path: str, threads: int, n_ctx: int, parallel: int):
    """llama.cpp through xllamacpp with the settings genai uses."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = path
    params.n_ctx, params.n_parallel, params.kv_unified = n_ctx, parallel, True
    for cpu in (params.cpuparams, params.cpuparams_batch):
        cpu.n_threads, cpu.poll = threads, 0
    params.n_gpu_layers, params.warmup, params.fit_params, params.cache_ram_mib = 0, False, False, 0
    return xllamacpp.Server(params)


def raw_run(server, prompts: list[str], max_new_tokens: int) -> tuple[float, int]:
    def one(prompt: str) -> int:
        body = {"messages": [{"role": "user", "content": prompt}], "max_tokens": max_new_tokens}
        body.update(temperature=0, min_p=0.0)
        return server.handle_chat_completions(body)["usage"]["completion_tokens"]

    started = time.perf_counter()
    with ThreadPoolExecutor(len(prompts)) as pool:
        tokens = sum(pool.map(one, prompts))
    return time.perf_counter() - started, tokens


def genai_run(gen, prompts: list[str], max_new_tokens: int) -> tuple[float, int]:
    started = time.perf_counter()
    results = gen(
        prompts if len(prompts) > 1 else prompts[0], max_new_tokens=max_new_tokens, temperature=0
    )
    elapsed = time.perf_counter() - started
    results = results if isinstance(results, list) else [results]
    return elapsed, sum(r.completion_tokens for r in results)


def compare(label: str, runs: dict, prompts: list[str], rounds: int, max_new_tokens: int) -> dict:
    """Median tokens/s of each run, interleaved round by round."""
    rates: dict[str, list[float]] = {name: [] for name in runs}
    for run in runs.values():
        run(prompts, 4)  # warm-up
    for _ in range(rounds):
        for name, run in runs.items():
            seconds, tokens = run(prompts, max_new_tokens)
            rates[name].append(tokens / seconds)
    medians = {name: statistics.median(values) for name, values in rates.items()}
    shown = "   ".join(f"{name} {rate:6.1f} tok/s" for name, rate in medians.items())
    print(f"{label:>22}: {shown}   ({load_average()})", flush=True)
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="smollm2-135m-gguf")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--skip-transformers", action="store_true")
    args = parser.parse_args()

    import genai

    print(
        f"model {args.model}, {args.max_new_tokens} new tokens, greedy, {args.rounds} rounds ({load_average()})"
    )
    for threads in args.threads:
        fast = genai.load(args.model, threads=threads)
        info = fast.info()
        raw = raw_server(info["gguf_path"], threads, info["context_length"], info["parallel"])
        slow = None
        if not args.skip_transformers:
            import torch

            torch.set_num_threads(threads)
            slow = genai.load(args.model, engine="transformers")
        for name, prompts in (("1 prompt", PROMPTS[:1]), ("8 prompts", PROMPTS)):
            runs = {"raw": partial(raw_run, raw), "genai llama.cpp": partial(genai_run, fast)}
            if slow is not None:
                runs["genai transformers"] = partial(genai_run, slow)
            rates = compare(
                f"{threads} thread(s), {name}", runs, prompts, args.rounds, args.max_new_tokens
            )
            line = f"genai/raw {rates['genai llama.cpp'] / rates['raw']:.3f}"
            if slow is not None:
                line += f"   llama.cpp/transformers {rates['genai llama.cpp'] / rates['genai transformers']:.1f}x"
            print(f"{'':>24}{line}", flush=True)
        fast.unload()

    for attempt in (1, 2):  # the first may write the F16 copy; the second is the usual start
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", FIRST_TOKEN_CODE.format(model=args.model)],
            capture_output=True, text=True, check=True, env={**os.environ, "HF_HUB_OFFLINE": "1"},
        )  # fmt: skip
        total = time.perf_counter() - started
        detail = done.stdout.strip().splitlines()[-1]
        print(
            f"new process -> first token, run {attempt}: {total:.2f} s ({detail}) ({load_average()})"
        )


if __name__ == "__main__":
    main()
