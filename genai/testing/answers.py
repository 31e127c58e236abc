"""Is a real model's answer right? A strict check for short factual answers.

A substring test accepts "The capital of Japan is Kyoto, not Tokyo", "fourteen" for "four",
"240" for "24" and a reply that loops ("Le Grand Paris, ... la Belle Étoile, la Belle
Étoile"). :func:`answer_problems` accepts an answer only when:

- its first sentence states the expected fact: the expected word or number as a whole word
  (a number also as its English word, "4" or "four");
- that sentence holds no negation ("not", "n't", "never", ...) and no other candidate: no
  capitalised name (past the sentence's first word) and no number that is not in the
  question, the expected answer or ``allowed``;
- no phrase of three words appears twice anywhere in the text (a model that loops);
- the model ended by itself (``finish_reason`` "eos" or "stop") when a reason is given.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

NUMBER_WORDS = {
    "0": "zero", "1": "one", "2": "two", "3": "three", "4": "four", "5": "five", "6": "six",
    "7": "seven", "8": "eight", "9": "nine", "10": "ten", "11": "eleven", "12": "twelve",
    "13": "thirteen", "14": "fourteen", "15": "fifteen", "16": "sixteen", "17": "seventeen",
    "18": "eighteen", "19": "nineteen", "20": "twenty", "24": "twenty-four", "30": "thirty",
    "100": "one hundred",
}  # fmt: skip
NEGATIONS = ("not", "no", "never", "neither", "nor", "none", "nothing")
# Words that name nothing even when capitalised or numeric-looking: openers, the pronoun I,
# and "one" (as in "one of the").
PLAIN_WORDS = {"i", "the", "a", "an", "it", "this", "that", "so", "yes", "one"}
_WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_NUMBER = re.compile(r"^\d+(?:[.,]\d+)*$")


def first_sentence(text: str) -> str:
    """The text up to its first sentence end (". ", "! ", "? " or a line break)."""
    text = text.strip()
    return _SENTENCE_END.split(text, maxsplit=1)[0] if text else ""


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def repeated_phrase(text: str, length: int = 3) -> str | None:
    """The first phrase of ``length`` words that appears twice (case-insensitive), if any."""
    lowered = [w.lower() for w in words(text)]
    seen: set[tuple[str, ...]] = set()
    for start in range(len(lowered) - length + 1):
        phrase = tuple(lowered[start : start + length])
        if phrase in seen:
            return " ".join(phrase)
        seen.add(phrase)
    return None


def _forms(expected: str) -> set[str]:
    """The whole-word forms that state ``expected`` ("4" -> {"4", "four"})."""
    forms = {expected.lower()}
    if expected in NUMBER_WORDS:
        forms.add(NUMBER_WORDS[expected])
    for digits, word in NUMBER_WORDS.items():
        if expected.lower() == word:
            forms.add(digits)
    return forms


def _states(sentence_words: list[str], forms: set[str]) -> bool:
    lowered = [w.lower() for w in sentence_words]
    joined = " ".join(lowered)
    return any(
        (form in lowered) if " " not in form else (f" {form} " in f" {joined} ") for form in forms
    )


def answer_problems(
    text: str,
    expected: str | Iterable[str],
    *,
    question: str = "",
    finish_reason: str | None = None,
    allowed: Iterable[str] = (),
) -> list[str]:
    """What is wrong with ``text`` as the answer ``expected`` to ``question``; [] when right.

    ``expected`` is the fact as one word or number, or several accepted spellings.
    ``allowed`` names further words the first sentence may hold (e.g. a unit).
    """
    accepted = [expected] if isinstance(expected, str) else list(expected)
    forms = set().union(*(_forms(e) for e in accepted))
    problems: list[str] = []
    if not text.strip():
        return ["the answer is empty"]
    if finish_reason is not None and finish_reason not in ("eos", "stop"):
        problems.append(f"the model did not end its answer (finish_reason={finish_reason!r})")
    sentence = first_sentence(text)
    found = words(sentence)
    if not _states(found, forms):
        problems.append(f"the first sentence {sentence!r} does not state {' or '.join(accepted)}")
    negations = [w for w in found if w.lower() in NEGATIONS or w.lower().endswith(("n't", "n’t"))]
    if negations:
        problems.append(f"the first sentence negates something ({', '.join(negations)})")
    known = {w.lower() for w in words(question)} | {f.lower() for f in allowed}
    known |= {w for form in forms for w in form.split()}
    others = []
    for index, word in enumerate(found):
        lowered = word.lower()
        if lowered in known or lowered in PLAIN_WORDS:
            continue
        if _NUMBER.match(word) or lowered in NUMBER_WORDS.values():
            others.append(word)
        elif word[0].isupper() and index > 0:
            others.append(word)
    if others:
        problems.append(
            f"the first sentence names more than the answer: {', '.join(dict.fromkeys(others))}"
        )
    phrase = repeated_phrase(text)
    if phrase:
        problems.append(f"the answer repeats the phrase {phrase!r}")
    return problems


def assert_right_answer(
    text: str,
    expected: str | Iterable[str],
    *,
    question: str = "",
    finish_reason: str | None = None,
    allowed: Iterable[str] = (),
) -> None:
    """AssertionError listing every problem :func:`answer_problems` finds."""
    problems = answer_problems(
        text, expected, question=question, finish_reason=finish_reason, allowed=allowed
    )
    assert not problems, f"{text!r}: " + "; ".join(problems)
