"""`genai text PROMPT`: generate text, printed as a whole or streamed."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys

from ..specs.text import TEXT_SPEC
from .common import add_model_options, read_prompt
from .stdio import require_stdout


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
    parser.add_argument(
        "--json-schema",
        default=None,
        metavar="FILE",
        help="answer with JSON valid against the JSON Schema in FILE (where the engine can)",
    )
    parser.add_argument(
        "--tools",
        default=None,
        metavar="FILE",
        help="functions the model may call: a JSON file holding OpenAI's tools list; the calls "
        "it makes are printed as JSON",
    )
    parser.set_defaults(run=run)


def _json_file(path: str, flag: str, kind: type) -> object:
    """The JSON value in ``path`` (a small file), of type ``kind``; typed errors otherwise."""
    import json
    from pathlib import Path

    from ..errors import InvalidParameterError
    from ..specs.text import MAX_SCHEMA_CHARS

    try:
        with Path(path).expanduser().open("rb") as handle:
            data = handle.read(MAX_SCHEMA_CHARS + 1)
    except OSError as error:
        raise InvalidParameterError(
            f"{flag} {path!r}: cannot read it ({error.strerror or error})"
        ) from None
    if len(data) > MAX_SCHEMA_CHARS:
        raise InvalidParameterError(f"{flag} {path!r} is larger than {MAX_SCHEMA_CHARS} bytes")
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidParameterError(f"{flag} {path!r} is not valid JSON ({error})") from None
    if not isinstance(value, kind):
        raise InvalidParameterError(
            f"{flag} {path!r} must hold a JSON {'object' if kind is dict else 'list'}, "
            f"not {type(value).__name__}"
        )
    return value


def run(args: argparse.Namespace) -> int:
    import genai
    from genai.results.text import text_output_path

    require_stdout()  # the text goes to stdout: refused now if it would be lost
    output = text_output_path(args.output, overwrite=args.overwrite) if args.output else None
    prompt = read_prompt(args.prompt)
    parameters = TEXT_SPEC.from_arguments(args)
    if args.json_schema is not None:
        parameters["json_schema"] = _json_file(args.json_schema, "--json-schema", dict)
    if args.tools is not None:
        parameters["tools"] = _json_file(args.tools, "--tools", list)
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
        with contextlib.closing(stream):  # a reader gone (| head) stops the decoding too
            for piece in stream:
                print(piece, end="", flush=True)
        print()
        result = stream.result
    else:
        result = generator(prompt, **parameters)
        print(result.text)
    if getattr(result, "tool_calls", None):
        print(json.dumps(result.tool_calls, ensure_ascii=False))
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
