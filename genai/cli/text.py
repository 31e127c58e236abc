"""`genai text PROMPT`: generate text, printed as a whole or streamed."""

from __future__ import annotations

import argparse
import sys

from ..specs.text import TEXT_SPEC
from .common import add_model_options, read_prompt


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("text", help="generate text from a prompt")
    parser.add_argument("prompt", help="the prompt (use - to read it from stdin)")
    add_model_options(parser, default_help="default: smollm2-135m")
    TEXT_SPEC.add_arguments(parser, skip=("seed",))  # --seed comes with the model options
    parser.add_argument(
        "--engine",
        default=None,
        choices=("auto", "llama.cpp", "transformers"),
        help="auto (default): llama.cpp for GGUF files, transformers otherwise",
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="llama.cpp threads (default: physical cores)"
    )
    parser.add_argument("--stream", action="store_true", help="print the text as it is generated")
    parser.add_argument(
        "-o", "--output", default=None, help="also save the text (and a .json of parameters)"
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace the -o file and its .json if they exist"
    )
    parser.add_argument(
        "--stats", action="store_true", help="print tokens, speed and finish reason to stderr"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import genai
    from genai.results.text import text_output_path

    output = text_output_path(args.output, overwrite=args.overwrite) if args.output else None
    prompt = read_prompt(args.prompt)
    parameters = TEXT_SPEC.from_arguments(args)
    options = {"engine": args.engine, "threads": args.threads}
    generator = genai.load(
        args.model or genai.default_model("text"),
        task="text",
        device=args.device,
        dtype=args.dtype,
        **{k: v for k, v in options.items() if v is not None},
    )
    if args.stream:
        stream = generator.stream(prompt, **parameters)
        for piece in stream:
            print(piece, end="", flush=True)
        print()
        result = stream.result
    else:
        result = generator(prompt, **parameters)
        print(result.text)
    if output is not None:
        print(f"saved {result.save(output, overwrite=args.overwrite)}", file=sys.stderr)
    if args.stats:
        ttft = (
            f"{result.time_to_first_token:.2f}s" if result.time_to_first_token is not None else "?"
        )
        print(
            f"[{generator.name} on {generator.engine}] {result.completion_tokens} tokens, "
            f"{result.tokens_per_second or 0:.1f} tok/s, first token {ttft}, "
            f"finish: {result.finish_reason}, seed {result.seed}",
            file=sys.stderr,
        )
    return 0
