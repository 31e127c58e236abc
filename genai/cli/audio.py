"""`genai audio "text or prompt" -o out.wav`: speech, music or sound effects, by the model chosen.

The flags come from the audio parameter spec (genai.specs.audio, plus the piano model's
``--key``/``--note-density``/``--renderer``); each model takes the ones its family knows and
refuses the others with a one-line error, before any work.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..files import is_folder
from .common import add_model_options, read_prompt


def _spec():
    from ..backends.performance_rnn import PerformanceRNNGenerator
    from ..specs.audio import AUDIO

    return AUDIO.plus(*(p for p in PerformanceRNNGenerator.call_spec if p.name not in AUDIO))


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "audio",
        help="make speech, music or sound effects from text",
        description="Speak text (default model: mms-tts-eng, or the offline Piper voice), or make "
        "music (-m musicgen-small, or the offline piano model -m piano-rnn) or sound effects "
        "(-m audioldm-s) from a description. Writes a WAV or FLAC file and its parameters as "
        "JSON beside it (and the .mid file of a piano piece).",
    )
    parser.add_argument(
        "prompt", help="the text to speak or the sound to make; '-' reads it from stdin"
    )
    parser.add_argument(
        "-o",
        "--output",
        default=".",
        help="a .wav or .flac file, or a folder for numbered files 00001-<seed>.wav "
        "(default: the current folder)",
    )
    add_model_options(
        parser, default_help="default: mms-tts-eng; musicgen-small for music, audioldm-s for sounds"
    )
    _spec().add_arguments(parser.add_argument_group("generation"), skip=("seed",))
    parser.add_argument("--overwrite", action="store_true", help="replace existing files")
    parser.add_argument(
        "--no-metadata", action="store_true", help="write no JSON record and no tags"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(run=run)


def _output_path(args: argparse.Namespace) -> Path:
    """Refuse, before any work, an output that is not WAV/FLAC or would replace a file."""
    from ..errors import InvalidParameterError
    from ..files import check_output_path
    from ..results.audio import FORMATS

    path = Path(args.output).expanduser()
    if is_folder(path) or not path.suffix:
        return path  # a folder: numbered files never replace anything
    if path.suffix.lower() not in FORMATS:
        raise InvalidParameterError(
            f"--output {str(path)!r}: audio is saved as WAV or FLAC; give a .wav or .flac file "
            "name or a folder"
        )
    check_output_path(path, overwrite=args.overwrite)
    if not args.no_metadata:
        check_output_path(path.with_suffix(".json"), overwrite=args.overwrite)
    return path


def _audio_task(name: str) -> str:
    """The model's own task, read from its files before anything heavy loads; it must make audio."""
    from ..catalog import MODALITY_OF_TASK
    from ..errors import WrongTaskError
    from ..resolve import resolve

    resolved = resolve(name).check()
    if MODALITY_OF_TASK[resolved.task] != "audio":
        raise WrongTaskError(
            f"model {name!r} does {resolved.task}, not audio; pick one from "
            "`genai models --task audio`"
        )
    return resolved.task


def run(args: argparse.Namespace) -> int:
    import genai

    from ..params import check_prompt

    prompt = read_prompt(args.prompt)
    spec = _spec()
    call = spec.from_arguments(args)
    if isinstance(call.get("voice"), str) and call["voice"].isdigit():
        call["voice"] = int(call["voice"])  # a speaker number
    if args.seed is not None:
        call["seed"] = args.seed

    # Refuse what is wrong before a model loads (the generator checks everything again).
    check_prompt(prompt, "text")
    spec.check(call, owner="genai audio")
    output = _output_path(args)

    name = args.model or genai.default_model("text-to-speech")
    task = _audio_task(name) if args.model else "text-to-speech"
    generator = genai.load(name, task=task, device=args.device, dtype=args.dtype)

    from ..progress import progress_bar

    bar = None

    def progress(step: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = progress_bar(total=total, desc="genai audio", disable=args.quiet)
        bar.update(step - bar.n)

    try:
        result = generator(prompt, progress=progress, **call)
    finally:
        if bar is not None:
            bar.close()
    print(result.save(output, metadata=not args.no_metadata, overwrite=args.overwrite))
    return 0
