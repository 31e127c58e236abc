"""`genai audio "text or prompt" -o out.wav`: speech, music or sound effects, by the model chosen."""

from __future__ import annotations

import argparse
import sys

from .common import add_model_options

# Command-line flags that map one to one onto the generators' keyword arguments.
_CALL_FLAGS = (
    "voice",
    "speed",
    "pause",
    "duration",
    "num_inference_steps",
    "guidance_scale",
    "negative_prompt",
    "sample_rate",
    "normalize",
    "fade_in",
    "fade_out",
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "audio",
        help="make speech, music or sound effects from text",
        description="Speak text (default model: mms-tts-eng, or the offline Piper voice), or make "
        "music (-m musicgen-small) or sound effects (-m audioldm-s) from a description. Writes a "
        "WAV or FLAC file and its parameters as JSON beside it.",
    )
    parser.add_argument(
        "prompt", help="the text to speak or the sound to make; '-' reads it from stdin"
    )
    parser.add_argument(
        "-o",
        "--output",
        default=".",
        help="a .wav or .flac file, or a folder for numbered files 00001-<seed>.wav (default: the current folder)",
    )
    add_model_options(
        parser, default_help="default: mms-tts-eng; musicgen-small for music, audioldm-s for sounds"
    )
    speech = parser.add_argument_group("speech")
    speech.add_argument(
        "--voice",
        "--speaker",
        dest="voice",
        default=None,
        help="voice preset (Bark), speaker name or number, or an x-vector .npy file (SpeechT5)",
    )
    speech.add_argument(
        "--speed", type=float, default=None, help="speaking speed, 1.0 = normal (VITS, Piper)"
    )
    speech.add_argument(
        "--pause", type=float, default=None, help="seconds of silence between sentences"
    )
    sound = parser.add_argument_group("music and sound")
    sound.add_argument("--duration", type=float, default=None, help="length in seconds")
    sound.add_argument(
        "--steps",
        dest="num_inference_steps",
        type=int,
        default=None,
        help="denoising steps (AudioLDM)",
    )
    sound.add_argument(
        "--guidance", dest="guidance_scale", type=float, default=None, help="guidance (CFG) scale"
    )
    sound.add_argument(
        "--negative-prompt", default=None, help="what the sound should not have (AudioLDM)"
    )
    post = parser.add_argument_group("output")
    post.add_argument("--sample-rate", type=int, default=None, help="resample to this rate in Hz")
    post.add_argument(
        "--normalize",
        type=float,
        default=None,
        metavar="LUFS",
        help="normalise loudness to this level, e.g. -16 (speech) or -23 (broadcast)",
    )
    post.add_argument(
        "--fade-in", type=float, default=None, metavar="SECONDS", help="fade in over this time"
    )
    post.add_argument(
        "--fade-out", type=float, default=None, metavar="SECONDS", help="fade out over this time"
    )
    post.add_argument("--trim", action="store_true", help="cut silence at the start and the end")
    post.add_argument("--no-metadata", action="store_true", help="write no JSON record and no tags")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(run=run)


def _audio_task(name: str) -> str:
    """The model's own task, read from its files before anything heavy loads; it must make audio."""
    from ..catalog import MODALITY_OF_TASK, find_entry
    from ..detect import detect_family
    from ..errors import WrongTaskError
    from ..hub import resolve_source

    _, task = detect_family(resolve_source(name, find_entry(name)))
    if MODALITY_OF_TASK[task] != "audio":
        raise WrongTaskError(
            f"model {name!r} does {task}, not audio; pick one from `genai models --task audio`"
        )
    return task


def run(args: argparse.Namespace) -> int:
    import genai

    prompt = sys.stdin.read() if args.prompt == "-" else args.prompt
    call = {key: getattr(args, key) for key in _CALL_FLAGS if getattr(args, key) is not None}
    if isinstance(call.get("voice"), str) and call["voice"].isdigit():
        call["voice"] = int(call["voice"])  # a speaker number
    if args.trim:
        call["trim"] = True
    if args.seed is not None:
        call["seed"] = args.seed

    # Refuse what is wrong before a model loads (the generator checks everything again).
    from ..audio_dsp import check_post_options
    from ..params import check_prompt

    check_prompt(prompt, "text")
    check_post_options(call)

    name = args.model or genai.default_model("text-to-speech")
    task = _audio_task(name) if args.model else "text-to-speech"
    generator = genai.load(name, task=task, device=args.device, dtype=args.dtype)

    from tqdm.auto import tqdm

    bar = None

    def progress(step: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, desc="genai audio", disable=args.quiet)
        bar.update(step - bar.n)

    try:
        result = generator(prompt, progress=progress, **call)
    finally:
        if bar is not None:
            bar.close()
    print(result.save(args.output, metadata=not args.no_metadata))
    return 0
