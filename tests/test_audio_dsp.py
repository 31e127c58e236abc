"""genai.audio_dsp: signal work checked on known signals, text splitting, script checks, option checks."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from genai import InvalidParameterError, audio_text
from genai import audio_dsp as dsp
from genai.testing.audio import sine

RATE = 16_000


def dominant_frequency(waveform: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(waveform[0] * np.hanning(waveform.shape[1])))
    return float(np.fft.rfftfreq(waveform.shape[1], 1.0 / rate)[np.argmax(spectrum)])


# --- resample ----------------------------------------------------------------------------------


@pytest.mark.parametrize("new_rate", [8_000, 22_050, 44_100])
def test_resampled_sine_keeps_its_frequency_and_duration(new_rate):
    tone = sine(440.0, 1.0, RATE)
    out = dsp.resample(tone, RATE, new_rate)
    assert out.dtype == np.float32 and out.shape == (1, new_rate)
    assert dominant_frequency(out, new_rate) == pytest.approx(440.0, abs=1.5)
    assert np.max(np.abs(out)) == pytest.approx(0.5, abs=0.02)


def test_resample_removes_what_the_new_rate_cannot_hold():
    tone = sine(6_000.0, 0.5, RATE)  # above 4 kHz, the Nyquist frequency of 8 kHz
    out = dsp.resample(tone, RATE, 8_000)
    assert np.sqrt(np.mean(out**2)) < 0.05 * np.sqrt(np.mean(tone**2))


def test_resample_to_the_same_rate_is_a_no_op():
    tone = sine(440.0, 0.1, RATE)
    assert dsp.resample(tone, RATE, RATE) is tone


# --- loudness ------------------------------------------------------------------------------------


def test_loudness_of_a_full_scale_997_hz_sine_is_about_minus_3_lufs():
    # The BS.1770 reference reads -3.01 LUFS (torchaudio alone reads -3.28: its filters clamp).
    full = sine(997.0, 2.0, 48_000, amplitude=1.0)
    assert dsp.loudness(full, 48_000) == pytest.approx(-3.01, abs=0.1)
    # Half the amplitude is 6.02 dB quieter.
    assert dsp.loudness(full * 0.5, 48_000) == pytest.approx(
        dsp.loudness(full, 48_000) - 6.02, abs=0.05
    )


@pytest.mark.parametrize("target", [-30.0, -23.0, -16.0])
def test_normalised_loudness_is_within_half_a_lu_of_the_target(target):
    quiet = sine(440.0, 2.0, RATE, amplitude=0.01)
    out = dsp.normalize_loudness(quiet, RATE, target)
    assert dsp.loudness(out, RATE) == pytest.approx(target, abs=0.5)
    assert dsp.loudness(quiet, RATE) < target - 3  # it really changed


def test_short_clips_are_measured_like_long_ones():
    assert dsp.loudness(sine(440.0, 0.1, RATE), RATE) == pytest.approx(
        dsp.loudness(sine(440.0, 2.0, RATE), RATE), abs=0.3
    )


def test_normalising_never_clips(caplog):
    with caplog.at_level(logging.WARNING, logger="genai.audio"):
        out = dsp.normalize_loudness(sine(440.0, 1.0, RATE, amplitude=0.5), RATE, -1.0)
    assert np.max(np.abs(out)) <= dsp.PEAK_LIMIT + 1e-6
    assert "would clip" in caplog.text


def test_silence_is_left_as_it_is():
    silence = np.zeros((1, RATE), dtype=np.float32)
    assert dsp.loudness(silence, RATE) == float("-inf")
    assert np.array_equal(dsp.normalize_loudness(silence, RATE, -16.0), silence)


# --- fades, trims, joins -------------------------------------------------------------------------


def test_fades_start_and_end_at_zero_and_leave_the_middle():
    flat = np.full((1, RATE), 0.5, dtype=np.float32)
    out = dsp.fade(flat, RATE, fade_in=0.1, fade_out=0.2)
    assert out[0, 0] == pytest.approx(0.0, abs=1e-6)
    assert out[0, -1] == pytest.approx(0.0, abs=1e-3)
    assert np.all(np.diff(out[0, : int(0.1 * RATE)]) >= -1e-7)  # rising
    assert np.all(np.diff(out[0, -int(0.2 * RATE) :]) <= 1e-7)  # falling
    middle = slice(int(0.1 * RATE), -int(0.2 * RATE))
    assert np.allclose(out[0, middle], 0.5)
    assert np.array_equal(dsp.fade(flat, RATE), flat)


def test_fades_longer_than_the_audio_are_refused():
    with pytest.raises(InvalidParameterError, match="longer than the audio"):
        dsp.fade(sine(440.0, 0.5, RATE), RATE, fade_in=0.3, fade_out=0.3)


def test_trim_cuts_leading_and_trailing_silence_only():
    tone = sine(440.0, 0.5, RATE)
    padded = np.concatenate([np.zeros((1, RATE)), tone, np.zeros((1, 2 * RATE))], axis=1).astype(
        np.float32
    )
    out = dsp.trim_silence(padded, RATE, keep=0.05)
    assert 0.5 <= out.shape[1] / RATE <= 0.5 + 2 * 0.05 + 0.02
    assert np.sqrt(np.mean(out**2)) > 0.3  # the tone is all there
    silence = np.zeros((1, RATE), dtype=np.float32)
    assert np.array_equal(dsp.trim_silence(silence, RATE), silence)


def test_join_puts_pauses_between_clips():
    a, b = sine(440.0, 0.5, RATE), sine(880.0, 0.25, RATE)
    out = dsp.join([a, b], RATE, pause=0.2)
    assert out.shape == (1, int(0.95 * RATE))
    assert not np.any(out[0, int(0.5 * RATE) : int(0.7 * RATE)])
    assert np.array_equal(out[0, -b.shape[1] :], b[0])
    stereo = dsp.join([a, np.vstack([b, b])], RATE, pause=0.0)
    assert stereo.shape == (2, a.shape[1] + b.shape[1])
    assert dsp.join([], RATE).shape == (1, 0)


# --- pictures --------------------------------------------------------------------------------------


def test_mel_picture_shows_a_higher_tone_higher_up():
    def brightest_row(frequency: float) -> int:
        image = dsp.mel_image(sine(frequency, 1.0, RATE), RATE, n_mels=64)
        assert image.mode == "RGB" and image.height == 64
        return int(np.argmax(np.asarray(image, dtype=np.float32).sum(axis=(1, 2))))

    assert brightest_row(3_000.0) < brightest_row(300.0)
    assert dsp.mel_image(sine(440.0, 0.01, RATE), RATE, width=120, height=40).size == (120, 40)


# --- text ----------------------------------------------------------------------------------------


def test_text_is_split_at_sentence_ends_but_not_after_abbreviations():
    text = 'Hello there. Dr. Smith said "hi." Then he left!  Really?\n\nA new paragraph'
    assert audio_text.split_text(text) == [
        "Hello there.",
        'Dr. Smith said "hi."',
        "Then he left!",
        "Really?",
        "A new paragraph",
    ]
    assert audio_text.split_text("你好。世界！") == ["你好。", "世界！"]


def test_long_sentences_are_split_at_commas_then_between_words():
    sentence = "one, two, three, four, five six seven eight nine ten eleven twelve"
    pieces = audio_text.split_text(sentence, max_chars=14)
    assert pieces[:2] == ["one, two,", "three, four,"]
    assert all(len(piece) <= 14 for piece in pieces)
    assert " ".join(pieces).split() == sentence.split()
    assert audio_text.split_text("x" * 30, max_chars=12) == ["x" * 12, "x" * 12, "x" * 6]


def test_a_page_of_text_becomes_pieces_that_keep_every_word():
    page = (
        " ".join(
            f"Sentence number {i} talks about the weather, the sea, the hills and the long roads between towns."
            for i in range(40)
        )
        + " "
        + "and then " * 80
        + "the end."
    )
    pieces = audio_text.split_text(page, max_chars=200)
    assert len(pieces) >= 40
    assert all(0 < len(piece) <= 200 for piece in pieces)
    assert " ".join(pieces).split() == page.split()


def test_text_mostly_in_an_unknown_script_is_refused(caplog):
    latin = lambda c: audio_text.script_of(c) == "LATIN"  # noqa: E731
    with pytest.raises(InvalidParameterError, match="not in the alphabet of my-voice"):
        audio_text.check_speakable("你好，世界 hi", latin, model="my-voice", language="English")
    with caplog.at_level(logging.WARNING, logger="genai.audio"):
        audio_text.check_speakable("Hello world, 你", latin, model="my-voice")
    assert "cannot say" in caplog.text
    audio_text.check_speakable("Hello, world! 123", latin, model="my-voice")


def test_scripts_of_languages():
    assert audio_text.scripts_for_language("en_US") == {"LATIN"}
    assert audio_text.scripts_for_language("ru-RU") == {"CYRILLIC"}
    assert "HIRAGANA" in audio_text.scripts_for_language("ja")
    assert audio_text.script_of("ж") == "CYRILLIC" and audio_text.script_of("你") == "CJK"


# --- options -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options, message",
    [
        ({"sample_rate": 0}, "sample_rate=0"),
        ({"sample_rate": -8000}, "sample_rate=-8000"),
        ({"sample_rate": 16000.5}, "whole number"),
        ({"sample_rate": "fast"}, "whole number"),
        ({"normalize": 3}, "normalize"),
        ({"normalize": "loud"}, "normalize"),
        ({"fade_in": -1}, "fade_in"),
        ({"trim": "yes"}, "trim"),
    ],
)
def test_bad_options_are_refused_by_the_audio_spec(options, message):
    from genai.specs.audio import AUDIO

    with pytest.raises(InvalidParameterError, match=message):
        AUDIO.check(options, owner="test")


def test_postprocess_resamples_fades_and_normalises():
    from genai.specs.audio import AUDIO

    options = AUDIO.check({"sample_rate": 8_000, "normalize": -20, "fade_in": 0.05}, owner="t")
    out, rate = dsp.postprocess(sine(440.0, 1.0, RATE, amplitude=0.05), RATE, options)
    assert rate == 8_000 and out.shape == (1, 8_000)
    assert dsp.loudness(out, rate) == pytest.approx(-20.0, abs=0.5)
    assert abs(out[0, 0]) < 1e-6
