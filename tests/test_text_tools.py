"""Tools in the text front end: checks, the constrained answer format, the generic rendering
of a tool conversation, OpenAI-shaped tool calls; on llama.cpp (once its engine lists
json_schema in ``features``) a real round trip with SmolLM2."""

from __future__ import annotations

import json

import pytest

from genai.backends.text_json import IncompleteOutputError
from genai.backends.text_tools import (
    ToolPlan,
    check_message,
    render_generic,
    template_takes_tools,
)
from genai.errors import InvalidParameterError

jsonschema = pytest.importorskip("jsonschema", reason="tool answers validate with jsonschema")

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather now in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"enum": ["C", "F"]}},
            "required": ["city"],
        },
    },
}
TIME = {"type": "function", "function": {"name": "get_time", "description": "The time now"}}
SETTINGS = {"max_new_tokens": 64, "stop": [], "seed": 7}


def valid(schema, value) -> bool:
    return jsonschema.validators.validator_for(schema)(schema).is_valid(value)


def call(name, **arguments):
    return {"name": name, "arguments": arguments}


# --- the answer's schema ------------------------------------------------------------------------


def test_auto_allows_a_reply_or_calls_of_the_offered_functions_only():
    schema = ToolPlan([WEATHER, TIME], "auto", None).schema
    assert valid(schema, {"content": "Hello!"})
    assert valid(schema, {"tool_calls": [call("get_weather", city="Paris")]})
    assert valid(schema, {"tool_calls": [call("get_weather", city="Paris"), call("get_time")]})
    assert not valid(schema, {"tool_calls": [call("get_weather")]})  # city is required
    assert not valid(schema, {"tool_calls": [call("get_weather", city="Paris", unit="K")]})
    assert not valid(schema, {"tool_calls": [call("rm_rf", path="/")]})
    assert not valid(schema, {"tool_calls": [call("get_time", extra=1)]})  # takes none
    assert not valid(schema, {"tool_calls": []})
    assert not valid(schema, {"content": "hi", "tool_calls": [call("get_time")]})


def test_required_named_and_single_calls():
    required = ToolPlan([WEATHER, TIME], "required", None).schema
    assert not valid(required, {"content": "I will not call anything"})
    assert valid(required, {"tool_calls": [call("get_time")]})
    named = ToolPlan(
        [WEATHER, TIME], {"type": "function", "function": {"name": "get_time"}}, None
    ).schema
    assert valid(named, {"tool_calls": [call("get_time")]})
    assert not valid(named, {"tool_calls": [call("get_weather", city="Oslo")]})
    assert not valid(named, {"tool_calls": [call("get_time"), call("get_time")]})
    single = ToolPlan([WEATHER, TIME], "auto", False).schema
    assert not valid(single, {"tool_calls": [call("get_time"), call("get_weather", city="X")]})
    assert valid(single, {"tool_calls": [call("get_time")]})


def test_none_offers_no_tools_and_no_constraint():
    plan = ToolPlan([WEATHER], "none", None)
    assert not plan.active and plan.schema is None


def test_parameters_with_defs_keep_their_references():
    """A pydantic model's schema keeps its $defs at its root: nested, the refs must follow."""
    pydantic = pytest.importorskip("pydantic")

    class Place(pydantic.BaseModel):
        city: str

    class Trip(pydantic.BaseModel):
        start: Place
        stops: list[Place]

    tool = {
        "type": "function",
        "function": {"name": "plan", "parameters": Trip.model_json_schema()},
    }
    assert "$defs" in tool["function"]["parameters"]
    schema = ToolPlan([tool, WEATHER], "required", None).schema
    trip = {"start": {"city": "Rome"}, "stops": [{"city": "Pisa"}]}
    assert valid(schema, {"tool_calls": [call("plan", **trip)]})
    assert not valid(schema, {"tool_calls": [call("plan", start={"town": "Rome"}, stops=[])]})


