"""Does generated audio sound like something? Checks with teeth for tests of audio output.

A duration range or ``len(samples) > 0`` lets silence pass. These measure the samples:

- :func:`sound_problems` (any audio, also a tiny random model's noise): not empty, finite,
  loud enough overall, never quiet for longer than ``max_quiet`` seconds, not clipped, not
  a constant offset (DC);
- :func:`speech_problems`: a sound, and not noise (spectral flatness), its energy in the
  speech band (80 Hz - 4 kHz) and its level rising and falling with syllables;
- :func:`music_problems`: a sound, and not noise (spectral flatness).

Each returns a list of problems ([] means it passed); the ``assert_*`` forms raise an
AssertionError listing them. Levels are dBFS: 0 dB is a full-scale square wave.
"""

from __future__ import annotations

import numpy as np

FRAME_S = 0.02  # level frames of 20 ms: shorter than a syllable, longer than a pitch period
QUIET_DB = -50.0  # a frame this far below full scale is silence to a listener
MIN_LEVEL_DB = -35.0  # quieter than this overall, the output is near silence
CLIPPED_LEVEL = 0.999
MAX_CLIPPED = 0.001  # more than 0.1 % of samples at full scale: clipped
MAX_FLATNESS = 0.2  # white noise measures about 0.9, speech and music below 0.05
SPEECH_BAND = (80.0, 4000.0)
MIN_SPEECH_BAND = 0.8  # white noise at 22 kHz has about 0.36 of its energy there
MIN_SPEECH_SPREAD_DB = 10.0  # speech's loud and quiet frames differ by more (syllables)


def mono(samples) -> np.ndarray:
    """Samples as float64 mono: (channels, n) or (n,) in, the channels averaged."""
    array = np.asarray(samples, dtype=np.float64)
    return array.mean(axis=0) if array.ndim == 2 else array.ravel()


def level_db(samples) -> float:
    """The RMS level in dBFS (-inf-safe: silence is -200)."""
    x = mono(samples)
    rms = float(np.sqrt(np.mean(x**2))) if x.size else 0.0
    return 20 * np.log10(max(rms, 1e-10))


