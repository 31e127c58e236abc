"""A randomized, bounded sweep of bad inputs against genai's Python API and CLI (issue 13).

    python scripts/fuzz_inputs.py --iterations 200 --seconds 120 --seed 1

Each try sends one hostile or careless input to a tiny local model (text, image, speech;
plus the real SmolLM2 GGUF and Piper voice when their wheels are installed and --real is
given) through the API or the `genai` command, and is classified:

  typed            refused with a GenaiError (API), exit 2 and one `genai: error:` line
                   (CLI), a 4xx with an OpenAI error body (HTTP)
  ok               a legitimate (or borderline) input that worked
  wrong exception  another exception (API), another exit code or error form (CLI)
  traceback        the CLI printed a Python traceback
  silently wrong   nonsense accepted (temperature=inf giving output, a file clobbered, a
                   half-written file left behind, two saves both "winning" one name, a batch
                   whose second run differs, output lost to a closed stdout)
  hang             the try ran past --timeout seconds
  5xx              the HTTP server answered with a server error

Surfaces: ``api`` (one call), ``api threads`` (eight threads saving one result to one
name, or into one folder), ``cli`` (the `genai` command, standard I/O included: endless,
closed and unreadable input, a closed or full stdout, a reader that goes away), ``http``
(``genai serve`` on tiny models, driven as a client) and ``batch`` (bad job files, two
runs of one file that must make the same files, SIGTERM in the middle).

Every try is either one that must be refused (a ``refuse`` expectation: success is
``silent``) or a borderline one that may work (``either``: success is ``ok``), so the
table counts only inputs a user should never get through. The script prints the counts
and each failure with a one-line repro, and exits 1 on anything but ok and typed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import genai  # noqa: E402

COLUMNS = ("tried", "typed", "ok", "wrong exception", "traceback", "silently wrong", "hang", "5xx")
SURFACES = ("api", "api threads", "cli", "http", "batch")
REFUSE, EITHER = "refuse", "either"
MEGABYTE_TEXT = "word " * 220_000  # about 1.1 MB


# --- what is legitimate: a small table of the numeric parameters ----------------------------


@dataclass(frozen=True)
class Number:
    """A numeric parameter and a generous envelope: a value outside it must be refused."""

    kind: type
    low: float
    high: float
    low_open: bool = False


TEXT_NUMBERS = {
    "max_new_tokens": Number(int, 1, 10**6),
    "temperature": Number(float, 0, 1e6),
    "top_p": Number(float, 0, 1, low_open=True),
    "top_k": Number(int, 0, 10**7),
    "repetition_penalty": Number(float, 0, 1e6, low_open=True),
    "seed": Number(int, 0, 2**64),
}
IMAGE_NUMBERS = {
    "num_inference_steps": Number(int, 1, 10**4),
    "guidance_scale": Number(float, 0, 1e4),
    "width": Number(int, 8, 10**5),
    "height": Number(int, 8, 10**5),
    "num_images": Number(int, 1, 10**3),
    "strength": Number(float, 0, 1),
    "seed": Number(int, 0, 2**64),
}
SPEECH_NUMBERS = {
    "speed": Number(float, 0.25, 4.0),  # OpenAI's range: below it a request could take the memory
    "pause": Number(float, 0, 1e4),
    "fade_in": Number(float, 0, 1e4),
    "fade_out": Number(float, 0, 1e4),
    "sample_rate": Number(int, 1000, 10**6),
    "normalize": Number(float, -1e4, 1e4),
    "seed": Number(int, 0, 2**64),
}


PIANO_NUMBERS = {
    "temperature": Number(float, 0.01, 10.0),
    "duration": Number(float, 0.1, 30.0),
    "note_density": Number(int, 0, 11),
    "fade_in": Number(float, 0, 1e4),
    "fade_out": Number(float, 0, 1e4),
    "sample_rate": Number(int, 1000, 10**6),
    "normalize": Number(float, -1e4, 1e4),
    "seed": Number(int, 0, 2**64),
}


def number_expectation(spec: Number, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return REFUSE
    if isinstance(value, float) and not math.isfinite(value):
        return REFUSE
    if spec.kind is int and isinstance(value, float) and not value.is_integer():
        return REFUSE
    if value < spec.low or value > spec.high or (spec.low_open and value == spec.low):
        return REFUSE
    return EITHER


def random_number(rng: random.Random) -> Any:
    return rng.choice(
        [
            math.nan,
            math.inf,
            -math.inf,
            1e308,
            -1e308,
            10 ** rng.randint(12, 40),
            10**400,  # too large for a float: OverflowError unless checked
            -(10**400),
            -(10 ** rng.randint(1, 30)),
            -1,
            -0.5,
            0,
            2.5,
            True,
            False,
            "3",
            "nan",
            "",
            1j,
            [1],
            {"a": 1},
            b"1",
        ]
    )


# --- random strings --------------------------------------------------------------------------

VALID_ODDITIES = (
    "\u200f",  # right-to-left mark
    "\u202e",  # right-to-left override
    "\u200b",  # zero-width space
    "\ufeff",  # byte-order mark
    "e\u0301",  # combining accent
    "\U0001f600",  # emoji
    "\u0627\u0644\u0633\u0644\u0627\u0645",  # Arabic
    "\t",
    "\r\n",
)


def random_words(rng: random.Random, count: int = 3) -> str:
    return " ".join(rng.choice(["hello", "cat", "red", "the", "fox", "snow"]) for _ in range(count))


def random_text(rng: random.Random, modality: str) -> tuple[str, Any, str]:
    """(label, value, expectation) for a prompt-like string."""
    base = random_words(rng)
    at = rng.randint(0, len(base))
    choice = rng.randrange(9)
    if choice == 0:
        surrogate = chr(rng.randint(0xD800, 0xDFFF))
        return "lone surrogate", base[:at] + surrogate + base[at:], REFUSE
    if choice == 1:
        return "NUL", base[:at] + "\x00" + base[at:], REFUSE
    if choice == 2:
        # image prompts may be cut to the encoder's length, but must say so (see classify)
        return "1 MB text", MEGABYTE_TEXT, EITHER if modality == "image" else REFUSE
    if choice == 3:
        odd = "".join(rng.choice(VALID_ODDITIES) for _ in range(rng.randint(1, 4)))
        return "RTL marks / zero-width / emoji", base[:at] + odd + base[at:], EITHER
    if choice == 4:
        return "empty", "", EITHER
    if choice == 5:
        return "whitespace only", rng.choice([" ", "\n\n", "\t \u200b"]), EITHER
    if choice == 6:
        return (
            "control characters",
            base + "".join(chr(rng.randint(1, 31)) for _ in range(3)),
            EITHER,
        )
    if choice == 7:
        value = rng.choice([5, 2.5, b"bytes", {"a": 1}, object()])
        return f"a {type(value).__name__} for text", value, REFUSE
    return "surrogate pair written as two halves", base + "\ud83d\ude00", REFUSE


def misspell(rng: random.Random, name: str, valid: set[str]) -> str:
    for _ in range(50):
        chars = list(name)
        i = rng.randrange(len(chars))
        edit = rng.randrange(6)
        if edit == 0 and len(chars) > 1:
            del chars[i]
        elif edit == 1 and i + 1 < len(chars):
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
        elif edit == 2:
            chars.insert(i, chars[i])
        elif edit == 3:
            chars[i] = rng.choice("abcdefghijklmnopqrstuvwxyz")
        elif edit == 4:
            chars = list(name.upper())
        else:
            chars = list(name.replace("_", "-") if "_" in name else name + "s")
        typo = "".join(chars)
        if typo not in valid and typo.isidentifier():
            return typo
    return name + "_typo"


# --- tries and their outcome ----------------------------------------------------------------


@dataclass
class Try:
    surface: str  # "api" or "cli"
    target: str
    label: str
    expect: str
    repro: str
    run: Callable[[], Any] | None = None  # api
    custom: Callable[[float], Outcome] | None = None  # classifies itself (threads, http, batch)
    argv: list[Any] = field(default_factory=list)  # cli (str or bytes)
    stdin: bytes | None = None
    shell: str | None = None  # cli: arguments run by bash after `python -m genai` (redirections)
    stdin_path: str | None = None  # cli: a file to read stdin from (/dev/zero)
    stdout_path: str | None = None  # cli: a file to write stdout to (/dev/full)
    check: Callable[[Any], str | None] | None = None  # after success: a reason it was silent
    after: Callable[[], str | None] | None = None  # after any outcome: damage left behind


@dataclass
class Outcome:
    column: str
    detail: str = ""


def short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 20] + f"...<{len(text)} chars>"


def run_api(attempt: Try, timeout: float) -> Outcome:
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["value"] = attempt.run()
        except BaseException as error:  # classified below
            box["error"] = error

    worker = threading.Thread(target=work, daemon=True)
    started = time.monotonic()
    worker.start()
    worker.join(timeout)
    if worker.is_alive() or time.monotonic() - started > timeout:
        return Outcome("hang", f"still running after {timeout:.0f} s")
    damage = attempt.after() if attempt.after else None
    error = box.get("error")
    if error is not None:
        if isinstance(error, genai.GenaiError):
            if damage:
                return Outcome("silently wrong", f"{type(error).__name__} but {damage}")
            return Outcome("typed", f"{type(error).__name__}: {str(error)[:160]}")
        return Outcome("wrong exception", f"{type(error).__name__}: {str(error)[:200]}")
    if damage:
        return Outcome("silently wrong", damage)
    if attempt.expect == REFUSE:
        return Outcome("silently wrong", f"accepted, returned {short(box.get('value'), 100)}")
    reason = attempt.check(box.get("value")) if attempt.check else None
    return Outcome("silently wrong", reason) if reason else Outcome("ok")


CLI_ENV = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "PYTHONWARNINGS": "ignore"}


def run_cli(attempt: Try, timeout: float) -> Outcome:
    argv = [sys.executable, "-m", "genai", *attempt.argv]
    if attempt.shell is not None:
        argv = ["bash", "-c", f"'{sys.executable}' -m genai {attempt.shell}"]
    streams: dict[str, Any] = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    with contextlib.ExitStack() as files:
        if attempt.stdin_path is not None:
            streams["stdin"] = files.enter_context(open(attempt.stdin_path, "rb"))
        else:
            streams["input"] = attempt.stdin if attempt.stdin is not None else b""
        if attempt.stdout_path is not None:
            streams["stdout"] = files.enter_context(open(attempt.stdout_path, "wb"))
        try:
            done = subprocess.run(
                argv, timeout=timeout, env=CLI_ENV, cwd=tempfile.gettempdir(), **streams
            )
        except subprocess.TimeoutExpired:
            return Outcome("hang", f"still running after {timeout:.0f} s")
    done.stdout = done.stdout or b""
    stderr = done.stderr.decode("utf-8", "replace")
    damage = attempt.after() if attempt.after else None
    if "Traceback (most recent call last)" in stderr:
        last = [line for line in stderr.strip().splitlines() if line.strip()][-1:]
        return Outcome("traceback", f"exit {done.returncode}: {' '.join(last)[:200]}")
    errors = [line for line in stderr.splitlines() if line.startswith("genai: error:")]
    if done.returncode == 0:
        if damage:
            return Outcome("silently wrong", damage)
        if attempt.expect == REFUSE:
            return Outcome(
                "silently wrong", "exit 0: " + done.stdout.decode("utf-8", "replace")[:100]
            )
        return Outcome("ok")
    if done.returncode == 2 and len(errors) == 1:
        return (
            Outcome("silently wrong", f"exit 2 but {damage}")
            if damage
            else Outcome("typed", errors[0][:200])
        )
    tail = " | ".join(stderr.strip().splitlines()[-2:])[:200]
    return Outcome(
        "wrong exception", f"exit {done.returncode}, {len(errors)} error line(s): {tail}"
    )


# --- the models -----------------------------------------------------------------------------


@dataclass
class Target:
    name: str  # "text", "image", "speech", "text:smollm2-135m-gguf", ...
    modality: str
    location: str  # what genai.load takes
    base: dict[str, Any]  # cheap settings every try starts from
    numbers: dict[str, Number]
    generator: Any = None
    result: Any = None  # one good result, for the output-path tries
    stuck: bool = False
    timeout: float = 60.0


def build_models(folder: Path) -> dict[str, str]:
    from genai.testing.audio import make_tiny_vits
    from genai.testing.image import make_tiny_sd
    from genai.testing.text import tiny_llama

    makers = {"llama": tiny_llama, "sd": make_tiny_sd, "vits": make_tiny_vits}
    paths = {}
    for name, make in makers.items():
        path = folder / name
        if not (path / ".built").exists():
            shutil.rmtree(path, ignore_errors=True)
            make(path)
            (path / ".built").write_text("ok")
        paths[name] = str(path)
    return paths


def make_targets(paths: dict[str, str], real: bool) -> list[Target]:
    targets = [
        Target("text", "text", paths["llama"], {"max_new_tokens": 2, "seed": 1}, TEXT_NUMBERS),
        Target(
            "image",
            "image",
            paths["sd"],
            {"num_inference_steps": 1, "width": 32, "height": 32, "seed": 1},
            IMAGE_NUMBERS,
        ),
        Target("speech", "speech", paths["vits"], {"seed": 1}, SPEECH_NUMBERS),
    ]
    if real:
        from genai.catalog import get_entry
        from genai.hub import embedded_path

        if embedded_path(get_entry("smollm2-135m-gguf")):
            targets.append(
                Target(
                    "text:smollm2-135m-gguf",
                    "text",
                    "smollm2-135m-gguf",
                    {"max_new_tokens": 2, "seed": 1},
                    TEXT_NUMBERS,
                )
            )
        if embedded_path(get_entry("piper-joe")):
            targets.append(
                Target("speech:piper-joe", "speech", "piper-joe", {"seed": 1}, SPEECH_NUMBERS)
            )
        if embedded_path(get_entry("piano-rnn")):
            targets.append(
                Target(
                    "audio:piano-rnn",
                    "speech",
                    "piano-rnn",
                    {"seed": 1, "duration": 1.0},
                    PIANO_NUMBERS,
                )
            )
        for alias in ("faces-64", "piano-rnn"):
            REAL_MODELS[alias] = bool(embedded_path(get_entry(alias)))
        global FACES_REAL
        FACES_REAL = REAL_MODELS["faces-64"]
    return targets


def first_prompt(target: Target) -> str:
    return "hello there" if target.modality != "image" else "a red cat"


class Overtime(Exception):
    """Raised from a progress callback to stop a try that ran past its deadline."""


def call(target: Target, prompt: Any, **changes: Any) -> Callable[[], Any]:
    """The generator called with ``changes``; image and speech calls stop at the deadline
    (their progress callback raises), so a runaway try does not keep a core and the RNG lock."""
    settings = {**target.base, **changes}

    def run() -> Any:
        if target.modality != "text" and "progress" not in settings:
            deadline = time.monotonic() + target.timeout

            def progress(done: int, total: int) -> None:
                if time.monotonic() > deadline:
                    raise Overtime(f"stopped after {target.timeout:.0f} s")

            return target.generator(prompt, **settings, progress=progress)
        return target.generator(prompt, **settings)

    return run


def call_repro(target: Target, prompt: Any, **changes: Any) -> str:
    settings = {**target.base, **changes}
    keywords = ", ".join(f"{k}={short(v, 60)}" for k, v in settings.items())
    return f"genai.load({target.location!r})({short(prompt, 60)}, {keywords})"


def image_note_check(value: Any) -> str | None:
    """A 1 MB image prompt may be cut to the text encoder's length, but the result must say so."""
    notes = getattr(value, "notes", None) or []
    if not any("cut" in note or "truncat" in note for note in notes):
        return "a 1 MB prompt was used without a note that it was cut"
    return None


