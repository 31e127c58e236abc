"""The strict answer check (genai.testing.answers) rejects the wrong replies a substring
test let through, and accepts the embedded SmolLM2's right ones as it gives them."""

from __future__ import annotations

import pytest

from genai.testing.answers import answer_problems, assert_right_answer, repeated_phrase

FRANCE = "What is the capital of France?"
JAPAN = "What is the capital of Japan?"


@pytest.mark.parametrize(
    ("question", "expected", "text"),
    [
        (FRANCE, "Paris", "The capital of France is Paris."),
        (JAPAN, "Tokyo", "The capital of Japan is Tokyo."),
        ("What is the capital of Canada?", "Ottawa", "The capital of Canada is Ottawa, Canada."),
        ("What is 1 + 1?", "2", "1 + 1 = 2 in mathematics."),
        ("What is 2 + 2?", "4", "The answer to this classic math problem is 4."),
        ("How many legs does a dog have?", "4", "The answer is 4. A dog has four legs."),
        ("How many legs does a dog have?", "4", "A dog has four legs."),
        ("How many hours are in a day?", "24", "There are twenty-four hours in a day."),
        (
            "What is the capital of the United Kingdom?",
            "London",
            "The capital of the United Kingdom is London.",
        ),
    ],
)
def test_right_answers_pass(question, expected, text):
    assert answer_problems(text, expected, question=question, finish_reason="eos") == []
    assert_right_answer(text, expected, question=question, finish_reason="eos")


@pytest.mark.parametrize(
    ("question", "expected", "text", "why"),
    [
        (JAPAN, "Tokyo", "The capital of Japan is Kyoto, not Tokyo.", "negates"),
        (JAPAN, "Tokyo", "The capital of Japan is Kyoto, not Tokyo.", "Kyoto"),
        ("How many legs does a dog have?", "4", "A dog has fourteen legs.", "does not state"),
        ("How many hours are in a day?", "24", "There are 240 hours in a day.", "does not state"),
        ("How many hours are in a day?", "24", "There are 24 or 25 hours in a day.", "25"),
        (FRANCE, "Paris", "Paris is not the capital of France.", "negates"),
        (FRANCE, "Paris", "It isn't Paris.", "negates"),
        (FRANCE, "Paris", "The capital of France is Lyon. Paris is nice.", "does not state"),
        (FRANCE, "Paris", "", "empty"),
    ],
)
def test_wrong_answers_are_rejected(question, expected, text, why):
    problems = answer_problems(text, expected, question=question)
    assert any(why in p for p in problems), problems
    with pytest.raises(AssertionError):
        assert_right_answer(text, expected, question=question)


def test_the_looping_france_reply_is_rejected_three_ways():
    text = (
        "Le Grand Paris, le Grand-Bien-Étoile, la Belle Étoile, la Belle Étoile, "
        "la Belle Étoile, la Belle"
    )
    problems = answer_problems(text, "Paris", question=FRANCE, finish_reason="length")
    assert len(problems) == 3, problems
    assert "did not end" in problems[0]
    assert "Grand" in problems[1] and "Étoile" in problems[1]
    assert "la belle étoile" in problems[2]


def test_a_reply_cut_at_the_length_limit_is_not_right():
    problems = answer_problems(
        "The capital of France is Paris.", "Paris", question=FRANCE, finish_reason="length"
    )
    assert problems == ["the model did not end its answer (finish_reason='length')"]


def test_allowed_words_may_stand_beside_the_answer():
    text = "The capital of France is Paris, on the Seine."
    assert "Seine" in answer_problems(text, "Paris", question=FRANCE)[0]
    assert answer_problems(text, "Paris", question=FRANCE, allowed=["Seine"]) == []


def test_repeated_phrase_is_case_and_punctuation_blind():
    assert repeated_phrase("Her own future. Her own dreams... her own future!") == "her own future"
    assert repeated_phrase("a b c d e f") is None