def frame_levels(samples, rate: int, frame_s: float = FRAME_S) -> np.ndarray:
    """The RMS level of each ``frame_s`` frame in dBFS (one frame when the audio is shorter)."""
    x = mono(samples)
    size = max(1, int(round(frame_s * rate)))
    count = max(1, len(x) // size)
    frames = x[: count * size] if len(x) >= size else x
    rms = np.sqrt(np.mean(frames.reshape(count, -1) ** 2, axis=1))
    return 20 * np.log10(np.maximum(rms, 1e-10))


def longest_quiet(samples, rate: int, *, floor_db: float = QUIET_DB) -> float:
    """Seconds of the longest run of frames below ``floor_db``."""
    longest = run = 0
    for quiet in frame_levels(samples, rate) < floor_db:
        run = run + 1 if quiet else 0
        longest = max(longest, run)
    return longest * FRAME_S


def clipped_fraction(samples) -> float:
    """The share of samples (of every channel) at full scale."""
    x = np.abs(np.asarray(samples, dtype=np.float64))
    return float(np.mean(x >= CLIPPED_LEVEL)) if x.size else 0.0


def power_spectrum(samples, rate: int, segment: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Welch's averaged power spectrum (Hann windows, half overlap): frequencies, powers."""
    x = mono(samples)
    segment = min(segment, len(x))
    window = np.hanning(segment)
    starts = range(0, len(x) - segment + 1, max(1, segment // 2))
    power = np.mean([np.abs(np.fft.rfft(x[s : s + segment] * window)) ** 2 for s in starts], 0)
    return np.fft.rfftfreq(segment, 1 / rate), power


def spectral_flatness(samples, rate: int) -> float:
    """Geometric over arithmetic mean of the power spectrum above 50 Hz: ~0.9 for white
    noise, near 0 for tones, speech and music."""
    freqs, power = power_spectrum(samples, rate)
    power = power[freqs >= 50] + 1e-20
    return float(np.exp(np.mean(np.log(power))) / np.mean(power))


def band_ratio(samples, rate: int, band: tuple[float, float] = SPEECH_BAND) -> float:
    """The share of the energy between ``band`` Hz."""
    freqs, power = power_spectrum(samples, rate)
    total = power.sum()
    inside = power[(freqs >= band[0]) & (freqs <= band[1])].sum()
    return float(inside / total) if total > 0 else 0.0


def sound_problems(
    samples, rate: int, *, max_quiet: float = 0.3, min_level_db: float = MIN_LEVEL_DB
) -> list[str]:
    """What makes ``samples`` not a sound: empty, not finite, near silent overall, quiet for
    more than ``max_quiet`` seconds at a stretch, clipped, or a constant offset."""
    x = mono(samples)
    if x.size == 0:
        return ["the audio is empty"]
    if not np.all(np.isfinite(np.asarray(samples))):
        return ["the audio holds NaN or infinite samples"]
    problems = []
    level = level_db(x)
    if level < min_level_db:
        problems.append(f"near silent: {level:.1f} dBFS overall, below {min_level_db} dBFS")
    quiet = longest_quiet(x, rate)
    if quiet > max_quiet:
        problems.append(f"silent for {quiet:.2f} s at a stretch (at most {max_quiet} s allowed)")
    clipped = clipped_fraction(samples)
    if clipped > MAX_CLIPPED or np.max(np.abs(np.asarray(samples))) > 1.0:
        problems.append(f"clipped: {clipped:.1%} of samples at full scale")
    rms = float(np.sqrt(np.mean(x**2)))
    if rms > 0 and abs(float(x.mean())) > 0.5 * rms:
        problems.append(f"mostly a constant offset (mean {x.mean():.3f}, RMS {rms:.3f}), not sound")
    return problems


def _not_noise(samples, rate: int) -> list[str]:
    flatness = spectral_flatness(samples, rate)
    if flatness > MAX_FLATNESS:
        return [
            f"noise-like: spectral flatness {flatness:.2f} (white noise ~0.9, at most {MAX_FLATNESS})"
        ]
    return []


def speech_problems(samples, rate: int, *, max_quiet: float = 0.5) -> list[str]:
    """A sound that is not noise, with most of its energy in the speech band and a level
    that rises and falls (syllables): a steady tone or hum fails."""
    problems = sound_problems(samples, rate, max_quiet=max_quiet) + _not_noise(samples, rate)
    share = band_ratio(samples, rate)
    if share < MIN_SPEECH_BAND:
        problems.append(
            f"only {share:.0%} of the energy in the speech band {SPEECH_BAND[0]:.0f}-"
            f"{SPEECH_BAND[1]:.0f} Hz (at least {MIN_SPEECH_BAND:.0%})"
        )
    levels = frame_levels(samples, rate)
    loud = levels[levels > QUIET_DB]
    spread = float(np.percentile(loud, 90) - np.percentile(loud, 10)) if loud.size > 2 else 0.0
    if spread < MIN_SPEECH_SPREAD_DB:
        problems.append(
            f"no syllables: the level of its sounding frames spans {spread:.1f} dB "
            f"(at least {MIN_SPEECH_SPREAD_DB} dB)"
        )
    return problems


def music_problems(samples, rate: int, *, max_quiet: float = 1.0) -> list[str]:
    """A sound that is not noise."""
    return sound_problems(samples, rate, max_quiet=max_quiet) + _not_noise(samples, rate)


def _assert(problems: list[str], what: str) -> None:
    assert not problems, f"not {what}: " + "; ".join(problems)


def assert_sound(samples, rate: int, **limits) -> None:
    _assert(sound_problems(samples, rate, **limits), "a sound")


def assert_speech(samples, rate: int, **limits) -> None:
    _assert(speech_problems(samples, rate, **limits), "speech")


def assert_music(samples, rate: int, **limits) -> None:
    _assert(music_problems(samples, rate, **limits), "music")