# --- API tries ------------------------------------------------------------------------------


def try_prompt(rng: random.Random, target: Target, scratch: Path) -> Try:
    label, value, expect = random_text(rng, target.modality)
    return Try(
        "api",
        target.name,
        f"prompt: {label}",
        expect,
        call_repro(target, value),
        run=call(target, value),
        check=image_note_check if target.modality == "image" and label == "1 MB text" else None,
    )


def try_number(rng: random.Random, target: Target, scratch: Path) -> Try:
    name = rng.choice(sorted(target.numbers))
    value = random_number(rng)
    expect = number_expectation(target.numbers[name], value)
    if expect == EITHER and name in ("width", "height"):
        value, expect = 10**7, REFUSE  # a legal-looking size could run for minutes
    prompt = first_prompt(target)
    return Try(
        "api",
        target.name,
        f"{name}={short(value, 40)}",
        expect,
        call_repro(target, prompt, **{name: value}),
        run=call(target, prompt, **{name: value}),
    )


def text_options(rng: random.Random, target: Target) -> list[tuple[str, dict, str]]:
    if target.modality == "text":
        return [
            ("stop", {"stop": rng.choice([5, "", [""], [5], ["x\ud800"], [None]])}, REFUSE),
            ("stop", {"stop": ["a"] * 1000}, REFUSE),
            ("system_prompt", {"system_prompt": rng.choice([5, "x\ud800", "a\x00b"])}, REFUSE),
            ("system_prompt", {"system_prompt": "be brief\u200f"}, EITHER),
        ]
    if target.modality == "image":
        return [
            ("negative_prompt", {"negative_prompt": rng.choice([5, "x\ud800", "a\x00b"])}, REFUSE),
            ("scheduler", {"scheduler": rng.choice(["banana", 5, "", "x\ud800"])}, REFUSE),
        ]
    return [
        ("voice", {"voice": rng.choice(["banana", "x\ud800", -3, 10**9, math.nan, [1]])}, REFUSE),
        ("trim", {"trim": rng.choice(["yes", 5, math.nan])}, REFUSE),
    ]


