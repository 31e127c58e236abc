"""Text speed, measured side by side in one process (the load average beside every figure).

Rows (``--only`` picks some):
- ``compare``: raw xllamacpp (the same server settings as genai, prompt cache on) against
  genai's llama.cpp engine and genai on transformers, for one prompt and for 8 prompts one
  after the other (genai decodes a list one prompt at a time: see llamacpp_slots.py), on 1 and
  2 threads. Every round sends new prompts, so neither side finds them cached; prompt reading
  and decoding are timed apart (tokens / time to the first token, and the rest).
- ``chat``: one growing conversation of 8 turns (64 new tokens per turn, greedy), time to the
  first token at turns 1, 4 and 8, genai and raw llama.cpp both keeping the prompt cache.
- ``json``: decoding speed with and without a JSON schema (llama.cpp's grammar), same prompts.
- ``threading``: raw llama.cpp in fresh processes under each OpenMP wait setting and thread
  count, on the machine as it is and with a second process keeping both cores busy (``--cores``
  busy loops), one stream and 4 streams.
- ``start``: the time from a new ``python -c`` to the first streamed token.

    python scripts/bench_text.py [--model smollm2-135m-gguf] [--rounds 3] [--only compare chat]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
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
TURNS = [
    "Hi! I am planning a trip to Italy. Where should I start?",
    "What is the best time of year to visit Rome?",
    "Which museums in Florence are worth it?",
    "How do I travel from Florence to Venice?",
    "What food should I try in Venice?",
    "Is it easy to get around without speaking Italian?",
    "How much money should I budget per day?",
    "Can you summarise my trip plan in a few lines?",
]
SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "maxLength": 60},
        "steps": {"type": "array", "maxItems": 6, "items": {"type": "string", "maxLength": 80}},
        "minutes": {"type": "integer", "minimum": 1, "maximum": 600},
    },
    "required": ["title", "steps", "minutes"],
    "additionalProperties": False,
}
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


# --- the two sides --------------------------------------------------------------------------


def raw_server(gen):
    """llama.cpp through xllamacpp with the server settings genai's engine uses."""
    import xllamacpp

    return xllamacpp.Server(gen._params(xllamacpp))


def raw_stream(server, messages, max_new_tokens: int, **extra) -> tuple:
    """(prompt tokens, new tokens, seconds to the first token, seconds in all, text)."""
    body = {"messages": messages, "max_tokens": max_new_tokens, "temperature": 0, "min_p": 0.0}
    body.update(stream=True, stream_options={"include_usage": True}, **extra)
    seen: dict = {}
    started = time.perf_counter()

    def on_chunk(chunk):
        for choice in chunk.get("choices", []):
            piece = (choice.get("delta") or {}).get("content")
            if piece:
                seen.setdefault("first", time.perf_counter())
                seen["text"] = seen.get("text", "") + piece
        seen["usage"] = chunk.get("usage") or seen.get("usage")
        return False

    server.handle_chat_completions(body, on_chunk)
    usage = seen["usage"]
    ended = time.perf_counter()
    first = seen.get("first", ended)
    prompt, made = usage["prompt_tokens"], usage["completion_tokens"]
    return prompt, made, first - started, ended - started, seen.get("text", "")


def genai_stream(gen, messages, max_new_tokens: int, **extra) -> tuple:
    started = time.perf_counter()
    stream = gen.stream(messages, max_new_tokens=max_new_tokens, temperature=0, **extra)
    first = None
    for _ in stream:
        first = first or time.perf_counter()
    ended = time.perf_counter()
    result = stream.result
    spent = (first or ended) - started, ended - started
    return result.prompt_tokens, result.completion_tokens, *spent, result.text


def warm_slots(server, slots: int) -> None:
    """One short request in every slot of a raw server: a slot's first request pays a one-time
    cost (measured: about 0.15 s on a 2-core machine) that is not the engine's speed."""
    for slot in range(slots):
        body = {"messages": [{"role": "user", "content": f"Hello {slot}"}], "max_tokens": 1}
        server.handle_chat_completions({**body, "id_slot": slot})


def warm_genai(gen) -> None:
    """The same through genai: distinct prompts fill its empty slots one by one, after which a
    new prompt goes to the slot sharing most of it, as llama.cpp's own choice does."""
    for slot in range(gen.slots):
        gen(f"Hello {slot}", max_new_tokens=1)


