"""Benchmark `genai serve` against llama.cpp's own server on the same GGUF, in one run.

    python scripts/bench_server.py                        # smollm2-135m-gguf, 1/4/8 streams
    python scripts/bench_server.py --streams 1,4 --rounds 3 --max-tokens 64
    python scripts/bench_server.py --idle-seconds 30      # also: idle CPU with and without /ui
    python scripts/bench_server.py --python               # also: the Python API against HTTP

Starts `genai serve` (as deployed: a subprocess) and llama.cpp's server (xllamacpp.Server's
HTTP endpoint, in a subprocess, with llama.cpp's defaults apart from the file, the context
and 8 parallel slots) on the same F16 GGUF genai runs. The same chat prompts go to both as
streams through the OpenAI API (greedy, the same max_tokens), 1, 4 and 8 at once, the two
servers taking turns so that drifting load hits both alike. Reported per figure: tokens/s
over all streams, median and longest time to the first token, and the load average.
Then the same with a second process keeping every core busy (the bench starts and stops it).

Goals (issue 19): quiet, genai/raw >= 0.95 in tokens/s at 1, 4 and 8 streams and TTFT
within +10 %; busy, genai >= 2 x raw at 4 streams and never below 0.5 x its own quiet
figure; idle, < 0.2 s of CPU per 30 s with the web app mounted. On a shared machine compare
only figures from one run.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
PROMPTS = [
    "Write a short story about a lighthouse keeper.",
    "Explain how a bicycle works.",
    "Describe a walk through a forest in autumn.",
    "Write a letter to a friend about a trip to the sea.",
    "Explain why the sky is blue.",
    "Describe the city of Paris to a child.",
    "Write a poem about the moon.",
    "Tell the story of a lost cat finding its way home.",
]
RAW_SERVER = """
import sys, xllamacpp
params = xllamacpp.CommonParams()
params.model.path = sys.argv[1]
params.n_ctx = int(sys.argv[2])
params.n_parallel = int(sys.argv[3])
like = sys.argv[4] if len(sys.argv) > 4 else ""
if like:  # the settings genai's engine uses on the CPU (backends/llamacpp.py _params)
    params.n_ctx *= params.n_parallel
    params.kv_unified = like == "genai+unified"
    params.n_batch = params.n_ubatch = 63
    if like == "genai-flash":  # its earlier settings: flash attention off, batches of 512
        params.n_batch = params.n_ubatch = 512
        params.flash_attn_type = xllamacpp.llama_flash_attn_type.LLAMA_FLASH_ATTN_TYPE_DISABLED
    for cpu in (params.cpuparams, params.cpuparams_batch):
        cpu.n_threads = int(sys.argv[5])
        cpu.poll = 0
    params.cache_ram_mib = 0
server = xllamacpp.Server(params)
print(server.listening_address, flush=True)
sys.stdin.read()  # serve until the bench closes our stdin
"""
SPIN = """
import multiprocessing, os
def spin():
    while True:
        pass
for _ in range(os.cpu_count() - 1):
    multiprocessing.Process(target=spin, daemon=True).start()
spin()
"""


def model_file(model: str) -> tuple[Path, int]:
    """The GGUF genai runs for ``model`` (its F16 copy where it makes one) and its context,
    asked of a separate process so that this one holds no model."""
    code = (
        "import genai, json, os, sys; g = genai.load(sys.argv[1]); "
        "print(json.dumps([str(g.gguf_path), g.context_length]), flush=True); os._exit(0)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code, model], env=env, capture_output=True, text=True, check=True
    )
    path, n_ctx = json.loads(done.stdout.strip().splitlines()[-1])
    return Path(path), int(n_ctx)


def genai_engine() -> tuple[int, int]:
    """(slots, threads) of genai's llama.cpp engine here, asked of a separate process."""
    code = (
        "from genai.backends.llamacpp import DEFAULT_PARALLEL as p; "
        "from genai.backends.llamacpp_threads import default_threads as t; print(p, t())"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    parallel, threads = done.stdout.split()
    return int(parallel), int(threads)


def load_average() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with {process.returncode}")
        try:
            if httpx.get(url + "/health", timeout=2).is_success:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{what} did not start within 300 s")


def start_genai(model: str, *, ui: bool = False) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [sys.executable, "-m", "genai", "serve", "--port", str(port), "--queue-size", "64"]
    command += ["--models", f"chat={model}"] + ([] if ui else ["--no-ui"])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, process, "genai serve")
    return process, url


