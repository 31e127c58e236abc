"""The transformers text engine's speed choices, measured side by side (load average printed).

    python scripts/bench_text_transformers.py [--device cpu|cuda] [--rounds 3] [--quick]

Rows (each a median over interleaved rounds, on a tiny Llama and a SmolLM2-135M-shaped Llama
with random weights and the real SmolLM2 tokenizer when the embedded model is installed):
- cache: generate() with the dynamic vs the static KV cache (tokens/s), raw transformers;
- json: genai greedy with and without json_schema (tokens/s; the grammar's cost);
- concurrency: 1 caller vs 4 callers at once (aggregate tokens/s);
- turns: first-token time at turns 1, 4 and 8 of a growing chat, with the prompt store and
  without it (every prompt read in full).
Ratios measured in one run are what to compare; absolute times depend on the machine's load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

import genai


def load() -> str:
    return f"load {os.getloadavg()[0]:.2f}"


def smollm2_shaped(folder: Path) -> Path:
    """SmolLM2-135M's architecture with random weights, beside the real tokenizer if present."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from genai.backends.text_gguf import transformers_folder
    from genai.catalog import get_entry
    from genai.hub import embedded_path
    from genai.testing.text import tiny_llama

    gguf = embedded_path(get_entry("smollm2-135m-gguf"))
    if gguf is None:
        source = tiny_llama(folder / "tokenizer")
        vocab = 49152
    else:
        source = transformers_folder(Path(gguf), LlamaForCausalLM)
        vocab = 49152
    tokenizer = AutoTokenizer.from_pretrained(source)
    config = LlamaConfig(
        vocab_size=vocab, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
        num_attention_heads=9, num_key_value_heads=3, max_position_embeddings=8192,
        tie_word_embeddings=True, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )  # fmt: skip
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def bench_cache(path: Path, device: str, rounds: int, tokens: int) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path).to(device).eval()
    ids = tokenizer("the fox lives in the snow and " * 4, return_tensors="pt").to(device)
    ban = [[t] for t in {tokenizer.eos_token_id} - {None}]

    def run(**kwargs) -> float:
        started = time.perf_counter()
        with torch.inference_mode():
            model.generate(
                **ids, max_new_tokens=tokens, do_sample=False, bad_words_ids=ban, **kwargs
            )
        return tokens / (time.perf_counter() - started)

    run(), run(cache_implementation="static")  # warm-up (and compile on CUDA)
    figures = {"dynamic": [], "static": []}
    for _ in range(rounds):
        figures["dynamic"].append(run())
        figures["static"].append(run(cache_implementation="static"))
    dynamic, static = (statistics.median(figures[k]) for k in ("dynamic", "static"))
    print(f"cache  {path.name:14} dynamic {dynamic:7.1f} tok/s  static {static:7.1f} tok/s  "
          f"static/dynamic {static / dynamic:.2f}  ({load()})")  # fmt: skip


SCHEMA = {
    "type": "object",
    "properties": {
        "story": {"type": "string", "maxLength": 400},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 40}},
    },
    "required": ["story", "tags"],
}


def bench_json(gen, rounds: int, tokens: int) -> None:
    never_end = {t: -100 for t in gen.end_ids}

    def run(**kwargs) -> float:
        result = gen("Write a story as JSON.", max_new_tokens=tokens, temperature=0, **kwargs)
        return result.completion_tokens / result.timings["generate_s"]

    run(json_schema=SCHEMA)  # compiles the grammar (once per schema)
    plain, constrained = [], []
    for _ in range(rounds):
        plain.append(run(logit_bias=never_end))
        constrained.append(run(json_schema=SCHEMA))
    a, b = statistics.median(plain), statistics.median(constrained)
    print(f"json   {gen.name[-14:]:14} plain {a:7.1f} tok/s  json_schema {b:7.1f} tok/s  "
          f"cost {100 * (1 - b / a):5.1f} %  ({load()})")  # fmt: skip


def bench_concurrency(gen, rounds: int, tokens: int, callers: int = 4) -> None:
    never_end = {t: -100 for t in gen.end_ids}
    prompts = [f"Tell me about the number {i}." for i in range(callers)]

    def one(prompt):
        return gen(prompt, max_new_tokens=tokens, temperature=0, logit_bias=never_end)

    single, together = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        one(prompts[0])
        single.append(tokens / (time.perf_counter() - started))
        threads = [threading.Thread(target=one, args=(p,)) for p in prompts]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        together.append(callers * tokens / (time.perf_counter() - started))
    a, b = statistics.median(single), statistics.median(together)
    print(f"callers {gen.name[-13:]:13} 1 caller {a:7.1f} tok/s  {callers} callers {b:7.1f} tok/s "
          f"aggregate  ratio {b / a:.2f}  ({load()})")  # fmt: skip


def bench_turns(gen, rounds: int, turns: int = 8) -> None:
    def conversation(store: bool) -> list[float]:
        history = [{"role": "system", "content": "You are a helpful assistant. " * 4}]
        gen.prefix_store.clear()
        firsts = []
        for turn in range(turns):
            history.append({"role": "user", "content": f"Question {turn}: tell me more. " * 6})
            if not store:
                gen.prefix_store.clear()
            result = gen(history, max_new_tokens=48, temperature=0)
            firsts.append(result.time_to_first_token)
            history.append({"role": "assistant", "content": result.text})
        return firsts

    with_store, without = [], []
    for _ in range(rounds):  # interleaved, medians per turn
        with_store.append(conversation(True))
        without.append(conversation(False))
    for turn in (1, 4, 8):
        a = statistics.median(run[turn - 1] for run in with_store)
        b = statistics.median(run[turn - 1] for run in without)
        print(f"turns  {gen.name[-14:]:14} turn {turn}: first token {a:.3f} s with the store, "
              f"{b:.3f} s reading it all  ({load()})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="the tiny model only, few tokens")
    parser.add_argument("--only", default="cache,json,callers,turns")
    args = parser.parse_args()
    only = set(args.only.split(","))
    from genai.testing.text import tiny_llama

    with tempfile.TemporaryDirectory() as tmp:
        paths = [tiny_llama(Path(tmp) / "tiny-llama", max_positions=2048)]
        if not args.quick:
            paths.append(smollm2_shaped(Path(tmp) / "smollm2-shaped"))
        tokens = 16 if args.quick else 64
        for path in paths:
            if "cache" in only:
                bench_cache(path, args.device, args.rounds, tokens)
            gen = genai.load(str(path), device=args.device)
            if "json" in only:
                bench_json(gen, args.rounds, tokens)
            if "callers" in only:
                bench_concurrency(gen, args.rounds, tokens)
            if "turns" in only and gen.prefix_store is not None:
                bench_turns(gen, args.rounds)
            gen.unload()


if __name__ == "__main__":
    main()