def genai_call(gen, messages, max_new_tokens: int, **extra) -> tuple:
    """The same through a plain call (no stream thread), as most Python callers use genai."""
    started = time.perf_counter()
    result = gen(messages, max_new_tokens=max_new_tokens, temperature=0, **extra)
    ended = time.perf_counter()
    first = result.time_to_first_token or ended - started
    return result.prompt_tokens, result.completion_tokens, first, ended - started, result.text


def settle(gen) -> None:
    """Wait until genai's slots are idle (no answer being read back)."""
    while gen._pool.busy():
        time.sleep(0.005)


def rates(runs: list[tuple[int, int, float, float]]) -> tuple[float, float, float]:
    """(prompt tokens/s, decoding tokens/s, all new tokens/s) over a set of requests."""
    prompt = sum(r[0] for r in runs) / sum(r[2] for r in runs)
    decoded = sum(r[1] - 1 for r in runs) / max(1e-9, sum(r[3] - r[2] for r in runs))
    return prompt, decoded, sum(r[1] for r in runs) / sum(r[3] for r in runs)


# --- rows -------------------------------------------------------------------------------------


def compare(args, threads: int) -> None:
    import genai

    fast = genai.load(args.model, threads=threads)
    raw = raw_server(fast)
    warm_slots(raw, fast.slots)
    warm_genai(fast)
    sides = {
        "raw": lambda m, n: raw_stream(raw, m, n),
        "genai": lambda m, n: genai_call(fast, m, n),
    }
    if not args.skip_transformers:
        import torch

        torch.set_num_threads(threads)
        slow = genai.load(args.model, engine="transformers")
        sides["transformers"] = lambda m, n: genai_call(slow, m, n)
    for count in (1, 8):
        found: dict[str, list] = {name: [] for name in sides}
        for round_ in range(args.rounds + 1):  # round 0 warms up
            for name, side in sides.items():
                prompts = [f"{p} (request {round_}, {name})" for p in PROMPTS[:count]]
                runs = [
                    side([{"role": "user", "content": p}], args.max_new_tokens) for p in prompts
                ]
                if round_:
                    found[name].append(rates(runs))
        medians = {
            n: [statistics.median(r[i] for r in v) for i in range(3)] for n, v in found.items()
        }
        shown = "  ".join(
            f"{name} read {m[0]:5.0f} / decode {m[1]:5.1f} tok/s" for name, m in medians.items()
        )
        line = f"{threads} thread(s), {count} prompt(s): {shown}   genai/raw {medians['genai'][2] / medians['raw'][2]:.3f}"
        if "transformers" in medians:
            line += (
                f"   llama.cpp/transformers {medians['genai'][2] / medians['transformers'][2]:.1f}x"
            )
        print(f"{line}   ({load_average()})", flush=True)
    fast.unload()


def chat(args) -> None:
    """One conversation of 8 turns on each side, both keeping the prompt cache; the sides take
    turns (the same load hits both), the conversation runs ``--rounds`` times (medians)."""
    import genai

    gen = genai.load(args.model)
    raw = raw_server(gen)
    warm_slots(raw, gen.slots)
    warm_genai(gen)
    sides = {"genai": lambda h: genai_stream(gen, h, 64), "raw": lambda h: raw_stream(raw, h, 64)}
    first_token: dict[str, dict[int, list[float]]] = {name: {} for name in sides}
    sizes: dict[int, int] = {}
    for round_ in range(args.rounds):
        histories: dict[str, list[dict]] = {name: [] for name in sides}
        for turn, text in enumerate(TURNS, 1):
            for name, side in sides.items():
                settle(gen)  # genai reads an answer back while the user types: let it finish
                history = histories[name]
                history.append(
                    {"role": "user", "content": f"({round_}) {text}" if turn == 1 else text}
                )
                sizes[turn], _, seconds, _, reply = side(history)
                first_token[name].setdefault(turn, []).append(seconds)
                history.append({"role": "assistant", "content": reply})
    for name, found in first_token.items():
        median = {turn: statistics.median(values) for turn, values in found.items()}
        shown = ", ".join(f"turn {t} ({sizes[t]} tokens) {median[t]:.3f} s" for t in (1, 4, 8))
        print(
            f"chat, {name}: first token at {shown}; turn 8 / turn 1 {median[8] / median[1]:.2f}"
            f"   ({load_average()})", flush=True,
        )  # fmt: skip