def start_raw(
    gguf: Path, n_ctx: int, parallel: int, threads: int = 0, like: str = ""
) -> tuple[subprocess.Popen, str]:
    """llama.cpp's server with its defaults, or with genai engine's CPU settings (``like``
    "genai"; "genai+unified": one KV cache for all slots, as llama.cpp has it; "genai-flash":
    genai's earlier flash attention off and batches of 512); those run with genai's threads
    and OpenMP waiting."""
    command = [sys.executable, "-c", RAW_SERVER, str(gguf), str(n_ctx), str(parallel)]
    env = dict(os.environ)
    if like:
        command += [like, str(threads)]
        env.setdefault("GOMP_SPINCOUNT", "1000")
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    url = process.stdout.readline().strip()
    if not url.startswith("http"):
        raise SystemExit("llama.cpp's server did not start")
    wait_healthy(url, process, "llama.cpp's server")
    return process, url


def stream_once(url: str, model: str, prompt: str, max_tokens: int) -> tuple[float | None, int]:
    """One streamed greedy chat request: (seconds to the first token, completion tokens)."""
    body = {
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": max_tokens,
        "temperature": 0,
        "seed": 1,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    started, first, tokens = time.perf_counter(), None, 0
    with httpx.stream("POST", url + "/v1/chat/completions", json=body, timeout=600) as reply:
        reply.raise_for_status()
        for line in reply.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if first is None and any(
                (c.get("delta") or {}).get("content") for c in chunk.get("choices", [])
            ):
                first = time.perf_counter() - started
            if chunk.get("usage"):
                tokens = chunk["usage"]["completion_tokens"]
    return first, tokens


def streams_at_once(
    url: str, model: str, count: int, max_tokens: int, fresh: str | None = None
) -> dict[str, float]:
    """``count`` streams at once; ``fresh`` (a tag new each time) makes every prompt new."""
    prompts = [PROMPTS[i % len(PROMPTS)] for i in range(count)]
    if fresh is not None:
        prompts = [f"(request {fresh}.{i}) {p}" for i, p in enumerate(prompts)]
    started = time.perf_counter()
    with ThreadPoolExecutor(count) as pool:
        runs = list(pool.map(lambda p: stream_once(url, model, p, max_tokens), prompts))
    seconds = time.perf_counter() - started
    firsts = [first for first, _ in runs if first is not None]
    return {
        "tokens_s": sum(tokens for _, tokens in runs) / seconds,
        "ttft": statistics.median(firsts) if firsts else float("nan"),
        "ttft_max": max(firsts, default=float("nan")),
    }


def compare(
    servers: dict[str, str],
    streams: list[int],
    rounds: int,
    max_tokens: int,
    label: str,
    fresh: bool = False,
):
    """Best of ``rounds`` for each server and stream count, servers taking turns."""
    figures: dict[tuple[str, int], dict[str, float]] = {}
    for count in streams:
        for round_ in range(rounds):
            for name, url in servers.items():
                model = "chat" if name == "genai" else "model"
                # (every llama.cpp server answers to any model name)
                tag = f"{label}{count}.{round_}" if fresh else None  # the same for both
                run = streams_at_once(url, model, count, max_tokens, tag)
                best = figures.get((name, count))
                if best is None or run["tokens_s"] > best["tokens_s"]:
                    figures[(name, count)] = run
        for name in servers:
            run = figures[(name, count)]
            print(
                f"  {label:5} {name:9} {count} streams: {run['tokens_s']:7.1f} tokens/s, TTFT "
                f"median {run['ttft'] * 1000:6.0f} ms, longest {run['ttft_max'] * 1000:6.0f} ms "
                f"({load_average()})"
            )
        raw = figures[("llama.cpp", count)]
        for name in servers:
            if name == "llama.cpp":
                continue
            run = figures[(name, count)]
            mine = "genai" if name == "genai" else name
            print(
                f"  {label:5} {mine}/raw {count} streams: {run['tokens_s'] / raw['tokens_s']:.2f} "
                f"tokens/s, {run['ttft'] / raw['ttft']:.2f} TTFT ({load_average()})"
            )
    return figures


def process_cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_cpu(model: str, seconds: float) -> None:
    """CPU an idle `genai serve` uses (model loaded, no requests), without and with /ui."""
    for ui in (False, True):
        process, url = start_genai(model, ui=ui)
        try:
            stream_once(url, "chat", PROMPTS[0], 4)  # the model is loaded
            if ui:
                httpx.get(url + "/ui/", timeout=120, follow_redirects=True)
            time.sleep(3)
            before = process_cpu_s(process.pid)
            time.sleep(seconds)
            used = process_cpu_s(process.pid) - before
            print(
                f"  idle {'with' if ui else 'without'} /ui: {used:.3f} s CPU in {seconds:g} s "
                f"= {used * 30 / seconds:.3f} s per 30 s (goal < 0.2) ({load_average()})"
            )
        finally:
            process.terminate()
            process.wait(timeout=60)


def python_against_http(model: str, url: str, rounds: int, max_tokens: int) -> None:
    """The same greedy request through the Python API and through HTTP, alternating."""
    import genai

    generator = genai.load(model)
    messages = [{"role": "user", "content": PROMPTS[0]}]
    times: dict[str, list[float]] = {"python": [], "http": []}
    for _ in range(rounds + 1):  # the first round warms both paths
        started = time.perf_counter()
        generator(messages, temperature=0, max_new_tokens=max_tokens, seed=1)
        times["python"].append(time.perf_counter() - started)
        started = time.perf_counter()
        body = {
            "model": "chat",
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": 0,
            "seed": 1,
        }
        httpx.post(url + "/v1/chat/completions", json=body, timeout=600).raise_for_status()
        times["http"].append(time.perf_counter() - started)
    python, http = min(times["python"][1:]), min(times["http"][1:])
    print(
        f"  same request, best of {rounds}: Python {python:.3f} s, HTTP {http:.3f} s, server "
        f"overhead {(http - python) * 1000:+.1f} ms ({load_average()})"
    )
    genai.unload()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="smollm2-135m-gguf")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--streams", default="1,4,8")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-busy", action="store_true", help="skip the busy-machine runs")
    parser.add_argument(
        "--fresh-prompts",
        action="store_true",
        help="a new prompt every request, so neither server answers from its prompt cache",
    )
    parser.add_argument(
        "--raw-like",
        default="",
        help="also llama.cpp's server with genai's settings: a comma list of genai, "
        "genai+unified (one KV cache for all slots), genai-flash (flash attention off)",
    )
    parser.add_argument("--idle-seconds", type=float, default=0, help="measure idle CPU too")
    parser.add_argument("--python", action="store_true", help="compare the Python API too")
    args = parser.parse_args()
    streams = [int(s) for s in args.streams.split(",")]
    likes = [like for like in args.raw_like.split(",") if like]
    unknown = sorted(set(likes) - {"genai", "genai+unified", "genai-flash"})
    if unknown:
        parser.error(f"--raw-like {','.join(unknown)}: pick from genai, genai+unified, genai-flash")

    gguf, n_ctx = model_file(args.model)
    print(
        f"genai serve against llama.cpp's server: {gguf.name}, n_ctx {n_ctx}, {args.max_tokens} "
        f"new tokens, greedy, {os.cpu_count()} CPUs ({load_average()})"
    )
    if args.idle_seconds:
        idle_cpu(args.model, args.idle_seconds)
    genai_process, genai_url = start_genai(args.model)
    raw_process, raw_url = start_raw(gguf, n_ctx, max(streams))
    servers = {"genai": genai_url, "llama.cpp": raw_url}
    others = []
    for like in likes:
        process, url = start_raw(gguf, n_ctx, *genai_engine(), like=like)
        others.append(process)
        servers[f"raw({like})"] = url
    spinner = None
    try:
        if args.python:
            python_against_http(args.model, genai_url, args.rounds, args.max_tokens)
        for name, url in servers.items():
            stream_once(url, "chat" if name == "genai" else "model", PROMPTS[0], 8)  # warm all
        quiet = compare(servers, streams, args.rounds, args.max_tokens, "quiet", args.fresh_prompts)
        if not args.no_busy:
            spinner = subprocess.Popen([sys.executable, "-c", SPIN], start_new_session=True)
            time.sleep(2)
            busy = compare(
                servers, streams, args.rounds, args.max_tokens, "busy", args.fresh_prompts
            )
            for count in streams:
                own = busy[("genai", count)]["tokens_s"] / quiet[("genai", count)]["tokens_s"]
                raw = busy[("genai", count)]["tokens_s"] / busy[("llama.cpp", count)]["tokens_s"]
                print(
                    f"  busy  {count} streams: genai/raw {raw:.2f} (goal >= 2 at 4), genai busy/"
                    f"quiet {own:.2f} (goal >= 0.5) ({load_average()})"
                )
    finally:
        if spinner is not None:
            os.killpg(spinner.pid, signal.SIGKILL)
        genai_process.terminate()
        for process in (raw_process, *others):
            process.stdin.close()
        for process in (genai_process, raw_process, *others):
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    main()
