"""CLI tries: the `genai` command with bad flags, bytes and paths, and what a shell does to it."""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from .files import damage_check, folder_of, garbage_models, output_paths
from .inputs import EITHER, REFUSE, misspell, number_expectation
from .outcome import CLI_ENV, Outcome, Try
from .targets import PATHS, REAL_MODELS, Target, first_prompt

# --- CLI tries ------------------------------------------------------------------------------

CLI_COMMAND = {"text": "text", "image": "image", "speech": "audio"}


def cli_base(target: Target) -> list[str]:
    command = CLI_COMMAND[target.modality]
    cheap = {
        "text": ["--max-new-tokens", "2"],
        "image": ["--steps", "1", "--width", "32", "--height", "32"],
        "speech": [],
    }[target.modality]
    return [command, "-m", target.location, "--seed", "1", *cheap]


def cli_flags(command: str) -> list[str]:
    from genai.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    flags = []
    for action in sub.choices[command]._actions:
        flags += [o for o in action.option_strings if o.startswith("--")]
    return flags


CLI_NUMBERS = {
    "text": {
        "--max-new-tokens": "max_new_tokens",
        "--temperature": "temperature",
        "--top-p": "top_p",
        "--top-k": "top_k",
        "--repetition-penalty": "repetition_penalty",
        "--seed": "seed",
    },
    "image": {
        "--steps": "num_inference_steps",
        "--guidance": "guidance_scale",
        "--width": "width",
        "--height": "height",
        "--num-images": "num_images",
        "--seed": "seed",
    },
    "speech": {
        "--speed": "speed",
        "--pause": "pause",
        "--fade-in": "fade_in",
        "--fade-out": "fade_out",
        "--sample-rate": "sample_rate",
        "--seed": "seed",
    },
}


def try_cli(rng: random.Random, target: Target, scratch: Path) -> Try:
    command, *rest = cli_base(target)
    prompt: str | bytes = first_prompt(target)
    out = scratch / f"cli-{rng.randrange(10**9)}"
    out.mkdir()
    suffix = {"text": ".txt", "image": ".png", "speech": ".wav"}[target.modality]
    output = ["-o", str(out / f"x{suffix}")]
    stdin, after, expect = None, None, REFUSE
    choice = rng.randrange(8)
    if choice == 0:
        flag, name = rng.choice(sorted(CLI_NUMBERS[target.modality].items()))
        value = rng.choice(
            ["nan", "inf", "-inf", "1e308", "-1", "abc", "99999999999999999999", "0x10"]
        )
        try:
            number = float(value)
            if name in target.numbers:  # a flag the model does not take is refused anyway
                expect = number_expectation(
                    target.numbers[name], int(number) if number.is_integer() else number
                )
        except ValueError:
            pass
        if expect == EITHER and name in ("width", "height"):
            value, expect = "10000000", REFUSE
        rest, label = [*rest, flag, value, *output], f"{flag} {value}"
    elif choice == 1:
        flags = cli_flags(command)
        typo = "--" + misspell(rng, rng.choice(flags)[2:].replace("-", "_"), set()).replace(
            "_", "-"
        )
        if any(f.startswith(typo) for f in flags):  # argparse takes unique prefixes: legitimate
            typo += "zz"
        rest, label = [*rest, typo, "1", *output], f"flag {typo}"
    elif choice == 2:
        stdin = rng.choice([b"ab\xff\xfecd", b"\xc3\x28", b"\xed\xa0\x80", b"hi\x00there"])
        prompt, rest, label = "-", [*rest, *output], f"stdin bytes {stdin!r}"
    elif choice == 3:
        prompt = rng.choice([b"ab\xffcd", b"x\xed\xa0\x80y"])
        rest, label = [*rest, *output], f"argv bytes {prompt!r}"
    elif choice == 4:
        label, name, options = garbage_models(rng, scratch, PATHS)
        bad_name = not isinstance(name, str) or "\x00" in name or "\ud800" in name
        if options or bad_name or not name.strip():  # load options have no CLI form here
            name, label = str(scratch / "no-such-model"), "a missing model"
        rest, label = ["-m", name, *output], f"-m {label}"
    elif choice == 5:
        label, path, expect, guarded = output_paths(rng, scratch, target.modality)
        before = guarded.read_bytes() if guarded is not None and guarded.is_file() else None
        folder = folder_of(path)
        after = damage_check(guarded, before, folder) if folder != Path("/dev") else None
        rest, label = [*rest, "-o", str(path)], f"-o {label}"
    elif choice == 6:
        port = rng.choice(["99999", "-1", "65536", "abc", "1e3"])
        command, prompt, rest, label = "demo", None, ["--port", port], f"demo --port {port}"
    else:
        command, prompt, rest, label = rng.choice(
            [
                ("models", None, ["--task", "banana"], "models --task banana"),
                ("bananas", None, [], "an unknown command"),
                ("text", None, [], "text with no prompt"),
                (
                    "batch",
                    str(scratch / "missing.jsonl"),
                    ["-o", str(out)],
                    "batch on a missing file",
                ),
            ]
        )
    argv = [command, *([prompt] if prompt is not None else []), *rest]
    shown = " ".join(a if isinstance(a, str) else repr(a) for a in argv)
    piped = f"printf {stdin!r} | " if stdin is not None else ""
    return Try(
        "cli",
        target.name,
        label,
        expect,
        f"{piped}genai {shown}",
        argv=argv,
        stdin=stdin,
        after=after,
    )


