"""`genai image PROMPT -o out.png`: pictures from a prompt, an input picture, or a saved PNG's parameters."""

from __future__ import annotations

import argparse

from .common import add_model_options

# Command-line flags that map one to one onto the generator's keyword arguments.
_CALL_FLAGS = (
    "negative_prompt",
    "num_inference_steps",
    "guidance_scale",
    "width",
    "height",
    "num_images",
    "scheduler",
    "init_image",
    "strength",
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "image",
        help="make pictures from a text prompt",
        description="Make pictures with a diffusion model. Each PNG keeps its parameters, so "
        "`genai image --from out.png` makes it again.",
    )
    parser.add_argument(
        "prompt", nargs="?", default=None, help="what to draw (leave out for unconditional models)"
    )
    parser.add_argument(
        "-o",
        "--output",
        default=".",
        help="a .png file, or a folder for numbered files 00001-<seed>.png (default: the current folder)",
    )
    add_model_options(parser, default_help="default: sd-turbo")
    parser.add_argument("--negative-prompt", default=None, help="what to keep out of the picture")
    parser.add_argument(
        "--steps", dest="num_inference_steps", type=int, default=None, help="denoising steps"
    )
    parser.add_argument(
        "--guidance", dest="guidance_scale", type=float, default=None, help="guidance (CFG) scale"
    )
    parser.add_argument("--width", type=int, default=None, help="width in pixels (a multiple of 8)")
    parser.add_argument(
        "--height", type=int, default=None, help="height in pixels (a multiple of 8)"
    )
    parser.add_argument(
        "-n", "--num-images", dest="num_images", type=int, default=None, help="how many pictures"
    )
    parser.add_argument(
        "--scheduler",
        default=None,
        help="euler, euler_a, dpm++, ddim, lcm, ... (default: the model's)",
    )
    parser.add_argument(
        "--init-image",
        default=None,
        metavar="PATH",
        help="start from this picture (image-to-image)",
    )
    parser.add_argument(
        "--strength", type=float, default=None, help="how far to move from --init-image, 0 to 1"
    )
    parser.add_argument(
        "--from", dest="from_png", default=None, metavar="PNG", help="make a saved picture again"
    )
    parser.add_argument(
        "--no-metadata", action="store_true", help="do not write the parameters into the PNG"
    )
    parser.add_argument(
        "--attention-slicing", action="store_true", help="less memory, a little slower"
    )
    parser.add_argument("--vae-tiling", action="store_true", help="decode large pictures in tiles")
    parser.add_argument(
        "--cpu-offload", action="store_true", help="keep idle parts of the model off the GPU"
    )
    parser.add_argument(
        "--tiny-vae",
        nargs="?",
        const=True,
        default=None,
        metavar="REPO",
        help="decode with a tiny autoencoder (default madebyollin/taesd): faster, a little softer",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(run=run)


def _image_task(name: str) -> str:
    """The model's own image task, read from its files before anything heavy loads."""
    from ..catalog import MODALITY_OF_TASK, find_entry
    from ..detect import detect_family
    from ..errors import WrongTaskError
    from ..hub import resolve_source

    _, task = detect_family(resolve_source(name, find_entry(name)))
    if MODALITY_OF_TASK[task] != "image":
        raise WrongTaskError(
            f"model {name!r} does {task}, not images; pick one from `genai models --task image`"
        )
    return task


def run(args: argparse.Namespace) -> int:
    import genai

    from ..errors import InvalidParameterError

    call: dict = {}
    model = args.model
    if args.from_png:
        record = genai.read_image_parameters(args.from_png)
        call.update(record.get("call") or {})
        model = model or record.get("model")
    if args.prompt is not None:
        call["prompt"] = args.prompt
    call.update({key: getattr(args, key) for key in _CALL_FLAGS if getattr(args, key) is not None})
    if args.seed is not None:
        call["seed"] = args.seed
    if call.get("strength") is not None and not call.get("init_image"):
        raise InvalidParameterError(
            "this picture was made from an input picture that was not saved as a file; pass --init-image PATH"
            if args.from_png
            else "--strength needs --init-image PATH"
        )

    name = model or genai.default_model("text-to-image")
    task = "image-to-image" if call.get("init_image") else _image_task(name)
    options = {
        key: value
        for key, value in (
            ("attention_slicing", args.attention_slicing),
            ("vae_tiling", args.vae_tiling),
            ("cpu_offload", args.cpu_offload),
            ("tiny_vae", args.tiny_vae),
        )
        if value
    }
    generator = genai.load(name, task=task, device=args.device, dtype=args.dtype, **options)

    from tqdm.auto import tqdm

    bar = None

    def progress(step: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="step", desc="genai image", disable=args.quiet)
        bar.update(step - bar.n)

    try:
        result = generator(**call, progress=progress)
    finally:
        if bar is not None:
            bar.close()
    for path in result.save(args.output, metadata=not args.no_metadata):
        print(path)
    return 0
