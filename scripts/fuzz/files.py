"""API tries about files: loading (junk models, misspelled load options) and saving
(bad output paths, eight threads saving one result)."""

from __future__ import annotations

import os
import random
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import genai

from .inputs import EITHER, REFUSE, misspell
from .outcome import Outcome, Try, short
from .targets import Target, first_prompt

# --- loading: misspelled options, junk models ----------------------------------------------

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


# --- saving to a bad path ------------------------------------------------------------------


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