# --- checks ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tools", "choice", "words"),
    [
        ("get_weather", None, "tools must be a list"),
        ([{"type": "retrieval"}], None, "type 'function'"),
        ([{"type": "function", "function": {"name": "a b"}}], None, "letters, digits"),
        ([{"type": "function", "function": {"name": "f", "parameters": "x"}}], None, "JSON Schema"),
        ([{"type": "function", "function": {"name": "f", "parameters": {"type": 3}}}], None, "not a valid JSON Schema"),
        ([WEATHER, WEATHER], None, "given twice"),
        ([WEATHER], "sometimes", "tool_choice='sometimes' is not known"),
        ([WEATHER], {"type": "function", "function": {"name": "get_time"}}, "not in tools"),
        (None, "required", "without tools"),
    ],
)  # fmt: skip
def test_bad_tools_are_refused_naming_the_problem(tools, choice, words):
    with pytest.raises(InvalidParameterError) as raised:
        ToolPlan(tools, choice, None)
    assert words in str(raised.value)


@pytest.mark.parametrize(
    ("message", "words"),
    [
        ({"role": "tool", "content": "sunny"}, "tool_call_id"),
        ({"role": "assistant", "content": None, "tool_calls": []}, "non-empty list"),
        ({"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": "{x"}}]}, "not valid JSON"),
        ({"role": "assistant", "tool_calls": [{"id": "1"}]}, "tool_calls[0] must be"),
        ({"role": "user", "content": "hi", "name": "bob"}, "give exactly 'role' and 'content'"),
    ],
)  # fmt: skip
def test_bad_tool_messages_are_refused(message, words):
    with pytest.raises(InvalidParameterError) as raised:
        check_message(2, message)
    assert words in str(raised.value) and "chat message 2" in str(raised.value)


# --- the answer -----------------------------------------------------------------------------------


def test_tool_calls_come_back_in_openai_shape_with_ids_fixed_by_the_seed():
    plan = ToolPlan([WEATHER, TIME], "auto", None)
    answer = json.dumps({"tool_calls": [call("get_weather", city="Paris"), call("get_time")]})
    text, calls = plan.finish(answer, "eos", SETTINGS)
    assert text == "" and [c["type"] for c in calls] == ["function", "function"]
    assert calls[0]["function"] == {"name": "get_weather", "arguments": '{"city": "Paris"}'}
    assert json.loads(calls[1]["function"]["arguments"]) == {}
    assert calls[0]["id"].startswith("call_") and calls[0]["id"] != calls[1]["id"]
    assert plan.finish(answer, "eos", SETTINGS)[1] == calls  # same seed, same ids
    assert plan.finish(answer, "eos", {**SETTINGS, "seed": 8})[1][0]["id"] != calls[0]["id"]


def test_the_same_call_twice_in_one_answer_is_made_once():
    plan = ToolPlan([WEATHER], "auto", None)
    twice = json.dumps({"tool_calls": [call("get_weather", city="Paris")] * 2})
    assert len(plan.finish(twice, "eos", SETTINGS)[1]) == 1


def test_a_reply_is_plain_text_and_a_cut_answer_names_max_new_tokens():
    plan = ToolPlan([WEATHER], "auto", None)
    assert plan.finish('{"content": "Hello"}', "eos", SETTINGS) == ("Hello", None)
    with pytest.raises(IncompleteOutputError, match="^max_new_tokens=64 "):
        plan.finish('{"tool_calls": [{"name": "get_wea', "length", SETTINGS)


# --- the conversation for a template without tools ------------------------------------------------


def test_a_tool_conversation_becomes_plain_turns_with_the_tools_described():
    history = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
                {"id": "c2", "type": "function", "function": {"name": "get_time", "arguments": "{}"}},
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "Sunny, 24 C"},
        {"role": "tool", "tool_call_id": "c2", "content": "14:00"},
    ]  # fmt: skip
    rendered = render_generic(history, ToolPlan([WEATHER, TIME], "auto", None))
    assert [m["role"] for m in rendered] == ["system", "user", "assistant", "user"]
    assert set(rendered[0]) == {"role", "content"}
    assert rendered[0]["content"].startswith("Be brief.\n\nYou can call these functions")
    assert '"get_weather"' in rendered[0]["content"] and '"tool_calls"' in rendered[0]["content"]
    assert rendered[2]["content"] == 'I call get_weather({"city": "Paris"}) and get_time({}).'
    assert rendered[3]["content"] == (
        'get_weather({"city": "Paris"}) returned: Sunny, 24 C\n\nget_time({}) returned: 14:00'
        "\nAnswer my question with this result."
    )
    plain = render_generic(history, ToolPlan(None, None, None))  # no tools offered now
    assert "You can call" not in plain[0]["content"]


