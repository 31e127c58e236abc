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
        ("What is the capital of India?", "New Delhi", "The capital of India is New Delhi."),
        ("How many days are in a week?", "7", "There are 7 days in a week."),
        ("What colour is the sky on a clear day?", "blue", "The sky on a clear day is blue."),
        ("What is 2 + 2?", "4", "2 + 2 = 4."),
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
        # hedges: the fact is left open
        ("How many days are in a week?", "7", "A week is approximately 7 days.", "hedges"),
        ("What color is a ripe tomato?", "red", "It is brown with a hint of red.", "hedges"),
        (FRANCE, "Paris", "Maybe it is Paris.", "hedges"),
        (JAPAN, "Tokyo", "Kyoto was formerly the capital, Tokyo is now.", "hedges"),
        (FRANCE, "Paris", "If I had to guess, Paris.", "hedges"),
        # another candidate of the same kind, in lower case
        ("What colour is the sky?", "blue", "The sky is blue or grey.", "grey"),
        ("What colour is grass?", "green", "Grass is green, yellow and brown.", "yellow"),
        # a question is not an answer
        (FRANCE, "Paris", "Is it Paris?", "asks"),
        # the number only as a part of another one
        ("What is 2 + 2?", "4", "2 + 2 = -4.", "part of another number"),
        ("How many legs does a dog have?", "4", "A dog has 4.5 legs.", "part of another number"),
        ("How many legs does a dog have?", "4", "A dog has 4-6 legs.", "does not state"),
        ("How many legs does a dog have?", "4", "A dog has 4,000 legs.", "part of another number"),
        # the embedded SmolLM2's own wrong replies (genai.testing.answers.FACT_QUESTIONS)
        ("What is 10 - 5?", "5", "10 - 5 is 15.", "15"),
        (
            "How many hours are in a day?",
            "24",
            "A day is a day of the week, and a day is made up of hours. "
            "So, a day is made up of 24 hours.",
            "does not state",
        ),
        ("How many months are in a year?", "12", "A year is approximately 365 days.", "365"),
        ("What is the capital of Italy?", "Rome", "Il Coriobella, Italy.", "Coriobella"),
        (
            "What is the largest planet in the solar system?",
            "Jupiter",
            "The largest planet in the solar system is Neptune, but it's actually a planet.",
            "Neptune",
        ),
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


def test_replies_that_ramble_past_a_right_first_sentence_are_rejected():
    text = (
        "The opposite of hot is cold. This is a fundamental concept in science and technology, "
        "where heat is often associated with warmth and light. In a physical sense, heat is a "
        "form of energy that is transferred from one object to another. However, in a "
        "biological sense, heat is a form of"
    )
    problems = answer_problems(
        text, "cold", question="What is the opposite of hot?", finish_reason="length"
    )
    assert problems == [
        "the model did not end its answer (finish_reason='length')",
        "the answer repeats the phrase 'sense heat is'",
    ]


def test_fact_questions_have_one_expected_answer_each():
    from genai.testing.answers import FACT_QUESTIONS

    assert len(FACT_QUESTIONS) == len({q for q, _ in FACT_QUESTIONS}) >= 16
    for question, expected in FACT_QUESTIONS:
        assert question.endswith("?") and isinstance(expected, str) and expected
        # each expected answer passes the check as a plain sentence, so a failure is the model's
        assert answer_problems(f"It is {expected}.", expected, question=question) == []


def test_repeated_phrase_is_case_and_punctuation_blind():
    assert repeated_phrase("Her own future. Her own dreams... her own future!") == "her own future"
    assert repeated_phrase("a b c d e f") is None
