"""Structured output for the text front end: the schema an engine constrains to, and the answer
parsed and checked against it.

``json_schema=`` (a JSON Schema dict) or OpenAI's ``response_format`` become one schema that
the engine's grammar-constrained decoding follows (``settings["json_schema"]``); the answer is
then parsed and validated with ``jsonschema``. An answer cut short by ``max_new_tokens`` (or a
stop string) cannot be whole JSON: that is a typed error naming the limit, never a half object.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import GenaiError, InvalidParameterError, MissingDependencyError

JSON_OBJECT = {"type": "object"}


class IncompleteOutputError(InvalidParameterError):
    """A constrained answer (JSON, tool calls) cut short by max_new_tokens or a stop string."""


class StructuredOutputError(GenaiError, ValueError):
    """The engine's answer does not parse or does not validate against the schema it was given."""


def _jsonschema():
    try:
        import jsonschema
    except ImportError as error:  # a dependency of genai; only a broken install lacks it
        raise MissingDependencyError(
            "structured output needs jsonschema to validate answers: pip install jsonschema"
        ) from error
    return jsonschema


def check_schema(schema: dict[str, Any], name: str = "json_schema") -> dict[str, Any]:
    """A JSON Schema that is itself valid (its own draft's meta-schema), else a typed error."""
    jsonschema = _jsonschema()
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as error:
        where = "/".join(str(p) for p in error.absolute_path) or "its top level"
        raise InvalidParameterError(
            f"{name} is not a valid JSON Schema (at {where}: {error.message}); fix the schema"
        ) from None
    return schema


def schema_from(json_schema: Any, response_format: Any) -> dict[str, Any] | None:
    """The schema an answer must follow, from ``json_schema=`` or OpenAI's ``response_format``
    (``text`` -> None, ``json_object`` -> any object, ``json_schema`` -> its ``schema``)."""
    if json_schema is not None and response_format is not None:
        raise InvalidParameterError(
            "json_schema= and response_format= both ask for structured output; give one of them"
        )
    if json_schema is not None:
        return check_schema(json_schema)
    if response_format is None:
        return None
    if not isinstance(response_format, dict) or not isinstance(response_format.get("type"), str):
        raise InvalidParameterError(
            "response_format must be {'type': 'text' | 'json_object' | 'json_schema', ...}, "
            f"got {response_format!r:.80}"
        )
    kind = response_format["type"]
    extra = set(response_format) - {"type", "json_schema"}
    if extra:
        raise InvalidParameterError(
            f"response_format has unknown keys {sorted(extra)}; give 'type' (and 'json_schema')"
        )
    if kind == "text":
        return None
    if kind == "json_object":
        return dict(JSON_OBJECT)
    if kind != "json_schema":
        raise InvalidParameterError(
            f"response_format type={kind!r} is not known; use text, json_object or json_schema"
        )
    spec = response_format.get("json_schema")
    if not isinstance(spec, dict):
        raise InvalidParameterError(
            "response_format type='json_schema' needs json_schema={'name': ..., 'schema': {...}}"
        )
    unknown = set(spec) - {"name", "description", "schema", "strict"}
    if unknown:
        raise InvalidParameterError(
            f"response_format.json_schema has unknown keys {sorted(unknown)}; "
            "give name, description, schema and strict"
        )
    if "strict" in spec and not isinstance(spec["strict"], (bool, type(None))):
        raise InvalidParameterError("response_format.json_schema.strict must be true or false")
    schema = spec.get("schema", {})
    if not isinstance(schema, dict):
        raise InvalidParameterError(
            "response_format.json_schema.schema must be a JSON Schema object"
        )
    # strict or not, decoding is constrained by the schema: the answer always follows it.
    return check_schema(schema, "response_format.json_schema.schema")


def closed(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` for an engine to constrain to: every object that lists its properties gets
    no others unless it says so (``additionalProperties``), as OpenAI's strict mode asks.
    An answer valid for this is valid for ``schema``; without it a small model may add
    properties until max_new_tokens (seen with SmolLM2-135M on a tool's arguments)."""

    def close(node: Any) -> Any:
        if isinstance(node, list):
            return [close(item) for item in node]
        if not isinstance(node, dict):
            return node
        node = {key: close(value) for key, value in node.items()}
        if isinstance(node.get("properties"), dict) and not (
            {"additionalProperties", "patternProperties", "unevaluatedProperties"} & set(node)
        ):
            node["additionalProperties"] = False
        return node

    return close(schema)


def parse_answer(
    text: str, schema: dict[str, Any], finish_reason: str, settings: dict[str, Any]
) -> Any:
    """The answer's JSON value, valid against ``schema``; a typed error otherwise."""
    try:
        value = json.loads(text)
    except ValueError as error:
        raise _not_whole(text, finish_reason, settings, f"it is not whole JSON ({error})") from None
    problem = schema_problem(value, schema)
    if problem is not None:
        raise _not_whole(text, finish_reason, settings, problem)
    return value


def schema_problem(value: Any, schema: dict[str, Any]) -> str | None:
    """Why ``value`` is not valid against ``schema`` (one line), or None when it is."""
    jsonschema = _jsonschema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "the top level"
    return f"at {where}: {error.message}"


def _not_whole(text: str, finish_reason: str, settings: dict[str, Any], why: str) -> GenaiError:
    if finish_reason == "length":
        return IncompleteOutputError(
            f"max_new_tokens={settings['max_new_tokens']} ended the answer before its JSON was "
            f"complete ({len(text)} characters so far); raise max_new_tokens"
        )
    if finish_reason == "stop":
        return IncompleteOutputError(
            f"stop={settings['stop']!r} cut the answer before its JSON was complete; leave stop "
            "out when asking for JSON"
        )
    return StructuredOutputError(
        f"the model's answer does not follow the schema it was constrained to ({why}); this is "
        "an engine fault: report it with the schema"
    )
