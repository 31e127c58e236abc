"""Seconds per image: a raw diffusers call against genai, on the same pipeline, in one process.

With no real weights on disk, the pipeline is a full-size Stable Diffusion 1.5 shape
(UNet2DConditionModel, AutoencoderKL, CLIPTextModel with SD 1.5 configs) with random
weights, saved once to a folder: the cost of a step does not depend on the weights.
genai loads that folder; the raw call uses the very same pipeline object (``gen.pipe``).
Calls alternate raw/genai so load on the machine hits both alike; the best of the repeats
is compared (the median too), in wall seconds and in this process's CPU seconds (which
other processes on a shared machine disturb far less). sd-turbo-style settings: Euler, guidance 0, a few steps.

    python scripts/bench_image.py                      # 256 and 512, 2 steps, 3 repeats
    python scripts/bench_image.py --model sd-turbo     # real weights, if on disk
    python scripts/bench_image.py --faces              # faces-64: 16 faces, raw module vs genai
    python scripts/bench_image.py --batch 8 --sizes 256  # 1 and 8 pictures: raw batched call vs
                                                         # genai vs 8 single genai calls
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

PROMPT = "a red fox in snow, photograph"


def build_sd15_folder(folder: Path, device: str = "cpu", dtype=None) -> Path:
    """Save a random-weight pipeline with the shapes of Stable Diffusion 1.5 (about 1.07B
    parameters), built on ``device`` (a GPU fills the weights in a second) and saved in
    ``dtype`` (default float32)."""
    import torch

    torch.manual_seed(0)
    with torch.device(device):
        return _save_sd15(folder, dtype)


def _save_sd15(folder: Path, dtype) -> Path:
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from genai.testing.image import clip_tokenizer, stable_diffusion_pipeline

    unet = UNet2DConditionModel(sample_size=64, cross_attention_dim=768)  # defaults: SD 1.x blocks
    vae = AutoencoderKL(
        block_out_channels=(128, 256, 512, 512),
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        layers_per_block=2,
        latent_channels=4,
        sample_size=512,
    )
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            hidden_size=768,
            intermediate_size=3072,
            num_attention_heads=12,
            num_hidden_layers=12,
            projection_dim=768,
            max_position_embeddings=77,
            vocab_size=49408,
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=1,
        )
    )
    tokenizer = clip_tokenizer()  # a small vocabulary: tokenizing costs nothing next to the UNet
    tokenizer.model_max_length = 77
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        timestep_spacing="trailing",
    )
    pipeline = stable_diffusion_pipeline(
        unet=unet, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, scheduler=scheduler
    )
    if dtype is not None:
        pipeline.to(dtype)
    partial = folder.with_name(folder.name + ".partial")
    pipeline.save_pretrained(partial)
    partial.replace(folder)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--model", default=None, help="a catalog alias, hub id or folder (default: random SD 1.5)"
    )
    parser.add_argument("--folder", default=os.path.join(tempfile.gettempdir(), "genai-bench-sd15"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--guidance", type=float, default=0.0)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--calls", type=int, default=50, help="calls on a tiny pipeline for the overhead in ms"
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--batch",
        type=int,
        default=0,
        help="compare 1 and N pictures: one raw batched call, genai, and N single genai calls",
    )
    parser.add_argument(
        "--faces", action="store_true", help="time 16-face batches of faces-64 instead"
    )
    args = parser.parse_args()
    if args.faces:
        faces(max(args.repeats, 5))
        return

    import numpy as np
    import torch

    import genai

    name = args.model
    if name is None:
        folder = Path(args.folder)
        if not (folder / "model_index.json").is_file():
            print(f"building a random SD 1.5-shaped pipeline in {folder} (once) ...", flush=True)
            build_sd15_folder(folder)
        name = str(folder)
    started = time.perf_counter()
    gen = genai.load(name, device=args.device, dtype="float32")
    pipe = gen.pipe
    print(f"loaded {name} on {gen.placement.describe()} in {time.perf_counter() - started:.1f} s")
    print(
        f"torch threads: {torch.get_num_threads()}, steps: {args.steps}, guidance: {args.guidance}"
    )

    def settings(size: int) -> dict:
        """What both sides are asked for: the same steps, guidance and size."""
        return {
            "num_inference_steps": args.steps,
            "guidance_scale": args.guidance,
            "width": size,
            "height": size,
        }

    def raw(size: int, seed: int):
        generator = torch.Generator().manual_seed(seed)
        return pipe(PROMPT, **settings(size), generator=generator).images[0]

    def wrapped(size: int, seed: int):
        return gen(PROMPT, **settings(size), seed=seed).image

    raw(min(args.sizes), 0)  # warm-up: the first calls page weights in and pick kernels
    wrapped(min(args.sizes), 0)
    if args.batch:
        batches(gen, settings, args.sizes, args.batch, args.repeats)
        return
    rows = []
    for size in args.sizes:
        # Wall seconds, and this process's CPU seconds: the latter barely moves when other
        # processes share the cores, so it shows genai's own cost on a busy machine.
        wall: dict[str, list[float]] = {"raw": [], "genai": []}
        cpu: dict[str, list[float]] = {"raw": [], "genai": []}
        same = True
        for repeat in range(args.repeats):
            pictures = {}
            calls = [("raw", raw), ("genai", wrapped)]
            for label, call in calls if repeat % 2 == 0 else calls[::-1]:
                w0, c0 = time.perf_counter(), time.process_time()
                pictures[label] = call(size, repeat + 1)
                wall[label].append(time.perf_counter() - w0)
                cpu[label].append(time.process_time() - c0)
            same &= np.array_equal(np.asarray(pictures["raw"]), np.asarray(pictures["genai"]))
        row = {"size": size, "same": same}
        for clock, times in (("wall", wall), ("cpu", cpu)):
            for label in ("raw", "genai"):
                row[f"{clock}_{label}_best"] = min(times[label])
                row[f"{clock}_{label}_median"] = statistics.median(times[label])
        rows.append(row)
        print(
            f"{size}x{size}: wall raw {row['wall_raw_best']:.2f} s, genai {row['wall_genai_best']:.2f} s "
            f"(best of {args.repeats}); cpu raw {row['cpu_raw_best']:.2f} s, genai "
            f"{row['cpu_genai_best']:.2f} s; same pixels: {same}",
            flush=True,
        )

    print()
    print("| size | clock | raw s/image | genai s/image | ratio (best) | ratio (median) |")
    print("|---|---|---|---|---|---|")
    worst = 0.0
    for row in rows:
        for clock in ("wall", "cpu"):
            raw_best, genai_best = row[f"{clock}_raw_best"], row[f"{clock}_genai_best"]
            ratio = genai_best / raw_best
            median_ratio = row[f"{clock}_genai_median"] / row[f"{clock}_raw_median"]
            if clock == "cpu":
                worst = max(worst, ratio)
            print(
                f"| {row['size']}x{row['size']} | {clock} | {raw_best:.2f} | {genai_best:.2f} | "
                f"{ratio:.3f} | {median_ratio:.3f} |"
            )
    print(f"same pixels raw vs genai: {all(row['same'] for row in rows)}")
    verdict = "OK" if worst <= 1.03 else "SLOWER THAN 3%"
    print(
        f"genai overhead (CPU time, best), worst size: {100 * (worst - 1):+.1f}% ({verdict}; limit +3%)"
    )
    if args.calls:
        overhead_ms(args.calls)


def batches(gen, settings, sizes: list[int], count: int, repeats: int) -> None:
    """1 and ``count`` pictures: one raw diffusers call (a generator per picture), genai's
    call (one batched pipeline call), and ``count`` single genai calls (what genai did before
    it batched), alternating, best of ``repeats``; wall and this process's CPU seconds."""
    import numpy as np
    import torch

    pipe = gen.pipe

    def raw(size: int, n: int):
        generators = [torch.Generator().manual_seed(1 + i) for i in range(n)]
        chosen = generators if n > 1 else generators[0]
        return pipe(PROMPT, **settings(size), num_images_per_prompt=n, generator=chosen).images

    def wrapped(size: int, n: int):
        return gen(PROMPT, **settings(size), num_images=n, seed=1).images

    def singles(size: int, n: int):
        return [gen(PROMPT, **settings(size), seed=1 + i).image for i in range(n)]

    print(f"\nbatches of {count}; load average {os.getloadavg()}", flush=True)
    print(
        "| size | pictures | clock | raw s | genai s | singles s | genai/raw | singles/genai | load |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for size in sizes:
        for n in (1, count):
            sides = [("raw", raw), ("genai", wrapped)] + ([("singles", singles)] if n > 1 else [])
            wall: dict[str, list[float]] = {label: [] for label, _ in sides}
            cpu: dict[str, list[float]] = {label: [] for label, _ in sides}
            pictures = {}
            for repeat in range(repeats):
                for label, call in sides[repeat % len(sides) :] + sides[: repeat % len(sides)]:
                    w0, c0 = time.perf_counter(), time.process_time()
                    pictures[label] = call(size, n)
                    wall[label].append(time.perf_counter() - w0)
                    cpu[label].append(time.process_time() - c0)
            same = all(
                np.array_equal(np.asarray(a), np.asarray(b))
                for a, b in zip(pictures["raw"], pictures["genai"], strict=True)
            )
            load = os.getloadavg()[0]
            for clock, times in (("wall", wall), ("cpu", cpu)):
                best = {label: min(values) for label, values in times.items()}
                alone = f"{best['singles']:.2f}" if "singles" in best else ""
                gain = f"{best['singles'] / best['genai']:.3f}" if "singles" in best else ""
                print(
                    f"| {size} | {n} | {clock} | {best['raw']:.2f} | {best['genai']:.2f} | "
                    f"{alone} | {best['raw'] / best['genai']:.3f} | {gain} | {load:.1f} |",
                    flush=True,
                )
            print(f"same pixels raw vs genai ({size}, {n}): {same}", flush=True)


def overhead_ms(calls: int) -> None:
    """genai's own time per call: ImageGenerator.__call__ minus the pipeline's __call__ inside it.

    Measured with cProfile on a tiny pipeline, so it does not drown in the noise of a busy
    machine the way a difference of two wall-clock timings does.
    """
    import cProfile
    import inspect
    import pstats

    import genai
    from genai.backends.image import ImageGenerator
    from genai.testing.image import make_tiny_sd

    prompt = "a red fox"  # fits the tiny tokenizer's 16 tokens
    with tempfile.TemporaryDirectory() as tmp:
        gen = genai.load(str(make_tiny_sd(Path(tmp) / "sd")), device="cpu")
        for i in range(3):  # warm-up
            gen(prompt, num_inference_steps=1, guidance_scale=0.0, seed=i)
        profiler = cProfile.Profile()
        profiler.enable()
        for i in range(calls):
            gen(prompt, num_inference_steps=1, guidance_scale=0.0, seed=i)
        profiler.disable()
    stats = pstats.Stats(profiler).stats

    def cumulative(function) -> float:
        code = inspect.unwrap(function).__code__
        return sum(
            row[3]
            for (file, line, name), row in stats.items()
            if file == code.co_filename and line == code.co_firstlineno and name == code.co_name
        )

    total = cumulative(ImageGenerator.__call__)
    inside = cumulative(type(gen.pipe).__call__)
    print(
        f"tiny pipeline, {calls} calls: {1000 * total / calls:.1f} ms per genai call, of which "
        f"{1000 * (total - inside) / calls:.2f} ms in genai's own code (checks, seeding, result)"
    )


def faces(repeats: int, count: int = 16) -> None:
    """Seconds per batch of ``count`` faces: our DCGAN module called directly on the same
    latents, against the genai call (seeding, checks, PIL pictures, result), alternating."""
    import numpy as np
    import torch

    import genai

    started = time.perf_counter()
    gen = genai.load("faces-64", device="cpu")
    print(
        f"loaded faces-64 in {time.perf_counter() - started:.2f} s; load average {os.getloadavg()}"
    )
    seeds = list(range(count))

    def raw():
        with torch.inference_mode():
            return gen.net(gen.latents(seeds)[:, :, None, None])

    def wrapped():
        return gen(num_images=count, seed=0)

    raw(), wrapped()  # warm-up
    times: dict[str, list[float]] = {"raw": [], "genai": []}
    for repeat in range(repeats):
        calls = [("raw", raw), ("genai", wrapped)]
        for label, call in calls if repeat % 2 == 0 else calls[::-1]:
            begun = time.perf_counter()
            call()
            times[label].append(time.perf_counter() - begun)
    pixels = raw().add(1).mul(127.5).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1)
    same = np.array_equal(pixels.numpy()[3], np.asarray(wrapped().images[3]))
    for label in ("raw", "genai"):
        print(
            f"{label:>5}: {count} faces in {min(times[label]):.3f} s best, "
            f"{statistics.median(times[label]):.3f} s median of {repeats}"
        )
    ratio = min(times["genai"]) / min(times["raw"])
    print(f"genai / raw (best): {ratio:.3f}; same pixels: {same}; load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
