"""The text rows of scripts/gpu_smoke.py: transformers' generate (dynamic cache, static
cache) against genai on one SmolLM2-135M-shaped Llama, 1 and 8 prompts, and 8 concurrent
callers through genai against one.

The model is built here with random weights in SmolLM2-135M's shape (30 layers, 576 wide,
49152-token vocabulary, tied embeddings); its tokenizer is genai.testing's small word-level
one. The output rows of the vocabulary past that tokenizer, and the end-of-text row, are zero,
so greedy decoding never picks them: every call makes exactly its ``max_new_tokens``.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

SMOLLM2_135M = {
    "hidden_size": 576,
    "intermediate_size": 1536,
    "num_hidden_layers": 30,
    "num_attention_heads": 9,
    "num_key_value_heads": 3,
    "vocab_size": 49152,
    "max_position_embeddings": 8192,
    "rope_theta": 100000.0,
}
TINY = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "vocab_size": 2048,
    "max_position_embeddings": 512,
}
PROMPTS = [
    "the red fox",
    "write about snow",
    "tell me of the sea",
    "what is the capital of france",
    "the house by the water",
    "a small animal in the snow",
    "three men came home",
    "the old man and his boy",
]


def build_llama(folder: Path, sizes: dict, device: str, dtype) -> Path:
    """A random LlamaForCausalLM of these sizes with a chat template, saved to ``folder``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from genai.testing.text import CHAT_TEMPLATE, LLAMA_SPECIAL_TOKENS, build_word_tokenizer

    tokenizer = build_word_tokenizer(
        folder, special=LLAMA_SPECIAL_TOKENS, chat_template=CHAT_TEMPLATE
    )
    ids = {f"{k}_token_id": getattr(tokenizer, f"{k}_token_id") for k in ("bos", "eos", "pad")}
    config = LlamaConfig(**sizes, tie_word_embeddings=True, **ids)
    torch.manual_seed(0)
    with torch.device(device):
        model = LlamaForCausalLM(config)
    with torch.no_grad():  # never picked by greedy decoding: logit 0 below the largest real one
        weight = model.get_input_embeddings().weight
        weight[len(tokenizer) :] = 0
        weight[tokenizer.eos_token_id] = 0
    model.to(dtype).save_pretrained(folder)
    return folder


def text(table, device: str, quick: bool, folder: Path, repeats: int) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    import genai

    cuda = device.startswith("cuda")
    dtype = torch.bfloat16 if cuda else torch.float32
    new = 16 if quick else 128
    name = "tiny Llama" if quick else "SmolLM2-135M-shaped Llama"
    with table.row("text", f"build and load {name}") as row:
        build_llama(folder, TINY if quick else SMOLLM2_135M, device, dtype)
        tokenizer = AutoTokenizer.from_pretrained(folder, padding_side="left")
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype).to(device).eval()
        gen = genai.load(str(folder), device=device, dtype=str(dtype).replace("torch.", ""))
        row["result"] = f"raw: {device} / {dtype}; genai: {gen.placement.describe()}"
    if table.rows[-1]["status"] != "ok":
        return

    def inputs(count: int):
        chats = [[{"role": "user", "content": p}] for p in PROMPTS[:count]]
        texts = [
            tokenizer.apply_chat_template(c, add_generation_prompt=True, tokenize=False)
            for c in chats
        ]
        return tokenizer(texts, return_tensors="pt", padding=True).to(device)

    def sync():
        if cuda:
            torch.cuda.synchronize()

    def raw(count: int, cache: str | None):
        batch = inputs(count)
        extra = {"cache_implementation": cache} if cache else {}
        sync()
        begun = time.perf_counter()
        with torch.inference_mode():
            out = model.generate(
                **batch,
                max_new_tokens=new,
                min_new_tokens=new,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id,
                **extra,
            )
        sync()
        made = (out.shape[1] - batch["input_ids"].shape[1]) * count
        return time.perf_counter() - begun, made, out[:, batch["input_ids"].shape[1] :].tolist()

    def wrapped(count: int):
        prompts = PROMPTS[:count] if count > 1 else PROMPTS[0]
        sync()
        begun = time.perf_counter()
        results = gen(prompts, max_new_tokens=new, temperature=0)
        sync()
        results = results if isinstance(results, list) else [results]
        return time.perf_counter() - begun, sum(r.completion_tokens for r in results), None

    def best(call, *args):
        runs = [call(*args) for _ in range(repeats)]
        seconds, made, tokens = min(runs, key=lambda r: r[0])
        return made / seconds, made, tokens

    for count in (1, 8):
        speeds = {}
        for label, call, args in (
            ("dynamic", raw, (count, None)),
            ("static", raw, (count, "static")),
            ("genai", wrapped, (count,)),
        ):
            with table.row("text", f"{count} prompt{'s' if count > 1 else ''}, {label}") as row:
                warm = time.perf_counter()
                call(*args)  # warm-up: the static cache compiles its decode step on CUDA here
                warm = time.perf_counter() - warm
                speeds[label], made, tokens = best(call, *args)
                if label == "static" and tokens != speeds.get("dynamic_tokens"):
                    row["status"] = "error"
                    row["result"] = "greedy tokens differ from the dynamic cache's; "
                if label == "dynamic":
                    speeds["dynamic_tokens"] = tokens
                row["result"] += (
                    f"{speeds[label]:.1f} tok/s aggregate ({made} tokens; first call {warm:.1f} s)"
                )
                if label == "genai":
                    row["result"] += (
                        f"; genai/static {speeds['genai'] / speeds['static']:.2f}, genai/dynamic {speeds['genai'] / speeds['dynamic']:.2f}"
                    )
                    row["ratio"] = round(speeds["genai"] / speeds["static"], 3)
    with table.row("text", "8 concurrent callers through genai vs 1") as row:
        one, _, _ = best(wrapped, 1)
        results: list = []

        def caller(prompt: str) -> None:
            results.append(gen(prompt, max_new_tokens=new, temperature=0))

        threads = [threading.Thread(target=caller, args=(p,)) for p in PROMPTS]
        begun = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - begun
        together = sum(r.completion_tokens for r in results) / seconds
        row["result"] = (
            f"{together:.1f} tok/s aggregate vs {one:.1f} for one caller: x{together / one:.2f}"
        )
        row["ratio"] = round(together / one, 3)
        if len(results) != len(PROMPTS):
            row["status"] = "error"
    gen.unload()