def try_text_option(rng: random.Random, target: Target, scratch: Path) -> Try:
    name, changes, expect = rng.choice(text_options(rng, target))
    prompt = first_prompt(target)
    return Try(
        "api",
        target.name,
        f"{name}={short(changes[name], 40)}",
        expect,
        call_repro(target, prompt, **changes),
        run=call(target, prompt, **changes),
    )


def try_chat(rng: random.Random, target: Target, scratch: Path) -> Try:
    messages = rng.choice(
        [
            [{"role": "banana", "content": "hi"}],
            [{"role": "user", "content": None}],
            [{"role": "user", "content": 5}],
            [{"content": "hi"}],
            [{"role": "user"}],
            [{"role": "user", "content": "x\ud800"}],
            [{"role": 5, "content": "hi"}],
            ["hi", {"role": "user", "content": "hi"}],
            [{"role": "user", "content": "hi"}, 5],
            [],
        ]
    )
    return Try(
        "api",
        target.name,
        f"chat {short(messages, 60)}",
        REFUSE,
        call_repro(target, messages),
        run=call(target, messages),
    )


def try_misspelled_call(rng: random.Random, target: Target, scratch: Path) -> Try:
    valid = set(target.generator.call_spec.names)
    valid |= set(target.numbers) | {"speaker", "voice", "prompt", "text", "progress", "cancel"}
    known = sorted(n for n in valid if n.isidentifier())
    typo = misspell(rng, rng.choice(known), valid)
    prompt = first_prompt(target)
    return Try(
        "api",
        target.name,
        f"call keyword {typo}",
        REFUSE,
        call_repro(target, prompt, **{typo: 1}),
        run=call(target, prompt, **{typo: 1}),
    )


SHARED: set[int] = set()  # ids of the targets' own generators, never unloaded by a try


def _load_then_unload(name: Any, **options: Any) -> Callable[[], Any]:
    """genai.load; a generator it made just for this try is unloaded again."""

    def run() -> Any:
        generator = genai.load(name, **options)
        if id(generator) not in SHARED:
            generator.unload()
        return generator

    return run


