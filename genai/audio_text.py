"""Text for speech models: long text split into pieces a model says in one go, and a check that
a voice knows the letters of a text (its script) before any model work."""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable

from .errors import InvalidParameterError

logger = logging.getLogger("genai.audio")

_ABBREVIATIONS = {
    "mr",
    "mrs",
    "ms",
    "dr",
    "prof",
    "st",
    "vs",
    "etc",
    "e.g",
    "i.e",
    "jr",
    "sr",
    "no",
    "fig",
}
# A sentence ends at . ! ? (with any closing quotes) before a space, at CJK full stops, or at a blank line.
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*(?=\s)|[。！？]|\n\s*\n")
_CLAUSE_END = re.compile(r"(?<=[,;:，、—–])\s+")


def _sentences(text: str) -> list[str]:
    pieces: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        candidate = text[start : match.end()].strip()
        last_word = candidate.rsplit(None, 1)[-1].rstrip(".").lower() if candidate else ""
        if candidate.endswith(".") and last_word in _ABBREVIATIONS:
            continue  # "Dr. Smith" is one sentence
        if candidate:
            pieces.append(candidate)
        start = match.end()
    rest = text[start:].strip()
    if rest:
        pieces.append(rest)
    return pieces


def _pack(parts: list[str], max_chars: int) -> list[str]:
    """Greedily join parts (with spaces) into pieces of at most max_chars."""
    pieces: list[str] = []
    for part in parts:
        if pieces and len(pieces[-1]) + 1 + len(part) <= max_chars:
            pieces[-1] = f"{pieces[-1]} {part}"
        else:
            pieces.append(part)
    return pieces


def split_text(text: str, max_chars: int = 300) -> list[str]:
    """Split text at sentence ends; sentences longer than ``max_chars`` at commas, then between words."""
    text = re.sub(r"[ \t\r\f\v]+", " ", text.strip())
    pieces: list[str] = []
    for sentence in _sentences(text):
        sentence = " ".join(sentence.split())
        if len(sentence) <= max_chars:
            pieces.append(sentence)
            continue
        for clause in _pack(_CLAUSE_END.split(sentence), max_chars):
            if len(clause) <= max_chars:
                pieces.append(clause)
                continue
            words: list[str] = []
            for word in clause.split():
                words.extend(word[i : i + max_chars] for i in range(0, len(word), max_chars))
            pieces.extend(_pack(words, max_chars))
    return pieces


# --- which letters a voice can say -----------------------------------------------------------

# Writing systems of the languages espeak/Piper voices speak (by language code), by the first
# word of the Unicode character names ("LATIN SMALL LETTER A", "CJK UNIFIED IDEOGRAPH-4F60").
_SCRIPTS_OF_LANGUAGE = {
    "ar": {"ARABIC"},
    "fa": {"ARABIC"},
    "ur": {"ARABIC"},
    "he": {"HEBREW"},
    "el": {"GREEK"},
    "ru": {"CYRILLIC"},
    "uk": {"CYRILLIC"},
    "bg": {"CYRILLIC"},
    "kk": {"CYRILLIC"},
    "mk": {"CYRILLIC"},
    "be": {"CYRILLIC"},
    "mn": {"CYRILLIC"},
    "sr": {"CYRILLIC", "LATIN"},
    "ka": {"GEORGIAN"},
    "hy": {"ARMENIAN"},
    "hi": {"DEVANAGARI"},
    "ne": {"DEVANAGARI"},
    "mr": {"DEVANAGARI"},
    "bn": {"BENGALI"},
    "ta": {"TAMIL"},
    "te": {"TELUGU"},
    "ml": {"MALAYALAM"},
    "kn": {"KANNADA"},
    "gu": {"GUJARATI"},
    "pa": {"GURMUKHI"},
    "th": {"THAI"},
    "lo": {"LAO"},
    "km": {"KHMER"},
    "my": {"MYANMAR"},
    "si": {"SINHALA"},
    "am": {"ETHIOPIC"},
    "zh": {"CJK"},
    "yue": {"CJK"},
    "ja": {"CJK", "HIRAGANA", "KATAKANA"},
    "ko": {"HANGUL"},
}


def script_of(char: str) -> str:
    """The writing system of one letter: LATIN, CYRILLIC, CJK, ... (first word of its Unicode name)."""
    return unicodedata.name(char, "UNKNOWN").split(" ")[0]


def scripts_for_language(code: str) -> set[str]:
    """The scripts a language is written in (Latin unless known otherwise), from codes like en_US, en-us."""
    return _SCRIPTS_OF_LANGUAGE.get(re.split(r"[-_]", code.lower())[0], {"LATIN"})


def check_speakable(
    text: str, known: Callable[[str], bool], *, model: str, language: str | None = None
) -> None:
    """Refuse text whose letters the voice mostly cannot say (Chinese to an English voice, say).

    ``known(char)`` says whether the voice's tokenizer or phonemizer has the letter. Text
    where most letters are unknown raises; a few unknown ones are dropped with a warning.
    """
    letters = [c for c in text if unicodedata.category(c).startswith("L")]
    unknown = [c for c in letters if not known(c)]
    if not unknown:
        return
    sample = "".join(dict.fromkeys(unknown))[:12]
    speaks = f" (it speaks {language})" if language else ""
    if len(unknown) * 2 > len(letters):
        raise InvalidParameterError(
            f"text: {len(unknown)} of {len(letters)} letters ({sample!r}) are not in the alphabet of "
            f"{model}{speaks}; give text in a script it can say, or pick a voice for that language"
        )
    logger.warning("%s cannot say %r; those letters are skipped", model, sample)
