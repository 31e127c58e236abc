"""json_schema on the transformers engine: grammar-constrained answers that parse and validate
every time, from tiny random models that would never write JSON on their own."""

from __future__ import annotations

import json

import pytest

import genai
from genai import InvalidParameterError

jsonschema = pytest.importorskip("jsonschema")
pytest.importorskip("xgrammar")

NAME = {"type": "string", "maxLength": 12}
SCHEMAS = {
    "object-required": {
        "type": "object",
        "properties": {"name": NAME, "age": {"type": "integer", "minimum": 0, "maximum": 120}},
        "required": ["name", "age"],
    },
    "enum": {"type": "string", "enum": ["red", "green", "blue"]},
    "array-of-integers": {
        "type": "array",
        "items": {"type": "integer", "minimum": -50, "maximum": 50},
        "minItems": 1,
        "maxItems": 4,
    },
    "nested": {
        "type": "object",
        "properties": {
            "city": {
                "type": "object",
                "properties": {"name": NAME, "capital": {"type": "boolean"}},
                "required": ["name", "capital"],
            },
            "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "maxItems": 3},
        },
        "required": ["city", "tags"],
    },
    "boolean": {"type": "boolean"},
    "integer-range": {"type": "integer", "minimum": 3, "maximum": 9},
    "object-of-enums": {
        "type": "object",
        "properties": {
            "colour": {"enum": ["red", "blue"]},
            "size": {"enum": [1, 2, 3]},
            "ok": {"type": "boolean"},
        },
        "required": ["colour", "size", "ok"],
    },
    "array-of-objects": {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {"id": {"type": "integer", "minimum": 0, "maximum": 99}},
            "required": ["id"],
        },
        "maxItems": 3,
    },
    "defs": {
        "$defs": {
            "point": {
                "type": "object",
                "properties": {"x": {"type": "integer", "maximum": 9, "minimum": 0}},
                "required": ["x"],
            }
        },
        "type": "object",
        "properties": {"a": {"$ref": "#/$defs/point"}, "b": {"$ref": "#/$defs/point"}},
        "required": ["a", "b"],
    },
    "nullable": {"type": ["string", "null"], "maxLength": 5},
}


# Unbounded numbers are left out: a random model may write digits until max_new_tokens (the
# front end then raises its typed error); the grammar keeps every bounded value finite.
@pytest.fixture(scope="module", params=["tiny_llama_dir", "tiny_gpt2_dir"])
def model(request):
    return genai.load(request.getfixturevalue(request.param), device="cpu")


@pytest.mark.parametrize("name", sorted(SCHEMAS))
@pytest.mark.parametrize("parameters", [{"temperature": 0}, {"temperature": 1.0, "seed": 7}])
def test_the_answer_is_valid_json_for_the_schema(model, name, parameters):
    schema = SCHEMAS[name]
    result = model("give me some json", max_new_tokens=100, json_schema=schema, **parameters)
    assert result.finish_reason == "eos", result.text
    jsonschema.validate(json.loads(result.text), schema)


def test_any_json_value_and_the_shared_loop(tiny_llama_dir):
    gen = genai.load(tiny_llama_dir, device="cpu")
    answers = gen(["one", "two", "three"], max_new_tokens=120, json_schema=SCHEMAS["nested"])
    for result in answers:  # a list runs in the continuous-batching loop
        jsonschema.validate(json.loads(result.text), SCHEMAS["nested"])
    anything = gen("a value", max_new_tokens=120, temperature=0.8, seed=3, json_schema={})
    assert anything.finish_reason == "eos"
    json.loads(anything.text)
    stream = gen.stream("a stream", max_new_tokens=120, json_schema=SCHEMAS["enum"])
    assert json.loads("".join(stream)) in ("red", "green", "blue")


def test_a_schema_xgrammar_cannot_use_is_refused_before_work(tiny_llama_dir):
    gen = genai.load(tiny_llama_dir, device="cpu")
    with pytest.raises(InvalidParameterError, match="json_schema cannot be used"):
        gen("x", json_schema={"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}})