def try_misspelled_load(rng: random.Random, target: Target, scratch: Path) -> Try:
    names = (*target.generator.load_option_names, *target.numbers, "attention_slicing", "device")
    typo = misspell(
        rng, rng.choice(sorted(set(names))), set(names) | {"dtype", "device_map", "task"}
    )
    return Try(
        "api",
        target.name,
        f"load option {typo}",
        REFUSE,
        f"genai.load({target.location!r}, {typo}=True)",
        run=_load_then_unload(target.location, **{typo: True}),
    )


def garbage_models(
    rng: random.Random, scratch: Path, paths: dict[str, str]
) -> tuple[str, Any, dict]:
    """(label, name for genai.load, load keywords) of a model that cannot be loaded."""
    folder = scratch / f"junk-{rng.randrange(10**9)}"
    folder.mkdir()
    junk = bytes(rng.randrange(256) for _ in range(rng.choice([0, 7, 4096])))
    choice = rng.randrange(12)
    if choice == 0:
        suffix = rng.choice([".gguf", ".safetensors", ".bin", ".onnx", ".pt", ".ckpt"])
        (folder / f"model{suffix}").write_bytes(junk)
        return f"random bytes named {suffix}", str(folder / f"model{suffix}"), {}
    if choice == 1:
        (folder / "model.safetensors").write_text("this is not a tensor file\n")
        return "text named .safetensors", str(folder / "model.safetensors"), {}
    if choice == 2:
        config = rng.choice(
            [
                "[1, 2]",
                "5",
                '"llama"',
                "null",
                "{",
                "",
                '{"model_type": 5}',
                '{"architectures": "LlamaForCausalLM"}',
                '{"model_type": "banana"}',
            ]
        )
        (folder / "config.json").write_text(config)
        return f"config.json holding {config!r}", str(folder), {}
    if choice == 3:
        shutil.copytree(paths["llama"], folder, dirs_exist_ok=True)
        weights = folder / "model.safetensors"
        data = weights.read_bytes()
        weights.write_bytes(data[: rng.randint(8, len(data) // 2)])
        return "tiny llama with truncated weights", str(folder), {}
    if choice == 4:
        shutil.copytree(paths["llama"], folder, dirs_exist_ok=True)
        (folder / "model.safetensors").unlink()
        (folder / "pytorch_model.bin").write_bytes(junk + b"junk")
        return "tiny llama with junk pytorch_model.bin", str(folder), {}
    if choice == 5:
        shutil.copytree(paths["sd"], folder, dirs_exist_ok=True)
        (folder / "model_index.json").write_text('["not", "a", "pipeline"]')
        return "tiny SD with a list for model_index.json", str(folder), {}
    if choice == 6:
        value = rng.choice(
            [
                None,
                5,
                2.5,
                b"llama",
                ["smollm2-135m"],
                "",
                "   ",
                "x\x00y",
                "a" * 5000,
                "x\ud800y",
                "../../../../etc/passwd",
                "no-such-model-anywhere",
            ]
        )
        return f"model name {short(value, 40)}", value, {}
    if choice == 7:
        return "device_map='banana'", paths["llama"], {"device_map": "banana"}
    if choice == 8:
        return "device='banana'", paths["llama"], {"device": rng.choice(["banana", "cuda:99", 5])}
    if choice == 9:
        return "dtype='banana'", paths["llama"], {"dtype": rng.choice(["banana", "int3", 5])}
    if choice == 10:
        return "an image model asked for text", paths["sd"], {"task": "text"}
    return "task='banana'", paths["llama"], {"task": "banana"}


def try_garbage_load(rng: random.Random, paths: dict[str, str], scratch: Path) -> Try:
    label, name, options = garbage_models(rng, scratch, paths)
    keywords = "".join(f", {k}={v!r}" for k, v in options.items())
    return Try(
        "api",
        "load",
        label,
        REFUSE,
        f"genai.load({short(name, 60)}{keywords})",
        run=_load_then_unload(name, **options),
    )


def output_paths(
    rng: random.Random, scratch: Path, modality: str
) -> tuple[str, Path, str, Path | None]:
    """(label, path, expectation, a file that must stay unchanged) for a result's save()."""
    folder = scratch / f"out-{rng.randrange(10**9)}"
    folder.mkdir()
    suffix = {"text": ".txt", "image": ".png", "speech": ".wav"}[modality]
    choice = rng.randrange(8)
    if choice == 0:
        existing = folder / f"old{suffix}"
        existing.write_bytes(b"keep me")
        return "an existing file", existing, REFUSE, existing
    if choice == 1:
        sidecar = folder / "data.json"
        sidecar.write_text('{"keep": "me"}')
        # A PNG keeps its record inside and writes no sidecar: it may be saved, untouched beside.
        expect = EITHER if modality == "image" else REFUSE
        return "a name whose .json sidecar exists", folder / f"data{suffix}", expect, sidecar
    if choice == 2:
        return "/dev/full", Path("/dev/full"), REFUSE, None
    if choice == 3:
        blocker = folder / "file"
        blocker.write_text("a regular file")
        return "a path under a regular file", blocker / f"x{suffix}", REFUSE, blocker
    if choice == 4:
        wrong = rng.choice([s for s in (".txt", ".png", ".wav", ".json") if s != suffix])
        return f"the wrong suffix {wrong}", folder / f"x{wrong}", REFUSE, None
    if choice == 5 and os.geteuid() != 0:  # root writes anywhere: no refusal to expect
        locked = folder / "locked"
        locked.mkdir(mode=0o555)
        return "a read-only folder", locked / f"x{suffix}", REFUSE, None
    if choice == 6:
        return "a name too long for the file system", folder / ("n" * 300 + suffix), REFUSE, None
    return "an existing folder", folder, EITHER, None


def folder_of(path: Path) -> Path:
    """The folder a save into ``path`` writes in (a name too long to stat is not a folder)."""
    try:
        return path if path.is_dir() else path.parent
    except OSError:
        return path.parent


def leftovers(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    return sorted(
        p.name
        for p in folder.iterdir()
        if p.name.endswith(".tmp") or p.name.startswith(".") and p.is_file()
    )


def damage_check(
    guarded: Path | None, before: bytes | None, folder: Path
) -> Callable[[], str | None]:
    def check() -> str | None:
        if guarded is not None and before is not None:
            if not guarded.is_file() or guarded.read_bytes() != before:
                return f"{guarded.name} was replaced"
        left = leftovers(folder)
        return f"left {', '.join(left)} behind" if left else None

    return check


def try_output(rng: random.Random, target: Target, scratch: Path) -> Try:
    label, path, expect, guarded = output_paths(rng, scratch, target.modality)
    before = guarded.read_bytes() if guarded is not None and guarded.is_file() else None
    folder = folder_of(path)
    return Try(
        "api",
        target.name,
        f"save to {label}",
        expect,
        f"genai.load({target.location!r})({first_prompt(target)!r}, ...).save({str(path)[:80]!r})",
        run=lambda: target.result.save(path),
        after=damage_check(guarded, before, folder) if folder != Path("/dev") else None,
    )


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


PATHS: dict[str, str] = {}


# --- work bounded before it starts ----------------------------------------------------------


def bound_tries(rng: random.Random, target: Target) -> list[tuple[str, Any, dict, str]]:
    """(label, prompt, call changes, expectation) of inputs that scale the work."""
    prompt = first_prompt(target)
    if target.name.endswith("piano-rnn"):
        return [
            ("temperature=1e-300", "", {"temperature": 1e-300}, REFUSE),
            ("duration=10**400", "", {"duration": 10**400}, REFUSE),
            ("max_duration=1e9", "", {"duration": 120.0, "max_duration": 1e9}, REFUSE),
            (f"prompt={rng.choice(['0', '[]', 'bytes'])}", rng.choice([0, [], b""]), {}, REFUSE),
            ("key='C minor extra'", "", {"key": "C minor extra"}, REFUSE),
            ("key='D minor'", "", {"key": "D minor", "duration": 1.0}, EITHER),
            ("fades longer than the piece", "", {"duration": 1.0, "fade_in": 1.0, "fade_out": 1.0}, REFUSE),
        ]  # fmt: skip
    if target.modality == "text":
        return [
            ("max_new_tokens=10**9", prompt, {"max_new_tokens": 10**9}, REFUSE),
            ("max_new_tokens=10**400", prompt, {"max_new_tokens": 10**400}, REFUSE),
            ("temperature=10**400", prompt, {"temperature": 10**400}, REFUSE),
            ("top_p=10**400", prompt, {"top_p": 10**400}, REFUSE),
            ("repetition_penalty=10**400", prompt, {"repetition_penalty": 10**400}, REFUSE),
        ]
    if target.modality == "image":
        return [
            ("width=10**5", prompt, {"width": 10**5}, REFUSE),
            ("num_images=10**4", prompt, {"num_images": 10**4}, REFUSE),
            ("num_inference_steps=10**6", prompt, {"num_inference_steps": 10**6}, REFUSE),
            ("guidance_scale=10**400", prompt, {"guidance_scale": 10**400}, REFUSE),
        ]
    slow_text = "Hello there, my friend. " * 900  # about 30 minutes at a slow 12 characters/s
    return [
        (f"speed={v!r}", prompt, {"speed": v}, REFUSE)
        for v in rng.sample([0.001, 1e-6, 0.2, 4.5, -1.0, 0.0], 2)
    ] + [
        ("speed=10**400", prompt, {"speed": 10**400}, REFUSE),
        ("speed=0.25", prompt, {"speed": 0.25}, EITHER),
        ("21,600 characters at speed 0.5", slow_text, {"speed": 0.5, "max_text_chars": 30_000}, REFUSE),
        ("1000 sentences, pause=10", "Hi. " * 1000, {"pause": 10.0}, REFUSE),
        (f"sample_rate={(rate := rng.choice([44_101, 383_999, 1, 7_999]))}", prompt, {"sample_rate": rate}, REFUSE),
        ("sample_rate=48000", prompt, {"sample_rate": 48_000}, EITHER),
        ("fade_in=10**400", prompt, {"fade_in": 10**400}, REFUSE),
        ("max_text_chars=10**9", prompt, {"max_text_chars": 10**9}, REFUSE),
    ]  # fmt: skip


def try_bounds(rng: random.Random, target: Target, scratch: Path) -> Try:
    label, prompt, changes, expect = rng.choice(bound_tries(rng, target))
    return Try(
        "api",
        target.name,
        f"bound: {label}",
        expect,
        call_repro(target, prompt, **changes),
        run=call(target, prompt, **changes),
    )


def try_names(rng: random.Random, target: Target, scratch: Path) -> Try:
    """None prompts and empty model names at the top of the API."""
    choice = rng.randrange(4)
    if choice == 0 and target.modality != "image" and not target.name.endswith("piano-rnn"):
        return Try(
            "api", target.name, "generate(None)", REFUSE,
            f"genai.generate(None, model={target.location!r})",
            run=lambda: genai.generate(None, model=target.location, **target.base),
        )  # fmt: skip
    name = rng.choice(["", "   "])
    if choice == 1:
        return Try("api", "load", f"generate('hi', model={name!r})", REFUSE,
                   f"genai.generate('hi', model={name!r})",
                   run=lambda: genai.generate("hi", model=name))  # fmt: skip
    if choice == 2:
        return Try("api", "load", f"pull({name!r})", REFUSE, f"genai.pull({name!r})",
                   run=lambda: genai.pull(name))  # fmt: skip
    return Try("api", "load", f"load({name!r})", REFUSE, f"genai.load({name!r})",
               run=lambda: genai.load(name))  # fmt: skip


# --- eight threads saving one result ------------------------------------------------------------


def race_outcome(saves: list[Any], folder: Path, expect_one: bool, per_save: int) -> Outcome:
    """Classify eight concurrent saves: one winner (a name) or eight (a folder), the rest
    OutputPathError, and as many files as the winners wrote (no temporaries left)."""
    wrong = [r for r in saves if isinstance(r, Exception) and not isinstance(r, genai.GenaiError)]
    if wrong:
        return Outcome("wrong exception", f"{type(wrong[0]).__name__}: {str(wrong[0])[:160]}")
    typed = [r for r in saves if isinstance(r, Exception)]
    if any(not isinstance(r, genai.errors.OutputPathError) for r in typed):
        return Outcome("wrong exception", f"{type(typed[0]).__name__}: {str(typed[0])[:160]}")
    winners = len(saves) - len(typed)
    left = leftovers(folder)
    outputs = [p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")]
    if left:
        return Outcome("silently wrong", f"left {', '.join(left)} behind")
    if expect_one and winners != 1:
        return Outcome("silently wrong", f"{winners} of {len(saves)} saves to one name 'succeeded'")
    if not expect_one and winners != len(saves):
        return Outcome("silently wrong", f"{winners} of {len(saves)} saves into a folder succeeded")
    if len(outputs) != winners * per_save:
        return Outcome(
            "silently wrong",
            f"{winners} saves succeeded but {len(outputs)} files are there ({per_save} each)",
        )
    return Outcome("ok")


def try_race(rng: random.Random, target: Target, scratch: Path) -> Try:
    """Eight threads save the target's result: to one file name, or into one folder."""
    result = target.result
    folder = scratch / f"race-{rng.randrange(10**9)}"
    folder.mkdir()
    into_folder = rng.random() < 0.5
    suffix = {"text": ".txt", "image": ".png", "speech": ".wav"}[target.modality]
    path = folder if into_folder else folder / f"same{suffix}"
    images = len(getattr(result, "images", []) or [1])
    files = {"text": 2, "image": 1, "speech": 2}[target.modality] + (
        1 if getattr(result, "midi", None) is not None else 0
    )
    # A text result saved into a folder is always text.txt: one winner there too.
    expect_one = not into_folder or target.modality == "text"
    per_save = images if target.modality == "image" else files

    def run(timeout: float) -> Outcome:
        barrier = threading.Barrier(8)
        saves: list[Any] = [None] * 8

        def save(index: int) -> None:
            barrier.wait()
            try:
                saves[index] = result.save(path)
            except Exception as error:  # classified by race_outcome
                saves[index] = error

        threads = [threading.Thread(target=save, args=(i,), daemon=True) for i in range(8)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if any(thread.is_alive() for thread in threads):
            return Outcome("hang", f"saves still running after {timeout:.0f} s")
        return race_outcome(saves, folder, expect_one, per_save)

    where = "into one folder" if into_folder else "to one name"
    return Try(
        "api threads",
        target.name,
        f"8 threads save {where}",
        EITHER,
        f"8 threads: result.save({str(path)!r}) at once",
        custom=run,
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
    if FACES_REAL:
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


FACES_REAL = False


# --- the HTTP server, driven as a client ----------------------------------------------------


class Http:
    """`genai serve` on the sweep's tiny models, started on first use, in a thread."""

    def __init__(self) -> None:
        self.base: str | None = None
        self._stack = contextlib.ExitStack()
        self.models: dict[str, str] = {}

    def start(self) -> str:
        if self.base is None:
            from genai.server.config import ServerConfig
            from genai.server.testing import running

            self.models = {"chat": PATHS["llama"], "voice": PATHS["vits"], "pic": PATHS["sd"]}
            config = ServerConfig(models=dict(self.models), ui=False)
            self.base = self._stack.enter_context(running(config))
        return self.base

    def close(self) -> None:
        self._stack.close()


HTTP = Http()


def http_bodies(rng: random.Random) -> list[tuple[str, str, Any, str]]:
    """(label, path, JSON body or raw bytes, expectation) for the served models."""
    chat = {"model": "chat", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
    speech = {"model": "voice", "input": "Hello there."}
    image = {"model": "pic", "prompt": "a cat", "size": "32x32", "num_inference_steps": 1}
    tries = [
        ("chat ok", "/v1/chat/completions", chat, EITHER),
        ("speech ok", "/v1/audio/speech", speech, EITHER),
        ("speech speed=1.0", "/v1/audio/speech", {**speech, "speed": 1.0}, EITHER),
    ]
    for speed in (0.001, 1e-6, 0.0, -1.0, 5.0, 10**400):
        tries.append(
            (f"speech speed={show(speed)}", "/v1/audio/speech", {**speech, "speed": speed}, REFUSE)
        )
    for name, value in (("temperature", 10**400), ("top_p", 10**400), ("max_tokens", 10**9),
                        ("max_tokens", 10**400), ("n", 10**9), ("frequency_penalty", 10**400),
                        ("temperature", "hot"), ("messages", []), ("stop", [""])):  # fmt: skip
        tries.append(
            (f"chat {name}={show(value)}", "/v1/chat/completions", {**chat, name: value}, REFUSE)
        )
    raw = json.dumps(chat).replace('"max_tokens": 2', '"max_tokens": 2, "temperature": NaN')
    tries.append(
        ("chat temperature=NaN (JSON extension)", "/v1/chat/completions", raw.encode(), REFUSE)
    )
    raw = json.dumps(speech)[:-1] + ', "speed": Infinity}'
    tries.append(("speech speed=Infinity", "/v1/audio/speech", raw.encode(), REFUSE))
    for size in ("\uff16\uff14x\uff16\uff14", "100000x100000", "0x0", "32x", "-32x32", "1e3x32"):
        tries.append(
            (f"image size={size!r}", "/v1/images/generations", {**image, "size": size}, REFUSE)
        )
    for name, value in (("n", 10**9), ("n", 0), ("num_inference_steps", 10**400)):
        tries.append(
            (
                f"image {name}={show(value)}",
                "/v1/images/generations",
                {**image, name: value},
                REFUSE,
            )
        )
    tries.append(("image ok", "/v1/images/generations", image, EITHER))
    return tries


def show(value: Any) -> str:
    from genai.params import show_value

    return show_value(value)


def try_http(rng: random.Random, targets: list[Target], scratch: Path) -> Try:
    label, path, body, expect = rng.choice(http_bodies(rng))
    data = body if isinstance(body, bytes) else json.dumps(body).encode()

    def run(timeout: float) -> Outcome:
        import urllib.error
        import urllib.request

        base = HTTP.start()
        request = urllib.request.Request(
            base + path, data=data, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                status, payload = answer.status, answer.read()
        except urllib.error.HTTPError as error:
            status, payload = error.code, error.read()
        except (TimeoutError, urllib.error.URLError) as error:
            return Outcome("hang", f"no answer in {timeout:.0f} s ({error})")
        if status >= 500:
            return Outcome("5xx", f"{status}: {payload[:200]!r}")
        if status >= 400:
            try:
                message = json.loads(payload)["error"]["message"]
            except (ValueError, KeyError, TypeError):
                return Outcome("wrong exception", f"{status} without an OpenAI error body")
            return Outcome("typed", f"{status}: {message[:160]}")
        if expect == REFUSE:
            return Outcome("silently wrong", f"{status}: accepted ({len(payload)} bytes)")
        return Outcome("ok")

    return Try(
        "http", path.rsplit("/", 1)[-1], label, expect,
        f"curl -X POST {path} -d {short(data.decode('utf-8', 'replace'), 100)}", custom=run,
    )  # fmt: skip


# --- batch ----------------------------------------------------------------------------------


BAD_ROWS = (
    "{not json",
    '{"prompt": "hi", "banana": 1}',
    '{"prompt": "hi", "seed": 1e400}',
    '{"prompt": "hi", "seed": -1}',
    '{"prompt": "hi", "id": "../escape"}',
    '{"prompt": "hi", "parameters": {"cancel": true}}',
    '{"prompt": "hi", "parameters": [1]}',
    '{"prompt": ""}',
    "[1, 2]",
)


def try_batch_rows(rng: random.Random, target: Target, scratch: Path) -> Try:
    """A jobs file with one malformed line among good ones: refused whole, before any work."""
    folder = scratch / f"batch-{rng.randrange(10**9)}"
    folder.mkdir()
    bad = rng.choice(BAD_ROWS)
    good = json.dumps({"prompt": first_prompt(target), "parameters": target.base})
    source = folder / "jobs.jsonl"
    source.write_text(f"{good}\n{bad}\n")

    def run() -> Any:
        from genai.batch import run_batch

        return run_batch(source, folder / "out", model=target.location, progress=False)

    return Try(
        "batch", target.name, f"jobs line {bad[:40]!r}", REFUSE,
        f"genai batch jobs.jsonl -m {target.location}  # second line: {bad}", run=run,
        after=lambda: "outputs made" if (folder / "out").exists() and any((folder / "out").glob("0*")) else None,
    )  # fmt: skip


def media(folder: Path) -> dict[str, str]:
    """Each output's content, records left out (they hold timings): text, audio, PNG pixels."""
    import hashlib

    from PIL import Image

    found = {}
    for path in sorted(folder.iterdir()):
        if path.suffix in (".txt", ".wav", ".mid"):
            found[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
        elif path.suffix == ".png":
            with Image.open(path) as image:
                found[path.name] = hashlib.sha256(image.tobytes()).hexdigest()
    return found


def try_batch_repeat(rng: random.Random, targets: list[Target], scratch: Path) -> Try:
    """Two clean runs (fresh processes) of one mixed file and seed make the same files."""
    folder = scratch / f"repeat-{rng.randrange(10**9)}"
    folder.mkdir()
    jobs = []
    for target in targets:
        if target.modality == "text":
            for i, temperature in enumerate((0, 0.8)):
                jobs.append({"id": f"{target.name.replace(':', '-')}-{i}", "model": target.location,
                             "prompt": "hello there", "parameters": {**target.base, "temperature": temperature, "max_new_tokens": 8}})  # fmt: skip
        elif target.modality == "speech":
            jobs.append({"id": target.name.replace(":", "-"), "model": target.location, "prompt": "Hello there. Bye."})  # fmt: skip
    for alias, prompt, parameters in (("faces-64", None, {"num_images": 2}), ("piano-rnn", "a calm piece", {"duration": 2})):  # fmt: skip
        if REAL_MODELS.get(alias):
            jobs.append({"id": alias, "model": alias, "prompt": prompt, "parameters": parameters})
    source = folder / "jobs.jsonl"
    source.write_text("".join(json.dumps(job) + "\n" for job in jobs))

    def run(timeout: float) -> Outcome:
        found = []
        for name in ("first", "second"):
            try:
                done = subprocess.run(
                    [sys.executable, "-m", "genai", "batch", str(source), "-o", str(folder / name),
                     "--seed", "3", "-q"],
                    capture_output=True, text=True, env=CLI_ENV, timeout=timeout,
                )  # fmt: skip
            except subprocess.TimeoutExpired:
                return Outcome("hang", f"a run took over {timeout:.0f} s")
            if "Traceback" in done.stderr:
                return Outcome("traceback", done.stderr.strip().splitlines()[-1][:200])
            if done.returncode != 0:
                return Outcome("wrong exception", f"exit {done.returncode}: {done.stderr[-200:]}")
            found.append(media(folder / name))
        differing = sorted(
            k for k in found[0].keys() | found[1].keys() if found[0].get(k) != found[1].get(k)
        )
        if differing:
            return Outcome("silently wrong", f"second run differs in {', '.join(differing)}")
        return Outcome("ok")

    return Try("batch", "mixed", f"two clean runs of {len(jobs)} jobs", EITHER,
               f"genai batch {source.name} -o A --seed 3; genai batch ... -o B --seed 3; compare",
               custom=run)  # fmt: skip


def try_batch_signal(rng: random.Random, targets: list[Target], scratch: Path) -> Try:
    """SIGTERM or SIGINT while a long job runs: exit 143/130, the job left for the next run."""
    import signal as signals

    folder = scratch / f"signal-{rng.randrange(10**9)}"
    folder.mkdir()
    number = rng.choice([signals.SIGTERM, signals.SIGINT])
    long_text = "Hello there, my friend. " * 700
    speech = next(t for t in targets if t.modality == "speech")
    jobs = [
        {"id": "quick", "model": speech.location, "prompt": "Hello.", "seed": 1},
        {"id": "long", "model": speech.location, "prompt": long_text, "seed": 2,
         "parameters": {"max_text_chars": 20_000}},
    ]  # fmt: skip
    if REAL_MODELS.get("piano-rnn"):
        jobs[1] = {"id": "long", "model": "piano-rnn", "prompt": "a calm piece", "seed": 2,
                   "parameters": {"duration": 1800, "max_duration": 1800}}  # fmt: skip
    source = folder / "jobs.jsonl"
    source.write_text("".join(json.dumps(job) + "\n" for job in jobs))

    def run(timeout: float) -> Outcome:
        out = folder / "out"
        process = subprocess.Popen(
            [sys.executable, "-m", "genai", "batch", str(source), "-o", str(out), "-q"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=CLI_ENV,
        )  # fmt: skip
        part = out / "manifest.part-0.jsonl"
        deadline = time.monotonic() + timeout
        while not (part.is_file() and part.read_text().count("\n") >= 1):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                return Outcome(
                    "wrong exception",
                    f"the quick job never finished: {process.communicate()[1][-200:]}",
                )
            time.sleep(0.2)
        time.sleep(1.0)
        process.send_signal(number)
        try:
            _, stderr = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            return Outcome("hang", "still running 60 s after the signal")
        if "Traceback" in stderr:
            return Outcome("traceback", stderr.strip().splitlines()[-1][:200])
        from genai.batch import read_manifest

        records = read_manifest(out)
        if process.returncode == 0 and "long" in records:
            return Outcome("ok", "the long job ended before the signal")
        if process.returncode != 128 + number:
            return Outcome("wrong exception", f"exit {process.returncode}: {stderr[-200:]}")
        if "long" in records or (out / "long.wav").exists():
            return Outcome("silently wrong", "the cancelled job was recorded or left files")
        return Outcome(
            "typed", f"exit {process.returncode}, the job in flight left for the next run"
        )

    return Try("batch", "signal", f"{signals.Signals(number).name} mid-job", EITHER,
               f"genai batch {source.name} -o out & kill -{signals.Signals(number).name[3:]} $!",
               custom=run)  # fmt: skip


REAL_MODELS: dict[str, bool] = {}


# --- the sweep ------------------------------------------------------------------------------

API_KINDS = (
    (try_prompt, 5, None),
    (try_number, 6, None),
    (try_bounds, 5, None),
    (try_names, 1, None),
    (try_text_option, 2, None),
    (try_chat, 1, "text"),
    (try_misspelled_call, 2, None),
    (try_misspelled_load, 1, None),
    (try_output, 2, None),
    (try_race, 3, None),
)


def prepare(target: Target) -> str | None:
    """Load the target and make one good result; a reason when that fails."""
    try:
        target.generator = genai.load(target.location)
        SHARED.add(id(target.generator))
        target.result = target.generator(first_prompt(target), **target.base)
    except Exception as error:  # the sweep goes on without this target
        return f"{type(error).__name__}: {error}"
    return None


ONCE: set[str] = set()  # the costly batch tries, made once per sweep


def pick(rng: random.Random, targets: list[Target], args: argparse.Namespace, scratch: Path) -> Try:
    live = [t for t in targets if not t.stuck]
    draw = rng.random()
    if draw < args.cli_share:
        if rng.random() < 0.4:
            return try_shell(rng, rng.choice(targets), scratch)
        return try_cli(rng, rng.choice(targets), scratch)
    draw -= args.cli_share
    if draw < args.http_share:
        return try_http(rng, targets, scratch)
    draw -= args.http_share
    if draw < args.batch_share:
        for name, make in (("repeat", try_batch_repeat), ("signal", try_batch_signal)):
            if name not in ONCE:
                ONCE.add(name)
                return make(rng, targets, scratch)
        return try_batch_rows(rng, rng.choice(targets), scratch)
    if rng.random() < 0.1 or not live:
        return try_garbage_load(rng, PATHS, scratch)
    target = rng.choice(live)
    kinds = [(make, weight) for make, weight, only in API_KINDS if only in (None, target.modality)]
    make = rng.choices([k for k, _ in kinds], weights=[w for _, w in kinds])[0]
    return make(rng, target, scratch)


def quiet_libraries() -> None:
    """Library warnings would flood the table (CLIP echoes a whole cut-off 1 MB prompt)."""
    import logging

    import transformers

    transformers.logging.set_verbosity_error()
    logging.getLogger("diffusers").setLevel(logging.ERROR)


def sweep(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    quiet_libraries()
    scratch = Path(tempfile.mkdtemp(prefix="genai-fuzz-"))
    models = Path(args.models) if args.models else scratch / "models"
    started = time.monotonic()
    PATHS.update(build_models(models))
    targets = make_targets(PATHS, args.real)
    for target in list(targets):
        target.timeout = args.timeout
        reason = prepare(target)
        if reason:
            print(f"skipping {target.name}: {reason}", file=sys.stderr)
            targets.remove(target)
    print(
        f"models ready in {time.monotonic() - started:.0f} s: {', '.join(t.name for t in targets)}",
        file=sys.stderr,
    )
    counts: dict[str, Counter] = {surface: Counter() for surface in SURFACES}
    failures: list[tuple[str, Try, Outcome]] = []
    deadline = time.monotonic() + args.seconds
    by_name = {t.name: t for t in targets}
    for index in range(args.iterations):
        if time.monotonic() > deadline:
            break
        attempt = pick(rng, targets, args, scratch)
        if attempt.custom is not None:
            slow = attempt.surface in ("cli", "batch")
            outcome = attempt.custom(args.cli_timeout if slow else args.timeout)
        elif attempt.surface in ("api", "batch"):
            outcome = run_api(attempt, args.timeout)
        else:
            outcome = run_cli(attempt, args.cli_timeout)
        if outcome.column == "hang" and attempt.surface == "api" and attempt.target in by_name:
            by_name[attempt.target].stuck = True  # its lock may be held: no more API tries on it
        counts[attempt.surface]["tried"] += 1
        counts[attempt.surface][outcome.column] += 1
        if outcome.column not in ("ok", "typed"):
            failures.append((str(index), attempt, outcome))
        if args.verbose:
            print(
                f"{index:4d} {outcome.column:10s} {attempt.surface} {attempt.target}: {attempt.label}"
                f"  {outcome.detail[:120]}",
                file=sys.stderr,
            )
    report(counts, failures, time.monotonic() - started, args)
    HTTP.close()
    shutil.rmtree(scratch, ignore_errors=True)
    return 1 if failures else 0


# The columns' earlier names, still written to --json for readers of the first table.
OLD_NAMES = {"wrong type": "wrong exception", "silent": "silently wrong"}


def counts_record(row: Counter) -> dict[str, int]:
    record = {c: row[c] for c in COLUMNS}
    record.update({old: row[new] for old, new in OLD_NAMES.items()})
    return record


def report(
    counts: dict[str, Counter], failures: list, seconds: float, args: argparse.Namespace
) -> None:
    total = sum(counts.values(), Counter())
    rows = [(surface, counts[surface]) for surface in SURFACES] + [("total", total)]
    print(f"fuzz_inputs: seed {args.seed}, {seconds:.0f} s, load average {os.getloadavg()[0]:.1f}")
    print("| surface | " + " | ".join(COLUMNS) + " |")
    print("|---|" + "---|" * len(COLUMNS))
    for name, row in rows:
        print(f"| {name} | " + " | ".join(str(row[c]) for c in COLUMNS) + " |")
    for index, attempt, outcome in failures:
        print(
            f"[{outcome.column}] #{index} {attempt.surface} {attempt.target}: {attempt.label}\n"
            f"    repro: {attempt.repro}\n    got: {outcome.detail}"
        )
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "seed": args.seed,
                    "counts": {name: counts_record(row) for name, row in rows},
                    "failures": [
                        {
                            "column": o.column,
                            "surface": a.surface,
                            "target": a.target,
                            "label": a.label,
                            "repro": a.repro,
                            "detail": o.detail,
                        }
                        for _, a, o in failures
                    ],
                },
                indent=2,
            )
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=200, help="at most this many tries")
    parser.add_argument("--seconds", type=float, default=120, help="stop starting tries after this")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=60, help="seconds before a try is a hang")
    parser.add_argument(
        "--cli-timeout",
        type=float,
        default=120,
        help="seconds before a CLI try (a fresh process loading a model) is a hang",
    )
    parser.add_argument(
        "--cli-share", type=float, default=0.15, help="fraction of tries via the CLI"
    )
    parser.add_argument(
        "--http-share", type=float, default=0.15, help="fraction of tries via `genai serve`"
    )
    parser.add_argument(
        "--batch-share", type=float, default=0.05, help="fraction of tries via genai batch"
    )
    parser.add_argument(
        "--real",
        action="store_true",
        help="also the real SmolLM2 GGUF and Piper voice, when installed",
    )
    parser.add_argument("--models", default=None, help="keep the tiny models here between runs")
    parser.add_argument("--json", default=None, help="also write the counts and failures here")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every try")
    args = parser.parse_args(argv)
    code = sweep(args)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # a hung try's thread must not keep the process alive


if __name__ == "__main__":
    main()
