"""API tries: prompts, numbers, options, chat messages, misspelled keywords, bounds."""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import genai

from .inputs import EITHER, REFUSE, misspell, number_expectation, random_number, random_text
from .outcome import Try, short
from .targets import Target, call, call_repro, first_prompt, image_note_check

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
