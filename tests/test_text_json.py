"""Structured output in the text front end: schemas from json_schema / response_format, answers
parsed and validated with jsonschema, cut answers as typed errors naming the limit; on
llama.cpp (once its engine lists json_schema in ``features``) real constrained answers."""

from __future__ import annotations

import pytest

from genai.backends.text_json import (
    IncompleteOutputError,
    StructuredOutputError,
    parse_answer,
    schema_from,
)
from genai.errors import InvalidParameterError

pytest.importorskip("jsonschema", reason="structured output validates with jsonschema")

PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
    "required": ["name", "age"],
    "additionalProperties": False,
}
SETTINGS = {"max_new_tokens": 32, "stop": ["\n\n"]}


def test_response_format_becomes_the_schema_the_engine_follows():
    assert schema_from(None, None) is None
    assert schema_from(None, {"type": "text"}) is None
    assert schema_from(None, {"type": "json_object"}) == {"type": "object"}
    given = {"type": "json_schema", "json_schema": {"name": "p", "schema": PERSON, "strict": True}}
    assert schema_from(None, given) == PERSON
    assert schema_from(PERSON, None) == PERSON
    assert schema_from({}, None) == {}  # any JSON value


@pytest.mark.parametrize(
    ("json_schema", "response_format", "words"),
    [
        (PERSON, {"type": "json_object"}, "give one of them"),
        (None, {"type": "xml"}, "text, json_object or json_schema"),
        (None, {"type": "json_schema"}, "needs json_schema"),
        (None, {"type": "json_schema", "json_schema": {"schema": [], "name": "x"}}, "JSON Schema"),
        (None, {"type": "json_schema", "json_schema": {"name": "x", "scheme": {}}}, "scheme"),
        (None, {"type": "json_schema", "json_schema": {"name": "x", "strict": "yes"}}, "strict"),
        (None, "json", "response_format must be"),
        ({"type": "objekt"}, None, "not a valid JSON Schema"),
        ({"type": "object", "required": "name"}, None, "not a valid JSON Schema"),
    ],
)
def test_bad_schemas_are_refused_naming_the_problem(json_schema, response_format, words):
    with pytest.raises(InvalidParameterError) as raised:
        schema_from(json_schema, response_format)
    assert words in str(raised.value)


def test_a_valid_answer_is_parsed():
    assert parse_answer('{"name": "Ada", "age": 36}', PERSON, "eos", SETTINGS) == {
        "name": "Ada",
        "age": 36,
    }
    assert parse_answer(" [1, 2] ", {}, "eos", SETTINGS) == [1, 2]


def test_an_answer_cut_by_max_new_tokens_names_the_limit():
    with pytest.raises(IncompleteOutputError) as raised:
        parse_answer('{"name": "Ada", "a', PERSON, "length", SETTINGS)
    assert str(raised.value).startswith("max_new_tokens=32 ")
    assert isinstance(raised.value, InvalidParameterError)
    # Whole and valid at the limit: no error.
    assert parse_answer('{"name": "A", "age": 1}', PERSON, "length", SETTINGS)["age"] == 1


def test_an_answer_cut_by_a_stop_string_names_stop():
    with pytest.raises(IncompleteOutputError) as raised:
        parse_answer('{"name": ', PERSON, "stop", SETTINGS)
    assert str(raised.value).startswith("stop=")


@pytest.mark.parametrize(
    ("text", "where"),
    [('{"name": "Ada"}', "'age' is a required property"), ('{"name": 1, "age": 2}', "at name")],
)
def test_an_answer_against_the_schema_is_an_engine_fault(text, where):
    with pytest.raises(StructuredOutputError) as raised:
        parse_answer(text, PERSON, "eos", SETTINGS)
    assert where in str(raised.value)


# --- through a generator -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_chat(tiny_llama_dir):
    import genai

    return genai.load(tiny_llama_dir, device="cpu")


def test_response_format_text_is_plain_text(tiny_chat):
    """{"type": "text"} is the default made explicit: nothing constrained, nothing parsed.
    (Constrained answers on each engine: test_text_transformers_json.py, test_llamacpp_*.py.)"""
    answer = tiny_chat("hello", response_format={"type": "text"}, max_new_tokens=2)
    assert answer.parsed is None and answer.parameters["response_format"] == {"type": "text"}


