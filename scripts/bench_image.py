"""Seconds per image: a raw diffusers call against genai, on the same pipeline, in one process.

With no real weights on disk, the pipeline is a full-size Stable Diffusion 1.5 shape
(UNet2DConditionModel, AutoencoderKL, CLIPTextModel with SD 1.5 configs) with random
weights, saved once to a folder: the cost of a step does not depend on the weights.
genai loads that folder; the raw call uses the very same pipeline object (``gen.pipe``).
Calls alternate raw/genai so load on the machine hits both alike; the best of the repeats
is compared (the median too). sd-turbo-style settings: Euler, guidance 0, a few steps.

    python scripts/bench_image.py                      # 256 and 512, 2 steps, 3 repeats
    python scripts/bench_image.py --model sd-turbo     # real weights, if on disk
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

PROMPT = "a red fox in snow, photograph"


def build_sd15_folder(folder: Path) -> Path:
    """Save a random-weight pipeline with the shapes of Stable Diffusion 1.5 (about 1.07B parameters)."""
    import torch
    from diffusers import (
        AutoencoderKL,
        EulerDiscreteScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel

    from genai.testing.image import clip_tokenizer

    torch.manual_seed(0)
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
    pipeline = StableDiffusionPipeline(
        unet=unet,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
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
    args = parser.parse_args()

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

    def raw(size: int, seed: int):
        return pipe(
            PROMPT,
            num_inference_steps=args.steps,
            guidance_scale=args.guidance,
            width=size,
            height=size,
            generator=torch.Generator().manual_seed(seed),
        ).images[0]

    def wrapped(size: int, seed: int):
        return gen(
            PROMPT,
            num_inference_steps=args.steps,
            guidance_scale=args.guidance,
            width=size,
            height=size,
            seed=seed,
        ).image

    rows = []
    (
        raw(min(args.sizes), 0),
        wrapped(min(args.sizes), 0),
    )  # warm-up: first calls load pages, pick kernels
    for size in args.sizes:
        times: dict[str, list[float]] = {"raw": [], "genai": []}
        same = True
        for repeat in range(args.repeats):
            pictures = {}
            order = (
                (("raw", raw), ("genai", wrapped))
                if repeat % 2 == 0
                else (("genai", wrapped), ("raw", raw))
            )
            for label, call in order:
                t0 = time.perf_counter()
                pictures[label] = call(size, repeat + 1)
                times[label].append(time.perf_counter() - t0)
            same &= np.array_equal(np.asarray(pictures["raw"]), np.asarray(pictures["genai"]))
        best_raw, best_genai = min(times["raw"]), min(times["genai"])
        med_raw, med_genai = statistics.median(times["raw"]), statistics.median(times["genai"])
        rows.append((size, best_raw, best_genai, med_raw, med_genai, same))
        print(
            f"{size}x{size}: raw {best_raw:.2f} s/image, genai {best_genai:.2f} s/image, "
            f"ratio {best_genai / best_raw:.3f} (medians {med_raw:.2f} / {med_genai:.2f}, "
            f"ratio {med_genai / med_raw:.3f}); same pixels: {same}",
            flush=True,
        )

    print()
    print("| size | raw s/image | genai s/image | ratio (best) | ratio (median) | same pixels |")
    print("|---|---|---|---|---|---|")
    worst = 0.0
    for size, best_raw, best_genai, med_raw, med_genai, same in rows:
        ratio = best_genai / best_raw
        worst = max(worst, ratio)
        print(
            f"| {size}x{size} | {best_raw:.2f} | {best_genai:.2f} | {ratio:.3f} | {med_genai / med_raw:.3f} | {same} |"
        )
    verdict = "OK" if worst <= 1.03 else "SLOWER THAN 3%"
    print(f"\ngenai overhead, worst size: {100 * (worst - 1):+.1f}% ({verdict}; limit +3%)")
    if args.calls:
        overhead_ms(args.calls)


def overhead_ms(calls: int) -> None:
    """genai's own cost per call in milliseconds, on a tiny pipeline where it is not lost in the noise."""
    import torch

    import genai
    from genai.testing.image import make_tiny_sd

    prompt = "a red fox"  # fits the tiny tokenizer's 16 tokens
    with tempfile.TemporaryDirectory() as tmp:
        gen = genai.load(str(make_tiny_sd(Path(tmp) / "sd")), device="cpu")
        pipe = gen.pipe
        times: dict[str, list[float]] = {"raw": [], "genai": []}
        for i in range(calls + 3):
            t0 = time.perf_counter()
            pipe(
                prompt,
                num_inference_steps=1,
                guidance_scale=0.0,
                generator=torch.Generator().manual_seed(i),
            )
            t1 = time.perf_counter()
            gen(prompt, num_inference_steps=1, guidance_scale=0.0, seed=i)
            t2 = time.perf_counter()
            if i >= 3:  # the first calls warm up
                times["raw"].append(t1 - t0)
                times["genai"].append(t2 - t1)
        for label, pick in (("best", min), ("median", statistics.median)):
            raw_ms, genai_ms = 1000 * pick(times["raw"]), 1000 * pick(times["genai"])
            print(
                f"tiny pipeline, {label} of {calls} calls: raw {raw_ms:.1f} ms, genai {genai_ms:.1f} ms "
                f"(genai's own cost {genai_ms - raw_ms:+.1f} ms per call)"
            )


if __name__ == "__main__":
    main()
