"""`genai image PROMPT -o out.png`: pictures from a prompt, an input picture, or a saved PNG's parameters.

The generation flags come from the image parameter spec (genai.specs.image), so they are the
generator's keyword arguments under their command-line names. The output path is checked
before the model loads: nothing is generated that could not be saved.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..files import is_folder
from ..specs.image import CLI_SPEC
from .common import add_model_options, read_prompt

DEFAULT_FRAMES = 8


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "image",
        help="make pictures from a text prompt",
        description="Make pictures with a diffusion model or the face GAN. Each PNG keeps its "
        "parameters, so `genai image --from out.png` makes it again.",
    )
    parser.add_argument(
        "prompt", nargs="?", default=None, help="what to draw (leave out for unconditional models)"
    )
    parser.add_argument(
        "-o",
        "--output",
        default=".",
        help="a .png file, or a folder for numbered files 00001-<seed>.png (default: the current "
        "folder); with --interpolate a strip .png or an animated .gif",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing files")
    add_model_options(parser, default_help="default: sd-turbo, or faces-64 offline")
    CLI_SPEC.add_arguments(parser, skip=("seed",))
    parser.add_argument("-n", dest="num_images", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument(
        "--interpolate",
        nargs=2,
        type=int,
        default=None,
        metavar=("SEED_A", "SEED_B"),
        help="a GAN's latent walk from one seed's picture to another's (e.g. faces-64)",
    )
    parser.add_argument(
        "--frames",
        type=int,
        default=None,
        help=f"frames of --interpolate (default {DEFAULT_FRAMES})",
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
    parser.add_argument(
        "--max-size",
        type=int,
        default=None,
        help="the largest width/height allowed (default: the model's budget for this device)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(run=run)


def _call_from(args: argparse.Namespace) -> tuple[dict, str | None]:
    """The generator's keyword arguments (a saved PNG's, then the flags) and the model named."""
    import genai

    from ..errors import InvalidParameterError

    call: dict = {}
    model = args.model
    if args.from_png:
        record = genai.read_image_parameters(args.from_png)
        call.update(record.get("call") or {})
        model = model or record.get("model")
    if args.prompt is not None:
        call["prompt"] = read_prompt(args.prompt)
    call.update(CLI_SPEC.from_arguments(args))
    if args.seed is not None:
        call["seed"] = args.seed
    if args.interpolate is not None:
        call["interpolate"] = args.interpolate
    if args.frames is not None:
        call["frames"] = args.frames
    if call.get("strength") is not None and not call.get("init_image"):
        raise InvalidParameterError(
            "this picture was made from an input picture that was not saved as a file; pass --init-image PATH"
            if args.from_png
            else "--strength needs --init-image PATH"
        )
    return call, model


def _check_outputs(args: argparse.Namespace, call: dict) -> None:
    """Refuse an output that cannot be written, before anything loads."""
    from ..files import check_output_folder, check_output_path
    from ..results.image import image_output_paths

    output = Path(args.output).expanduser()
    if is_folder(output) or not output.suffix:
        check_output_folder(output)  # a writable folder (numbered names are new)
        return
    if "interpolate" in call and output.suffix.lower() == ".gif":
        targets = [output] + ([] if args.no_metadata else [output.with_suffix(".json")])
    elif "interpolate" in call:
        targets = [output]
    else:
        count = int(call.get("num_images") or 1)
        targets = image_output_paths(output, count, [0] * count)
    for target in targets:
        check_output_path(target, overwrite=args.overwrite)


def _load(name: str, args: argparse.Namespace, call: dict):
    import genai

    from ..errors import WrongTaskError
    from ..resolve import resolve

    resolved = resolve(name).check()
    if resolved.family.modality != "image":
        raise WrongTaskError(
            f"model {name!r} does {resolved.task}, not images; pick one from `genai models --task image`"
        )
    options = {
        key: value
        for key, value in (
            ("attention_slicing", args.attention_slicing),
            ("vae_tiling", args.vae_tiling),
            ("cpu_offload", args.cpu_offload),
            ("tiny_vae", args.tiny_vae),
            ("max_size", args.max_size),
        )
        if value is not None and value is not False
    }
    task = "image-to-image" if call.get("init_image") else None
    return genai.load(name, task=task, device=args.device, dtype=args.dtype, **options)


def _interpolate(generator, call: dict):
    from ..errors import InvalidParameterError

    seed_a, seed_b = call.pop("interpolate")
    frames = call.pop("frames", None)
    frames = DEFAULT_FRAMES if frames is None else frames  # --frames 0 is refused, not 8
    if not hasattr(generator, "interpolate"):
        raise InvalidParameterError(
            f"--interpolate walks a GAN's latent space; model {generator.name!r} has none: "
            "use --model faces-64"
        )
    extra = sorted(k for k in call if k not in ("width", "height", "resample", "prompt"))
    if extra or call.get("prompt") is not None:
        raise InvalidParameterError(
            f"--interpolate takes only --frames, --width, --height and --resample, not "
            f"{', '.join(extra) or 'a prompt'}"
        )
    keep = {k: call[k] for k in ("width", "height", "resample") if k in call}
    return generator.interpolate(seed_a, seed_b, frames=frames, **keep)


def _generate(generator, call: dict, quiet: bool):
    from ..errors import InvalidParameterError
    from ..progress import progress_bar

    if "frames" in call:
        raise InvalidParameterError("--frames goes with --interpolate SEED_A SEED_B")
    bar = None

    def progress(step: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = progress_bar(total=total, unit="step", desc="genai image", disable=quiet)
        bar.update(step - bar.n)

    try:
        return generator(**call, progress=progress)
    finally:
        if bar is not None:
            bar.close()


def run(args: argparse.Namespace) -> int:
    import genai

    call, model = _call_from(args)
    _check_outputs(args, call)
    generator = _load(model or genai.default_model("text-to-image"), args, call)
    if "interpolate" in call:
        result = _interpolate(generator, call)
    else:
        result = _generate(generator, call, args.quiet)
    for path in result.save(args.output, overwrite=args.overwrite, metadata=not args.no_metadata):
        print(path)
    return 0