def test_bad_structured_parameters_are_refused_before_the_engine(tiny_chat):
    with pytest.raises(InvalidParameterError, match="not a valid JSON Schema"):
        tiny_chat("hello", json_schema={"type": 5})
    with pytest.raises(InvalidParameterError, match="give one of them"):
        tiny_chat("hello", json_schema={}, response_format={"type": "json_object"})


# --- constrained decoding on llama.cpp (real SmolLM2) --------------------------------------------

SCHEMAS = [
    ("The capital of France, as JSON.", {"type": "object", "properties": {"capital": {"type": "string"}}, "required": ["capital"]}),
    ("Three colours.", {"type": "array", "items": {"type": "string"}, "minItems": 3, "maxItems": 3}),
    ("A person called Ada, aged 36.", PERSON),
    ("Is the sky blue?", {"type": "object", "properties": {"answer": {"enum": ["yes", "no"]}}, "required": ["answer"]}),
    ("A number between 1 and 10.", {"type": "integer", "minimum": 1, "maximum": 10}),
    ("A city and its country.", {"type": "object", "properties": {"city": {"type": "string"}, "country": {"type": "string"}}, "required": ["city", "country"], "additionalProperties": False}),
    ("2 + 2 as JSON.", {}),  # any JSON value
    ("A list of two people.", {"type": "array", "items": PERSON, "minItems": 2, "maxItems": 2}),
]  # fmt: skip


@pytest.fixture
def constrained(smollm2_gguf):
    if "json_schema" not in smollm2_gguf.features:
        pytest.skip("the llama.cpp engine does not constrain to a JSON Schema yet (H3's work)")
    return smollm2_gguf


@pytest.mark.real_weights
def test_constrained_answers_parse_and_validate_every_time(constrained):
    """Greedy, every answer is whole and valid; sampled, an answer is valid or, when the model
    rambles inside an open-ended value until max_new_tokens, the typed error naming it."""
    import jsonschema

    cut = 0
    for seed, (prompt, schema) in enumerate(SCHEMAS):
        for temperature in (0.0, 1.0):
            try:
                result = constrained(
                    prompt,
                    json_schema=schema,
                    max_new_tokens=200,
                    temperature=temperature,
                    seed=seed,
                )
            except IncompleteOutputError:
                assert temperature > 0, (prompt, schema)
                cut += 1
                continue
            jsonschema.validate(result.parsed, schema)
            assert result.finish_reason == "eos", result.text
    assert cut <= 2, f"{cut} of {len(SCHEMAS)} sampled answers ran past max_new_tokens"


@pytest.mark.real_weights
def test_a_constrained_answer_cut_short_raises_naming_max_new_tokens(constrained):
    with pytest.raises(IncompleteOutputError, match=r"^max_new_tokens=4 "):
        constrained("A person called Ada, aged 36.", json_schema=PERSON, max_new_tokens=4)


@pytest.mark.real_weights
def test_a_streamed_constrained_answer_is_the_json_text(constrained):
    stream = constrained.stream(
        "A person called Ada, aged 36.",
        response_format={"type": "json_schema", "json_schema": {"name": "p", "schema": PERSON}},
        max_new_tokens=100,
        temperature=0,
    )
    text = "".join(stream)
    import json

    assert json.loads(text) == stream.result.parsed and stream.result.text == text


def test_the_engine_gets_objects_closed_to_the_properties_they_list():
    from genai.backends.text_json import closed

    open_person = {k: v for k, v in PERSON.items() if k != "additionalProperties"}
    nested = {"type": "array", "items": open_person}
    assert closed(nested)["items"]["additionalProperties"] is False
    assert "additionalProperties" not in nested["items"]  # the caller's schema is left as given
    assert closed({"type": "object"}) == {"type": "object"}  # no properties listed: any object
    kept = {"type": "object", "properties": {"a": {}}, "additionalProperties": {"type": "string"}}
    assert closed(kept) == kept
    import jsonschema

    answer = {"name": "Ada", "age": 36}
    jsonschema.validate(answer, closed(open_person))  # what is valid closed is valid as given
    jsonschema.validate(answer, open_person)