def test_templates_that_render_tools_are_recognised():
    assert template_takes_tools("{% if tools %}{{ tools | tojson }}{% endif %}")
    assert template_takes_tools("{%- for tool in tools %}")
    assert not template_takes_tools(
        "{% for message in messages %}{{ message.content }}{% endfor %}"
    )
    assert not template_takes_tools(None)


# --- through a generator --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_chat(tiny_llama_dir):
    import genai

    return genai.load(tiny_llama_dir, device="cpu")


def test_tool_history_reaches_an_engine_as_role_and_content_only(tiny_chat):
    history = [
        {"role": "user", "content": "weather in paris"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "paris"}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "snow"},
    ]  # fmt: skip
    result = tiny_chat(history, tools=[WEATHER], tool_choice="none", max_new_tokens=3)
    assert result.tool_calls is None and result.finish_reason in ("length", "eos")
    plan = ToolPlan([WEATHER], "none", None)
    request = tiny_chat._request(history, None, _plan_with(plan))
    assert all(set(m) == {"role", "content"} for m in request.messages)
    assert request.messages[-1]["content"].startswith(
        'get_weather({"city": "paris"}) returned: snow'
    )
    assert tiny_chat.count_tokens(history) > tiny_chat.count_tokens("weather in paris")


def _plan_with(tools):
    from genai.backends.text_plan import Plan

    return Plan(tools=tools)


def test_tools_on_a_raw_prompt_are_refused(tiny_chat):
    """A raw prompt has no template to carry the tools: refused before any work."""
    with pytest.raises(InvalidParameterError, match="raw=True"):
        tiny_chat("weather", tools=[WEATHER], tool_choice="none", raw=True)


# --- a real round trip on llama.cpp ---------------------------------------------------------------


@pytest.fixture
def constrained(smollm2_gguf):
    if "json_schema" not in smollm2_gguf.features:
        pytest.skip("the llama.cpp engine does not constrain to a JSON Schema yet (H3's work)")
    return smollm2_gguf


@pytest.mark.real_weights
def test_a_tool_round_trip_with_smollm2(constrained):
    question = [{"role": "user", "content": "What is the weather in Paris?"}]
    asked = constrained(question, tools=[WEATHER], tool_choice="required", temperature=0)
    assert asked.finish_reason == "tool_calls" and asked.text == ""
    first = asked.tool_calls[0]
    assert first["function"]["name"] == "get_weather"
    assert json.loads(first["function"]["arguments"])["city"] == "Paris"
    history = [
        *question,
        {"role": "assistant", "content": None, "tool_calls": [first]},
        {"role": "tool", "tool_call_id": first["id"], "content": "Sunny, 24 C"},
    ]
    final = constrained(history, tools=[WEATHER], temperature=0, max_new_tokens=80)
    assert final.tool_calls is None and final.finish_reason == "eos"
    assert "sunny" in final.text.lower() or "24" in final.text, final.text


@pytest.mark.real_weights
def test_streamed_tool_calls_arrive_in_the_result(constrained):
    stream = constrained.stream(
        "What is the weather in Paris?", tools=[WEATHER], tool_choice="required", temperature=0
    )
    assert list(stream) == []  # no reply text: the model called a function
    assert stream.result.tool_calls[0]["function"]["name"] == "get_weather"


def test_an_engine_that_renders_tools_gets_them_with_the_request(tiny_chat, monkeypatch):
    """Engines set template_tools when the model's template renders tools: the request then
    carries OpenAI's tools list, the messages only how to answer (not the functions again)."""
    from genai.backends.text_plan import Plan

    monkeypatch.setattr(tiny_chat, "template_tools", True)
    question = [{"role": "user", "content": "weather in paris"}]
    request = tiny_chat._request(question, None, Plan(tools=ToolPlan([WEATHER], "auto", None)))
    assert request.tools == [WEATHER]
    assert (
        request.messages[0]["role"] == "system" and '"tool_calls"' in request.messages[0]["content"]
    )
    assert "The weather now in a city" not in request.messages[0]["content"]
    assert request.messages[1:] == question
    plain = tiny_chat._request(question, None, Plan(tools=ToolPlan([WEATHER], "none", None)))
    assert plain.tools is None and plain.messages == question
