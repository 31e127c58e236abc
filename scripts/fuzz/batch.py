"""Batch tries: bad job files, two runs that must agree, a signal in the middle."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .inputs import EITHER, REFUSE
from .outcome import CLI_ENV, Outcome, Try
from .targets import REAL_MODELS, Target, first_prompt

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
