"""Tools (function calling) for the text front end, on any chat model.

OpenAI's ``tools`` / ``tool_choice`` / ``parallel_tool_calls`` and the history that goes with
them (assistant messages carrying ``tool_calls``, ``role: "tool"`` results) are checked here.
A model whose chat template renders tools gets them through its template, when its engine
passes ``request.tools`` on (``TextGenerator.template_tools``); any other model gets a generic
format: a system message describing the functions, and the history written as plain turns.
Either way the answer is constrained by a JSON Schema (the engine's ``json_schema``) to one of

    {"content": "<a reply to the user>"}
    {"tool_calls": [{"name": "<function>", "arguments": {...valid for its parameters...}}]}

so even a tiny model calls only the functions offered, with arguments that validate. The
answer becomes ``TextResult.tool_calls`` (OpenAI's shape) or plain text.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidParameterError
from ..params import check_text
from .text_json import check_schema, closed, parse_answer

MAX_TOOLS = 64
# Calls in one answer: without a cap a small model may repeat a call until max_new_tokens
# (seen: SmolLM2-135M calling a function without arguments over and over).
MAX_PARALLEL_CALLS = 4
FUNCTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # OpenAI's rule for function names
CHOICES = ("auto", "none", "required")
NO_ARGUMENTS = {"type": "object", "properties": {}, "additionalProperties": False}
_TEMPLATE_USES_TOOLS = re.compile(r"{[{%][^}]*\btools\b")


def template_takes_tools(template: str | None) -> bool:
    """Whether a chat template (Jinja text) renders a ``tools`` list: engines use this to
    decide ``template_tools``."""
    return bool(template) and bool(_TEMPLATE_USES_TOOLS.search(template))


# --- checking what the caller gave -------------------------------------------------------------


@dataclass(frozen=True)
class Function:
    name: str
    description: str
    parameters: dict[str, Any]

    def as_tool(self) -> dict[str, Any]:
        function = {"name": self.name, "description": self.description}
        return {"type": "function", "function": {**function, "parameters": self.parameters}}


def check_tools(tools: Any) -> list[Function]:
    """OpenAI's tools list: ``[{"type": "function", "function": {"name", "description",
    "parameters", "strict"}}]``, every parameters schema valid, names unique."""
    if not isinstance(tools, list):
        raise InvalidParameterError(
            "tools must be a list of {'type': 'function', 'function': {'name': ..., "
            f"'parameters': {{...}}}}}}; got {type(tools).__name__}"
        )
    if len(tools) > MAX_TOOLS:
        raise InvalidParameterError(f"tools has {len(tools)} functions; give at most {MAX_TOOLS}")
    functions: list[Function] = []
    for index, tool in enumerate(tools):
        where = f"tools[{index}]"
        if not isinstance(tool, dict) or tool.get("type") != "function":
            raise InvalidParameterError(f"{where} must have type 'function' (the only tool type)")
        if set(tool) - {"type", "function"}:
            raise InvalidParameterError(
                f"{where} has unknown keys {sorted(set(tool) - {'type', 'function'})}"
            )
        spec = tool.get("function")
        if not isinstance(spec, dict):
            raise InvalidParameterError(f"{where}.function must be an object with a name")
        unknown = set(spec) - {"name", "description", "parameters", "strict"}
        if unknown:
            raise InvalidParameterError(f"{where}.function has unknown keys {sorted(unknown)}")
        name = spec.get("name")
        if not isinstance(name, str) or not FUNCTION_NAME.match(name):
            raise InvalidParameterError(
                f"{where}.function.name={name!r} must be 1-64 letters, digits, _ or -"
            )
        if any(f.name == name for f in functions):
            raise InvalidParameterError(f"{where}: a function named {name!r} is given twice")
        description = spec.get("description") or ""
        check_text(description, f"{where}.function.description")
        parameters = spec.get("parameters")
        if parameters is None:
            parameters = NO_ARGUMENTS
        elif not isinstance(parameters, dict):
            raise InvalidParameterError(f"{where}.function.parameters must be a JSON Schema object")
        check_schema(parameters, f"{where}.function.parameters")
        functions.append(Function(name, description, parameters))
    return functions


def check_tool_choice(choice: Any, functions: list[Function]) -> str:
    """auto, none, required, or a function's name (from ``{"type": "function", "function":
    {"name": ...}}``)."""
    if choice is None:
        return "auto"
    if isinstance(choice, str):
        if choice not in CHOICES:
            raise InvalidParameterError(
                f"tool_choice={choice!r} is not known; use auto, none, required or "
                "{'type': 'function', 'function': {'name': ...}}"
            )
        return choice
    name = None
    if isinstance(choice, dict) and choice.get("type") == "function":
        name = (choice.get("function") or {}).get("name")
    if not isinstance(name, str):
        raise InvalidParameterError(
            "tool_choice must be auto, none, required or {'type': 'function', 'function': "
            "{'name': ...}}"
        )
    if not any(f.name == name for f in functions):
        offered = ", ".join(f.name for f in functions) or "none"
        raise InvalidParameterError(
            f"tool_choice names function {name!r}, which is not in tools ({offered})"
        )
    return name


def check_message(index: int, message: dict[str, Any]) -> None:
    """A chat message that is not plain role/content: an assistant's tool calls or a tool's
    result (role/content messages are the front end's own check)."""
    where = f"chat message {index}"
    if message.get("role") == "tool":
        if (
            set(message) - {"role", "content", "tool_call_id", "name"}
            or "tool_call_id" not in message
        ):
            raise InvalidParameterError(
                f"{where} (role 'tool') has keys {sorted(message)}; give role, tool_call_id "
                "and content"
            )
        check_text(message["tool_call_id"], f"{where}'s tool_call_id")
        check_text(message.get("content"), f"{where}'s content")
        return
    if message.get("role") != "assistant" or "tool_calls" not in message:
        raise InvalidParameterError(
            f"{where} has keys {sorted(message)}; give exactly 'role' and 'content' (an "
            "assistant may add 'tool_calls', a 'tool' message 'tool_call_id')"
        )
    if set(message) - {"role", "content", "tool_calls"}:
        raise InvalidParameterError(
            f"{where} has unknown keys {sorted(set(message) - {'role', 'content', 'tool_calls'})}"
        )
    if message.get("content") is not None:
        check_text(message["content"], f"{where}'s content")
    calls = message["tool_calls"]
    if not isinstance(calls, list) or not calls:
        raise InvalidParameterError(f"{where}'s tool_calls must be a non-empty list")
    for number, call in enumerate(calls):
        function = call.get("function") if isinstance(call, dict) else None
        if (
            not isinstance(function, dict)
            or not isinstance(function.get("name"), str)
            or not isinstance(call.get("id", ""), str)
        ):
            raise InvalidParameterError(
                f"{where}'s tool_calls[{number}] must be {{'id': ..., 'type': 'function', "
                "'function': {'name': ..., 'arguments': '<JSON>'}}"
            )
        _arguments(function.get("arguments"), f"{where}'s tool_calls[{number}]")


def _arguments(arguments: Any, where: str) -> Any:
    """A call's arguments: OpenAI sends them as a JSON string; a dict is taken as it is."""
    if isinstance(arguments, dict):
        return arguments
    if not isinstance(arguments, str):
        raise InvalidParameterError(f"{where}'s arguments must be a JSON string")
    try:
        return json.loads(arguments or "{}")
    except ValueError:
        raise InvalidParameterError(f"{where}'s arguments are not valid JSON") from None


# --- the plan for one call -----------------------------------------------------------------------


class ToolPlan:
    """What a call with tools asks of the model: the schema, the prompt's additions, the parse."""

    def __init__(self, tools: Any, tool_choice: Any, parallel: bool | None):
        self.functions = check_tools(tools) if tools else []
        if tool_choice is not None and not self.functions:
            raise InvalidParameterError(
                f"tool_choice={tool_choice!r:.60} is given without tools; give tools too"
            )
        self.choice = check_tool_choice(tool_choice, self.functions)
        self.parallel = parallel is not False
        # Offered: the model may (or must) call them. tool_choice "none" offers none.
        self.active = bool(self.functions) and self.choice != "none"
        self.schema = self._schema() if self.active else None

    def _schema(self) -> dict[str, Any]:
        named = self.choice not in CHOICES
        callable_ = [f for f in self.functions if not named or f.name == self.choice]
        defs: dict[str, Any] = {}
        calls = []
        for index, function in enumerate(callable_):
            arguments, found = _hoist_defs(closed(function.parameters), f"f{index}_")
            defs.update(found)
            calls.append({
                "type": "object",
                "properties": {"name": {"const": function.name}, "arguments": arguments},
                "required": ["name", "arguments"],
                "additionalProperties": False,
            })  # fmt: skip
        items = calls[0] if len(calls) == 1 else {"anyOf": calls}
        single = not self.parallel or named
        array: dict[str, Any] = {"type": "array", "items": items, "minItems": 1}
        array["maxItems"] = 1 if single else MAX_PARALLEL_CALLS
        tool_answer = _object("tool_calls", array)
        schema: dict[str, Any] = (
            tool_answer
            if self.choice != "auto"
            else {"anyOf": [_object("content", {"type": "string"}), tool_answer]}
        )
        if defs:
            schema = {**schema, "$defs": defs}
        return schema

    def system_text(self, *, listing: bool = True) -> str:
        """How to answer, and (``listing``: for a template that does not render tools) the
        functions described."""
        listed = [
            {"name": f.name, "description": f.description, "parameters": f.parameters}
            for f in self.functions
        ]
        lines = []
        if listing:
            lines += [
                "You can call these functions; each takes JSON arguments that follow its JSON "
                "Schema:",
                json.dumps(listed, ensure_ascii=False),
            ]
        call = '{"tool_calls": [{"name": "<function name>", "arguments": {...}}]}'
        if self.choice == "auto":
            lines.append(
                f"Answer with one JSON object. To call functions: {call}. To answer the user "
                'directly: {"content": "<your answer>"}. Call a function when you need its '
                "result; once you have the results you need, answer the user."
            )
        elif self.choice == "required":
            lines.append(f"Call one or more of the functions now, answering with {call}.")
        else:
            lines.append(f"Call the function {self.choice} now, answering with {call}.")
        if not self.parallel:
            lines.append("Call one function at a time.")
        return "\n".join(lines)

    def finish(
        self, text: str, finish_reason: str, settings: dict[str, Any]
    ) -> tuple[str, list[dict[str, Any]] | None]:
        """(the reply's text, its tool calls in OpenAI's shape or None) from the raw answer."""
        value = parse_answer(text, self.schema, finish_reason, settings)
        if "tool_calls" not in value:
            return value["content"], None
        calls: list[dict[str, Any]] = []
        for index, call in enumerate(value["tool_calls"]):
            arguments = json.dumps(call["arguments"], ensure_ascii=False)
            if any(c["function"] == {"name": call["name"], "arguments": arguments} for c in calls):
                continue  # the same call twice in one answer: once is enough
            seen = f"{settings.get('seed')}:{index}:{call['name']}:{arguments}".encode()
            calls.append({
                "id": "call_" + hashlib.sha256(seen).hexdigest()[:24],
                "type": "function",
                "function": {"name": call["name"], "arguments": arguments},
            })  # fmt: skip
        return "", calls


def _object(key: str, value: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {key: value},
        "required": [key],
        "additionalProperties": False,
    }


def _hoist_defs(schema: dict[str, Any], prefix: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A parameters schema to nest inside the answer's schema: its ``$defs`` (or
    ``definitions``) move to the root under prefixed names and its ``$ref``s follow them."""
    schema = copy.deepcopy(schema)
    defs = {**schema.pop("definitions", {}), **schema.pop("$defs", {})}
    schema.pop("$schema", None)
    root = f"#/$defs/{prefix}root"
    uses_root = False

    def rewrite(node: Any) -> Any:
        nonlocal uses_root
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                for start in ("#/$defs/", "#/definitions/"):
                    if ref.startswith(start):
                        node = {**node, "$ref": f"#/$defs/{prefix}{ref[len(start) :]}"}
                if ref == "#":
                    uses_root = True
                    node = {**node, "$ref": root}
            return {key: rewrite(value) for key, value in node.items()}
        if isinstance(node, list):
            return [rewrite(item) for item in node]
        return node

    schema = rewrite(schema)
    hoisted = {prefix + name: rewrite(value) for name, value in defs.items()}
    if uses_root:
        hoisted[prefix + "root"] = schema
    return schema, hoisted


# --- the conversation for a model without tools in its template --------------------------------


def has_tool_turns(messages: list[dict[str, Any]]) -> bool:
    return any(m.get("role") == "tool" or m.get("tool_calls") for m in messages)


def render_generic(messages: list[dict[str, Any]], plan: ToolPlan) -> list[dict[str, Any]]:
    """Role/content messages only: tools described in the system message, an assistant's
    calls told in words (``I call f({...}).``), a tool's result as a user turn
    (``f({...}) returned: ...``). Measured on SmolLM2-135M: with the calls written as the JSON
    answer format instead, the model repeats the call rather than answering with its result."""
    calls_by_id: dict[str, str] = {}
    rendered: list[dict[str, str]] = []
    for message in messages:
        role = message["role"]
        if role == "assistant" and message.get("tool_calls"):
            said = []
            for call in message["tool_calls"]:
                function = call["function"]
                arguments = _arguments(function.get("arguments"), "a tool call")
                written = f"{function['name']}({json.dumps(arguments, ensure_ascii=False)})"
                calls_by_id[call.get("id", "")] = written
                said.append(written)
            content = (message.get("content") or "").strip()
            content = (content + "\n" if content else "") + f"I call {' and '.join(said)}."
            rendered.append({"role": "assistant", "content": content})
        elif role == "tool":
            call = calls_by_id.get(message["tool_call_id"], message.get("name") or "a function")
            rendered.append({"role": "user", "content": f"{call} returned: {message['content']}"})
        else:
            rendered.append({"role": role, "content": message.get("content") or ""})
    if messages and messages[-1]["role"] == "tool":
        # Measured on SmolLM2-135M: without this line it calls the function again more often.
        rendered[-1]["content"] += "\nAnswer my question with this result."
    if plan.active:
        rendered = with_system(rendered, plan.system_text())
    merged: list[dict[str, str]] = []
    for message in rendered:  # strict templates want user and assistant turns to alternate
        if merged and message["role"] == "user" and merged[-1]["role"] == "user":
            joined = merged[-1]["content"] + "\n\n" + message["content"]
            merged[-1] = {"role": "user", "content": joined}
        else:
            merged.append(message)
    return merged


def with_system(messages: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """``text`` added to the conversation's system message (one is put first if it has none)."""
    if messages and messages[0]["role"] == "system":
        first = {**messages[0], "content": (messages[0].get("content") or "") + "\n\n" + text}
        return [first, *messages[1:]]
    return [{"role": "system", "content": text}, *messages]
