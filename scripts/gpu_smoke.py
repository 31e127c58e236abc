"""One table that says whether genai keeps up with its libraries on this device, and keeps its promises.

    python scripts/gpu_smoke.py                       # on CUDA: under 5 minutes on one GPU
    python scripts/gpu_smoke.py --device cpu --quick  # tiny shapes: under 2 minutes on a CPU
    python scripts/gpu_smoke.py --out DIR             # the table as DIR/gpu_smoke.json too

Needs only torch, transformers, diffusers, accelerate and genai (checked in the last row:
gradio, fastapi and xllamacpp are never imported). Every model is built locally with random
weights in the real shapes (no hub): the cost of a step does not depend on the weights.

Rows, each ok or error with its seconds and peak memory (torch.cuda.max_memory_allocated on
CUDA; the process's largest resident size on a CPU, which only grows):
- ``family <name>`` (scripts/gpu_smoke_families.py): a tiny model of each family loaded and
  run on the device; same seed twice gives the identical output.
- ``image``: an SD 1.5-shaped pipeline at 512x512 (quick: the tiny one at 32x32), 1 and 8
  pictures x 1 and 4 steps: one raw diffusers batched call (its per-picture generators) against
  genai's call on the same pipeline, alternating, best of the repeats; genai/raw is raw seconds
  over genai seconds (1.0: as fast). The peak memory of 8 pictures; 20 calls leak nothing
  (memory after = before +-1%).
- ``text`` (scripts/gpu_smoke_text.py): a SmolLM2-135M-shaped Llama (quick: a tiny one),
  bfloat16 on CUDA: transformers' generate with its dynamic cache, with
  ``cache_implementation="static"``, and genai, for 1 and 8 prompts; 8 concurrent callers'
  aggregate tokens/s through genai against one caller's.

On the lent GPU machine (torch, transformers, accelerate and pytest there; no network): fetch
the missing wheels here into the ignored ``.whl/`` (``pip download --no-deps -d .whl
diffusers==0.42.1 gguf==0.19.0 soundfile==0.14.0 cffi==2.1.1 pycparser==3.12
gan-face-generate==1.1.1 pretty_midi==0.2.11.post0 mido==1.3.3 importlib_resources==7.1.0``,
about 21 MB), carry ``.whl`` and run there ``pip install --no-deps --target /tmp/w .whl/*;
PYTHONPATH=$PWD:/tmp/w python scripts/gpu_smoke.py --out $OUT; PYTHONPATH=$PWD:/tmp/w python
-m pytest -m gpu -q``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

FORBIDDEN = ("gradio", "fastapi", "xllamacpp")
PROMPT = "a red fox in snow"


class Table:
    """The rows, printed as one markdown table and written as JSON."""

    def __init__(self, device: str, header: dict, out: Path | None = None) -> None:
        self.device, self.header, self.out, self.rows = device, header, out, []

    def write(self) -> None:
        """The JSON so far (after every row: a run stopped by its time limit keeps its rows)."""
        if self.out is not None:
            self.out.mkdir(parents=True, exist_ok=True)
            report = {**self.header, "rows": self.rows}
            (self.out / "gpu_smoke.json").write_text(json.dumps(report, indent=2))

    def peak_mb(self) -> float:
        import torch

        if self.device.startswith("cuda"):
            return torch.cuda.max_memory_allocated() / 2**20
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes

    @contextlib.contextmanager
    def row(self, section: str, check: str):
        """A row timed and measured; an exception becomes status "error" with its message."""
        import torch

        if self.device.startswith("cuda"):
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        row = {"section": section, "check": check, "status": "ok", "result": ""}
        started = time.perf_counter()
        try:
            yield row
        except Exception as error:  # noqa: BLE001 - the table reports every failure, then goes on
            row["status"], row["result"] = "error", f"{type(error).__name__}: {error}"[:300]
        if self.device.startswith("cuda"):
            torch.cuda.synchronize()
        row["seconds"] = round(time.perf_counter() - started, 2)
        row["peak_mb"] = round(self.peak_mb(), 1)
        self.rows.append(row)
        self.write()
        print(f"  {row['status']:5} {section} / {check}: {row['result']}", flush=True)

    def print(self) -> None:
        print()
        for key, value in self.header.items():
            print(f"{key}: {value}")
        print()
        print("| section | check | status | seconds | peak MB | result |")
        print("|---|---|---|---|---|---|")
        for r in self.rows:
            result = str(r["result"]).replace("|", "/")
            print(
                f"| {r['section']} | {r['check']} | {r['status']} | {r['seconds']} | "
                f"{r['peak_mb']} | {result} |"
            )


def versions(device: str) -> dict:
    import accelerate
    import diffusers
    import torch
    import transformers

    import genai

    if device.startswith("cuda"):
        name = f"{torch.cuda.get_device_name(device)} (CUDA {torch.version.cuda})"
    else:
        name = f"CPU {platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    return {
        "load average": " ".join(f"{v:.2f}" for v in os.getloadavg()),
        "device": f"{device}: {name}",
        "versions": f"torch {torch.__version__}, transformers {transformers.__version__}, "
        f"diffusers {diffusers.__version__}, accelerate {accelerate.__version__}, "
        f"genai {genai.__version__}, python {platform.python_version()}",
    }


# --- images: raw diffusers batched against genai ------------------------------------------------


def images(table: Table, device: str, quick: bool, root: Path, repeats: int) -> None:
    import gc

    import numpy as np
    import torch

    import genai

    size = 32 if quick else 512
    with table.row("image", "load SD 1.5-shaped pipeline" if not quick else "load tiny SD") as row:
        if quick:
            from genai.testing.image import make_tiny_sd

            folder = make_tiny_sd(root / "sd")
        else:
            from bench_image import build_sd15_folder

            half = torch.float16 if device.startswith("cuda") else None
            folder = build_sd15_folder(root / "sd15", device=device, dtype=half)
        gen = genai.load(str(folder), device=device)
        row["result"] = f"{gen.placement.describe()}, {size}x{size}"
    if table.rows[-1]["status"] != "ok":
        return
    pipe = gen.pipe

    def raw(count, steps, seed):
        generators = [torch.Generator().manual_seed(seed + i) for i in range(count)]
        settings = {
            "num_inference_steps": steps,
            "guidance_scale": 0.0,
            "width": size,
            "height": size,
        }
        return pipe(
            PROMPT,
            **settings,
            num_images_per_prompt=count,
            generator=generators if count > 1 else generators[0],
        ).images

    def wrapped(count, steps, seed):
        return gen(
            PROMPT,
            num_images=count,
            num_inference_steps=steps,
            guidance_scale=0.0,
            width=size,
            height=size,
            seed=seed,
        ).images

    def timed(call, *args):
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        begun = time.perf_counter()
        pictures = call(*args)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        return time.perf_counter() - begun, pictures

    raw(1, 1, 0), wrapped(1, 1, 0)  # warm-up: kernels chosen, weights paged in
    for count in (1, 8):
        for steps in (1, 4):
            with table.row("image", f"raw vs genai, {count} x {size}², {steps} steps") as row:
                times = {"raw": [], "genai": []}
                pictures = {}
                for repeat in range(repeats):
                    order = [("raw", raw), ("genai", wrapped)]
                    for label, call in order if repeat % 2 == 0 else order[::-1]:
                        seconds, pictures[label] = timed(call, count, steps, 10)
                        times[label].append(seconds)
                same = all(
                    np.array_equal(np.asarray(a), np.asarray(b))
                    for a, b in zip(pictures["raw"], pictures["genai"], strict=True)
                )
                best = {k: min(v) for k, v in times.items()}
                row["result"] = (
                    f"raw {best['raw']:.3f} s, genai {best['genai']:.3f} s, genai/raw {best['raw'] / best['genai']:.2f}; same pixels: {same}"
                )
                row["ratio"] = round(best["raw"] / best["genai"], 3)
                if not same:
                    row["status"] = "error"
    with table.row("image", f"peak memory, genai 8 x {size}², 4 steps") as row:
        wrapped(8, 4, 3)
        row["result"] = f"{table.peak_mb():.0f} MB"

    def in_use() -> float:
        gc.collect()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
            return torch.cuda.memory_allocated() / 2**20
        with open("/proc/self/statm") as statm:  # resident pages
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    with table.row("image", "leak check, 20 genai calls") as row:
        for seed in range(3):
            wrapped(1, 1, seed)
        before = in_use()
        for seed in range(20):
            wrapped(1, 1, seed)
        after = in_use()
        change = (after - before) / before
        row["result"] = (
            f"memory in use {before:.1f} MB before, {after:.1f} MB after ({100 * change:+.2f}%)"
        )
        if abs(change) > 0.01:
            row["status"] = "error"
    gen.unload()


def imports(table: Table) -> None:
    with table.row("imports", "only torch, transformers, diffusers, accelerate, genai") as row:
        found = [name for name in FORBIDDEN if name in sys.modules]
        row["result"] = (
            f"imported: {', '.join(found)}" if found else "no gradio, fastapi, xllamacpp"
        )
        if found:
            row["status"] = "error"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default=None, help="cuda (default where there is one) or cpu")
    parser.add_argument(
        "--quick", action="store_true", help="tiny shapes (a CPU in under 2 minutes)"
    )
    parser.add_argument("--out", default=None, help="a folder for gpu_smoke.json")
    parser.add_argument(
        "--repeats", type=int, default=None, help="timed repeats per side (3; quick: 2)"
    )
    parser.add_argument("--skip", nargs="*", default=[], choices=["families", "image", "text"])
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    device = "cuda:0" if device == "cuda" else device
    repeats = args.repeats or (2 if args.quick else 3)
    if args.quick and device == "cpu":
        # Tiny shapes gain nothing from threads, and on a busy machine threads wait on each other.
        torch.set_num_threads(1)
    header = versions(device)
    header["torch threads"] = torch.get_num_threads()
    print(f"gpu_smoke on {header['device']}; load average {header['load average']}", flush=True)
    table = Table(device, header, Path(args.out) if args.out else None)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="genai-smoke-") as tmp:
        root = Path(tmp)
        sys.path.insert(0, str(Path(__file__).parent))
        if "families" not in args.skip:
            from gpu_smoke_families import families

            families(table, device, root / "families")
        if "image" not in args.skip:
            images(table, device, args.quick, root, repeats)
        if "text" not in args.skip:
            from gpu_smoke_text import text

            text(table, device, args.quick, root / "text", repeats)
    imports(table)
    header["total seconds"] = round(time.perf_counter() - started, 1)
    header["load average after"] = " ".join(f"{v:.2f}" for v in os.getloadavg())
    table.print()
    table.write()
    return 0 if all(r["status"] == "ok" for r in table.rows) else 1


if __name__ == "__main__":
    sys.exit(main())
