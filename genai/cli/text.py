"""`genai text PROMPT`: generate text, printed as a whole or streamed."""

from __future__ import annotations

import argparse
import sys

from .common import add_model_options, load_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("text", help="generate text from a prompt")
    parser.add_argument("prompt", help="the prompt (use - to read it from stdin)")
    add_model_options(parser, default_help="default: smollm2-135m")
    parser.add_argument(
        "--system", dest="system_prompt", default=None, help="system prompt for chat models"
    )
    parser.add_argument("--max-new-tokens", type=int, default=None)
    parser.add_argument("--temperature", type=float, default=None, help="0 for greedy decoding")
    parser.add_argument("--top-p", type=float, default=None)
    parser.add_argument("--top-k", type=int, default=None)
    parser.add_argument("--repetition-penalty", type=float, default=None)
    parser.add_argument("--stop", action="append", default=None, help="stop string (repeatable)")
    parser.add_argument("--stream", action="store_true", help="print the text as it is generated")
    parser.add_argument(
        "-o", "--output", default=None, help="also save the text (and a .json of parameters)"
    )
    parser.add_argument(
        "--stats", action="store_true", help="print tokens, speed and finish reason to stderr"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    prompt = sys.stdin.read() if args.prompt == "-" else args.prompt
    parameters = {
        "max_new_tokens": args.max_new_tokens,
        "temperature": args.temperature,
        "top_p": args.top_p,
        "top_k": args.top_k,
        "repetition_penalty": args.repetition_penalty,
        "stop": args.stop,
        "seed": args.seed,
        "system_prompt": args.system_prompt,
    }
    parameters = {k: v for k, v in parameters.items() if v is not None}
    generator = load_from_args(args, "text")
    if args.stream:
        stream = generator.stream(prompt, **parameters)
        for piece in stream:
            print(piece, end="", flush=True)
        print()
        result = stream.result
    else:
        result = generator(prompt, **parameters)
        print(result.text)
    if args.output:
        print(f"saved {result.save(args.output)}", file=sys.stderr)
    if args.stats:
        ttft = (
            f"{result.time_to_first_token:.2f}s" if result.time_to_first_token is not None else "?"
        )
        print(
            f"[{generator.name} on {generator.placement.describe()}] {result.completion_tokens} tokens, "
            f"{result.tokens_per_second or 0:.1f} tok/s, first token {ttft}, finish: {result.finish_reason}, "
            f"seed {result.seed}",
            file=sys.stderr,
        )
    return 0