def json_cost(args) -> None:
    import genai

    gen = genai.load(args.model)
    found: dict[str, list] = {"free": [], "schema": []}
    for round_ in range(args.rounds + 1):
        for name in found:
            extra = {"json_schema": SCHEMA} if name == "schema" else {}
            runs = [
                genai_stream(
                    gen,
                    [{"role": "user", "content": f"Answer in JSON: {p} ({round_})"}],
                    96,
                    **extra,
                )
                for p in PROMPTS[:4]
            ]
            if round_:
                found[name].append(rates(runs)[1])
    free, schema = (statistics.median(found[n]) for n in ("free", "schema"))
    print(
        f"json: decoding free {free:.1f} tok/s, with a schema {schema:.1f} tok/s, cost {1 - schema / free:.1%}   ({load_average()})",
        flush=True,
    )


THREADING_CODE = """
import json, sys, time
from concurrent.futures import ThreadPoolExecutor
torch_too = {torch_too}
if torch_too:
    import torch
    torch.ones(256, 256) @ torch.ones(256, 256)  # start torch's own OpenMP threads
import genai
sys.path.insert(0, {scripts!r})
from bench_text import genai_stream
gen = genai.load({model!r}, threads={threads})
prompts = [[{{"role": "user", "content": f"Tell me about the number {{i}}."}}] for i in range(8)]
genai_stream(gen, prompts[0], 4)
one = [genai_stream(gen, prompts[i], 48) for i in range(2)]
started = time.perf_counter()
with ThreadPoolExecutor(4) as pool:
    four = list(pool.map(lambda p: genai_stream(gen, p, 48), prompts[4:8]))
seconds = time.perf_counter() - started
print(json.dumps({{"one": sum(r[1] for r in one) / sum(r[3] for r in one), "four": sum(r[1] for r in four) / seconds}}))
"""


def _burn() -> None:
    while True:
        pass


def threading_row(args) -> None:
    settings = {
        "libgomp's default": {"GOMP_SPINCOUNT": "300000"},  # its spin count when nothing is set
        "OMP_WAIT_POLICY=PASSIVE": {"OMP_WAIT_POLICY": "PASSIVE"},
        **{f"GOMP_SPINCOUNT={n}": {"GOMP_SPINCOUNT": str(n)} for n in args.spin},
    }
    scripts = os.path.dirname(os.path.abspath(__file__))
    for loops in args.busy:
        burners = [multiprocessing.Process(target=_burn, daemon=True) for _ in range(loops)]
        for burner in burners:
            burner.start()
        for threads in args.threads:
            for torch_too in args.torch:
                for label, env in settings.items():
                    code = THREADING_CODE.format(
                        torch_too=torch_too, scripts=scripts, model=args.model, threads=threads
                    )
                    clean = {
                        k: v
                        for k, v in os.environ.items()
                        if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")
                    }
                    done = subprocess.run(
                        [sys.executable, "-c", code], capture_output=True, text=True,
                        env={**clean, **env}, timeout=600,
                    )  # fmt: skip
                    if done.returncode:
                        print(done.stderr[-400:])
                        continue
                    found = json.loads(done.stdout.strip().splitlines()[-1])
                    state = f"{len(burners)} busy loops" if burners else "as is"
                    print(
                        f"machine {state:13} threads {threads} torch {'yes' if torch_too else 'no '} "
                        f"{label:24}: 1 stream {found['one']:5.1f} tok/s, 4 streams {found['four']:5.1f} tok/s"
                        f"   ({load_average()})", flush=True,
                    )  # fmt: skip
        for burner in burners:
            burner.terminate()


def start(args) -> None:
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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="smollm2-135m-gguf")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 2, help="busy loops")
    parser.add_argument("--skip-transformers", action="store_true")
    parser.add_argument(
        "--spin",
        type=int,
        nargs="+",
        default=[1000, 10000],
        help="threading: GOMP_SPINCOUNTs to try",
    )
    parser.add_argument(
        "--busy", type=int, nargs="+", default=None, help="threading: busy loops (0 --cores)"
    )
    parser.add_argument(
        "--torch", type=lambda v: v == "yes", nargs="+", default=[False, True],
        help="threading: with torch loaded first (yes/no)",
    )  # fmt: skip
    parser.add_argument(
        "--only", nargs="+", default=["compare", "chat", "json", "start"],
        choices=["compare", "chat", "json", "threading", "start"],
    )  # fmt: skip
    args = parser.parse_args()
    args.busy = [0, args.cores] if args.busy is None else args.busy
    print(f"model {args.model}, greedy, {args.rounds} rounds ({load_average()})", flush=True)
    if "compare" in args.only:
        for threads in args.threads:
            compare(args, threads)
    if "chat" in args.only:
        chat(args)
    if "json" in args.only:
        json_cost(args)
    if "threading" in args.only:
        threading_row(args)
    if "start" in args.only:
        start(args)


if __name__ == "__main__":
    main()
