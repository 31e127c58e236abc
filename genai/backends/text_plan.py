"""One text call's plan: what the front end makes of its structured-output, tool and raw
parameters (genai.backends.text reads it; the engine sees only ``json_schema``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import InvalidParameterError
from .text_json import closed, schema_from
from .text_tools import ToolPlan


@dataclass
class Plan:
    """What the text front end makes of one call's structured-output and tool parameters."""

    schema: dict[str, Any] | None = None  # json_schema / response_format: the answer's schema
    tools: ToolPlan | None = None
    raw: bool = False
    from_response_format: bool = False

    @property
    def engine_schema(self) -> dict[str, Any] | None:
        """The schema the engine constrains decoding to (tool calls' or the answer's)."""
        if self.tools is not None and self.tools.active:
            return self.tools.schema
        return None if self.schema is None else closed(self.schema)

    @classmethod
    def of(cls, settings: dict[str, Any], given: dict[str, Any]) -> Plan:
        """The plan for checked ``settings`` (``given``: what the caller passed)."""
        schema = schema_from(settings["json_schema"], settings["response_format"])
        tools = ToolPlan(
            settings["tools"], settings["tool_choice"], settings["parallel_tool_calls"]
        )
        if tools.active and schema is not None:
            raise InvalidParameterError(
                "tools with response_format or json_schema is not supported; give one of them"
            )
        raw = bool(settings["raw"])
        if raw and tools.functions:
            raise InvalidParameterError("raw=True continues plain text; tools need a chat")
        if raw and given.get("system_prompt") is not None:
            raise InvalidParameterError(
                "system_prompt with raw=True: a raw completion continues the prompt as given; "
                "leave system_prompt out"
            )
        tools_or_none = tools if tools.functions else None
        return cls(schema, tools_or_none, raw, settings["response_format"] is not None)