# --- the shell: standard input and output, flags --------------------------------------------


def shell_tries(rng: random.Random, target: Target, scratch: Path) -> list[tuple[str, dict, str]]:
    """(label, Try fields, expectation) of what a shell does to `genai`."""
    command = CLI_COMMAND[target.modality]
    base = " ".join(f"'{a}'" for a in cli_base(target)[1:])
    out = scratch / f"cli-{rng.randrange(10**9)}"
    out.mkdir()
    suffix = {"text": ".txt", "image": ".png", "speech": ".wav"}[target.modality]
    tries = [
        ("stdin from /dev/zero", {"argv": [command, "-", *cli_base(target)[1:]], "stdin_path": "/dev/zero"}, REFUSE),
        ("closed stdin", {"shell": f"{command} - {base} -o '{out}/x{suffix}' <&-"}, REFUSE),
        ("models > /dev/full", {"argv": ["models"], "stdout_path": "/dev/full"}, REFUSE),
        ("models >&- (closed stdout)", {"shell": "models >&-"}, REFUSE),
        ("--dtype int3", {"argv": [*cli_base(target), "--dtype", "int3", "x"]}, REFUSE),
        ("pull ''", {"argv": ["pull", ""]}, REFUSE),
        ("-m ''", {"argv": [command, "x", "-m", ""]}, REFUSE),
    ]  # fmt: skip
    if target.modality == "text":
        tries.append(("text >&- (closed stdout)", {"shell": f"text hi {base} >&-"}, REFUSE))
        junk = out / "schema.json"
        junk.write_text("{not json")
        tries.append(("--json-schema junk", {"argv": [*cli_base(target), "hi", "--json-schema", str(junk)]}, REFUSE))  # fmt: skip
    if target.modality == "speech":
        for flag, value in (("--speed", "1e-6"), ("--speed", "1e400"), ("--sample-rate", "44101")):
            tries.append(
                (f"{flag} {value}",
                 {"argv": [*cli_base(target), "hello", flag, value, "-o", str(out / "x.wav")]}, REFUSE)
            )  # fmt: skip
    if REAL_MODELS.get("faces-64"):
        tries.append(
            ("--interpolate 3 7 --frames 0",
             {"argv": ["image", "-m", "faces-64", "--interpolate", "3", "7", "--frames", "0", "-o", str(out / "w.gif")]},
             REFUSE)
        )  # fmt: skip
    return tries


def broken_pipe(argv: list[str]) -> Callable[[float], Outcome]:
    """`genai ... | head -c1`: the reader goes away after one byte; exit 0, no traceback."""

    def run(timeout: float) -> Outcome:
        process = subprocess.Popen(
            [sys.executable, "-m", "genai", *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=CLI_ENV,
            cwd=tempfile.gettempdir(),
        )
        process.stdout.read(1)
        process.stdout.close()
        try:
            _, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            return Outcome("hang", f"still running after {timeout:.0f} s")
        text = stderr.decode("utf-8", "replace")
        if "Traceback" in text:
            return Outcome("traceback", text.strip().splitlines()[-1][:200])
        if process.returncode != 0:
            return Outcome("wrong exception", f"exit {process.returncode}: {text[-200:]}")
        return Outcome("ok")

    return run


def try_shell(rng: random.Random, target: Target, scratch: Path) -> Try:
    if rng.random() < 0.25:
        argv = ["models"]
        if target.modality == "text" and rng.random() < 0.5:
            argv = [*cli_base(target), "hello", "--stream"]
            argv[argv.index("--max-new-tokens") + 1] = "40"
        return Try(
            "cli", target.name, f"{' '.join(argv[:2])} ... | head -c1", EITHER,
            f"genai {' '.join(argv)} | head -c1", custom=broken_pipe(argv),
        )  # fmt: skip
    label, fields, expect = rng.choice(shell_tries(rng, target, scratch))
    shown = fields.get("shell") or " ".join(map(str, fields.get("argv", [])))
    if fields.get("stdin_path"):
        shown += f" < {fields['stdin_path']}"
    if fields.get("stdout_path"):
        shown += f" > {fields['stdout_path']}"
    return Try("cli", target.name, label, expect, f"genai {shown}", **fields)
