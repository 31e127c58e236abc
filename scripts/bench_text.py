"""Text speed: raw transformers `generate` against genai, same model and settings, one process.

Prints tokens per second for both and genai/raw for a single prompt and a batch of 8, and
the time from `genai.load` to the first token of the embedded GGUF model on a first run
(converting the file) and a second run (reading the converted copy).

    python scripts/bench_text.py [--model smollm2-135m-gguf] [--rounds 5] [--max-new-tokens 64]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

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
import json, time
t0 = time.perf_counter()
import genai
gen = genai.load({model!r})
loaded = time.perf_counter()
stream = gen.stream("What is the capital of France?", temperature=0, max_new_tokens=8)
next(iter(stream))
first = time.perf_counter()
stream.close()
print(json.dumps({{"load_s": loaded - t0, "load_to_first_token_s": first - t0}}))
"""


def time_to_first_token(model: str, cache: str) -> dict:
    env = {**os.environ, "GENAI_CACHE": cache, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", FIRST_TOKEN_CODE.format(model=model)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def raw_generate(model, tokenizer, texts: list[str], max_new_tokens: int) -> tuple[float, int]:
    import torch

    encoded = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    started = time.perf_counter()
    with torch.inference_mode():
        output = model.generate(
            **encoded,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id,
        )
    elapsed = time.perf_counter() - started
    new = output[:, encoded["input_ids"].shape[1] :]
    eos = tokenizer.eos_token_id
    tokens = sum(int((row != eos).sum()) + int((row == eos).any()) for row in new)
    return elapsed, tokens


def genai_generate(gen, prompts: list[str], max_new_tokens: int) -> tuple[float, int]:
    started = time.perf_counter()
    results = gen(
        prompts if len(prompts) > 1 else prompts[0], max_new_tokens=max_new_tokens, temperature=0
    )
    elapsed = time.perf_counter() - started
    results = results if isinstance(results, list) else [results]
    return elapsed, sum(r.completion_tokens for r in results)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="smollm2-135m-gguf")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--skip-first-token", action="store_true")
    args = parser.parse_args()

    if not args.skip_first_token:
        with tempfile.TemporaryDirectory() as cache:
            first = time_to_first_token(args.model, cache)
            second = time_to_first_token(args.model, cache)
        print(
            f"load -> first token, first run (converts the GGUF):  {first['load_to_first_token_s']:.1f} s"
        )
        print(
            f"load -> first token, second run (converted copy):   {second['load_to_first_token_s']:.1f} s"
        )

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    import genai

    gen = genai.load(args.model, device="cpu", dtype="float32")
    folder = gen.model.name_or_path
    tokenizer = AutoTokenizer.from_pretrained(folder, padding_side="left")
    tokenizer.pad_token = tokenizer.pad_token or tokenizer.eos_token
    raw_model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    print(f"model: {args.model} ({folder}), torch threads: {torch.get_num_threads()}")

    for label, prompts in (("single prompt", PROMPTS[:1]), ("batch of 8", PROMPTS)):
        texts = [gen._as_text(p, None) for p in prompts]  # the same chat-templated input for both
        raw_generate(raw_model, tokenizer, texts, 4)  # warm-up
        genai_generate(gen, prompts, 4)
        raw_rates, genai_rates = [], []
        for _ in range(args.rounds):  # interleaved, so drifts in machine load hit both alike
            seconds, tokens = raw_generate(raw_model, tokenizer, texts, args.max_new_tokens)
            raw_rates.append(tokens / seconds)
            seconds, tokens = genai_generate(gen, prompts, args.max_new_tokens)
            genai_rates.append(tokens / seconds)
        raw_rate, genai_rate = statistics.median(raw_rates), statistics.median(genai_rates)
        print(
            f"{label:>13}: raw {raw_rate:7.1f} tok/s   genai {genai_rate:7.1f} tok/s   "
            f"genai/raw {genai_rate / raw_rate:.3f}"
        )


if __name__ == "__main__":
    main()
