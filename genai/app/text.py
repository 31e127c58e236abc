"""The Text tab: a chat that streams its reply, with Stop, Clear and a context that stays in bounds."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import gradio as gr

from ..generator import Generator
from ..params import Param
from ..specs.text import TEXT_SPEC
from .callbacks import (
    PageStops,
    as_seed,
    checked,
    number,
    pieces_of,
    require_text,
    shown_in_page,
    with_cancel,
)
from .fitting import bounds, examples_for
from .models import catalog_defaults
from .studio import Tab
from .widgets import PRIVATE, Picker, control, model_picker, seed_box, stop_button

# The page's controls; the model's own spec and context bound them (genai.app.fitting).
MAX_NEW_TOKENS = Param("max_new_tokens", int, 128, low=1, high=1_000_000)
TEMPERATURE = Param(
    "temperature", float, 0.7, "0: greedy (the same answer every time)", low=0.0, high=2.0
)
TOP_P = Param("top_p", float, 0.95, low=0.05, high=1.0)
JSON_INFO = (
    "decoding constrained to JSON that parses: any object, or the JSON Schema below when given"
)
SCHEMA_EXAMPLE = (
    '{"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}'
)
SYSTEM_PROMPT_INFO = (
    "empty: the model's own default (its chat template's), or none; a model without a chat "
    "template (a base model) continues your message as typed and does not read it"
)


def plain_history(history: list[dict[str, Any]] | None) -> list[dict[str, str]]:
    """Chatbot messages (content as text blocks) as plain {'role', 'content'} dicts of text."""
    messages = []
    for message in history or []:
        content = message.get("content")
        if isinstance(content, list):
            text = "".join(
                part.get("text", "")
                for part in content
                if isinstance(part, dict) and part.get("type") == "text"
            )
        elif isinstance(content, str):
            text = content
        else:
            continue
        text = text.replace("\x00", "")  # a model's own reply may hold NULs, refused as input
        if message.get("role") in ("user", "assistant", "system") and text:
            messages.append({"role": message["role"], "content": text})
    return messages


def structured(json_output: Any, schema_text: Any) -> dict[str, Any]:
    """The JSON toggle and schema box as generation settings ({} when off); a schema that is
    not JSON is said in the page. (Whether it is a valid JSON Schema, the generator checks.)"""
    if not json_output:
        return {}
    if schema_text is not None and not isinstance(schema_text, str):
        require_text(schema_text, "The JSON Schema")
    text = (schema_text or "").strip()
    if not text:
        return {"response_format": {"type": "json_object"}}
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as error:
        raise gr.Error(
            f"The JSON Schema is not JSON ({error.msg} at line {error.lineno}, column "
            f"{error.colno}); fix it, or empty the box for any JSON object.",
            print_exception=False,
        ) from None
    return {"json_schema": schema}


def fit_conversation(
    generator: Generator,
    messages: list[dict[str, str]],
    *,
    max_new_tokens: int,
    system_prompt: str | None = None,
) -> list[dict[str, str]]:
    """The latest turns of a chat that fit a text model's context with room for the reply.

    The oldest user/assistant pairs go first; the last message always stays (if it alone is
    too long, generation refuses it with its own message).
    """
    limit = getattr(generator, "context_length", None)
    if not limit or getattr(generator, "is_seq2seq", False):
        return list(messages)
    kept = list(messages)
    while len(kept) > 1:
        if generator.count_tokens(kept, system_prompt) + max_new_tokens <= limit:
            break
        kept = kept[2:] if len(kept) > 2 else kept[1:]
    return kept


class TextTab(Tab):
    """A chat with a text model."""

    def __init__(self, studio) -> None:
        super().__init__(studio)
        self.stops = PageStops()  # the Stop button: the session's running reply stops

    async def chat(
        self,
        message: str,
        history: list[dict[str, Any]] | None,
        model: str,
        system_prompt: str,
        max_new_tokens: float,
        temperature: float,
        top_p: float,
        seed: Any,
        json_output: bool = False,
        json_schema: str = "",
        progress=gr.Progress(),  # noqa: B008
        request: gr.Request | None = None,
    ) -> AsyncIterator[tuple[list[dict[str, str]], str, str]]:
        """Stream the reply to ``message`` after ``history``; yields (chat, input box, stats)."""
        with shown_in_page():
            message = require_text(message, "The message")
            if system_prompt is not None and not isinstance(system_prompt, str):
                require_text(system_prompt, "The system prompt")
            settings = checked(
                TEXT_SPEC,
                max_new_tokens=number(max_new_tokens, "max_new_tokens"),
                temperature=number(temperature, "temperature"),
                top_p=number(top_p, "top_p"),
                seed=as_seed(seed),
                system_prompt=(system_prompt or "").strip() or None,
                **structured(json_output, json_schema),
            )
        turns = [*plain_history(history), {"role": "user", "content": message}]
        kept: dict[str, Any] = {}

        def work(generator: Generator, put, cancel) -> Any:
            if getattr(generator, "has_chat_template", True) is False:
                # A model without a chat template continues (or answers) the text as
                # typed, not a "User: ... Assistant:" transcript of the chat.
                kept["context"], prompt = turns, message
            else:
                # A long chat keeps its latest turns within the model's context.
                room = settings.get("max_new_tokens") or generator.settings({})["max_new_tokens"]
                kept["context"] = prompt = fit_conversation(
                    generator,
                    turns,
                    max_new_tokens=room,
                    system_prompt=settings.get("system_prompt"),
                )
            stream = generator.stream(prompt, **with_cancel(generator, cancel, settings))
            try:
                for piece in stream:
                    put(piece)
            except BaseException:
                stream.close()  # Stop: the model stops at its next token
                raise
            kept["engine"] = generator.engine
            return stream.result

        def run(put, cancel) -> Any:
            with self.stops.running(getattr(request, "session_hash", None), cancel) as reply:
                kept["reply"] = reply
                return self.studio.call(
                    "text", model, lambda g: work(g, put, cancel), cancel=cancel, progress=progress
                )

        def stopped() -> bool:
            return kept.get("reply") is not None and kept["reply"].stopped

        shown = [*turns, {"role": "assistant", "content": ""}]
        yield shown, "", "generating…"
        result = None
        try:
            async for kind, item in pieces_of(run):
                if kind == "piece":
                    shown[-1]["content"] += item
                    yield shown, "", "generating…"
                else:
                    result = item
        except Exception:
            if not stopped():
                raise
        if stopped():  # Stop: the reply so far stays
            done = f" after {result.completion_tokens} tokens" if result is not None else ""
            yield shown, "", f"stopped{done}"
            return
        speed = f", {result.tokens_per_second:.1f} tokens/s" if result.tokens_per_second else ""
        dropped = len(turns) - len(kept["context"])
        note = f" · the {dropped} oldest messages left out to fit the context" if dropped else ""
        if result.parsed is not None:
            note += " · JSON checked" + (
                " against the schema" if (json_schema or "").strip() else ""
            )
        stats = (
            f"{result.completion_tokens} tokens{speed} · ended on {result.finish_reason} · "
            f"seed {result.seed} · {result.model} · {result.engine or kept['engine']}{note}"
        )
        yield shown, "", stats

    def stop(self, request: gr.Request) -> None:
        """Stop: the reply this browser session is streaming ends at its next token."""
        self.stops.stop(request.session_hash)

    def settings(self, name: str) -> tuple[Any, ...]:
        """Another model: its own defaults and limits, and examples that suit it."""
        if not self.studio.knows("text", name):
            return (gr.skip(),) * 4
        found = catalog_defaults(name)
        controls = []
        for param, page_low, page_high in (
            (MAX_NEW_TOKENS, 1, MAX_NEW_TOKENS.high),
            (TEMPERATURE, 0.0, 2.0),
            (TOP_P, 0.05, 1.0),
        ):
            low, high = bounds("text", name, param.name, page_low, page_high)
            value = found.get(param.name, param.default)
            controls.append(gr.update(value=min(value, high), minimum=low, maximum=high))
        samples = [[example] for example in examples_for("text", name)]
        return (*controls, gr.Dataset(samples=samples))

    def build(self, default: str, limit: dict[str, Any]) -> Picker:
        """The tab's page and events; returns its model picker, Load button and status line."""
        defaults = catalog_defaults(default)
        picker = model_picker(
            "text", default, api_name="load_text", served=self.studio.served("text")
        )
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(label="Chat", height=420, elem_id="chatbot")
                with gr.Row(equal_height=True):
                    message = gr.Textbox(
                        placeholder=(
                            "Ask something (a base model continues what you type), then press Enter"
                        ),
                        show_label=False,
                        scale=5,
                        elem_id="chat-input",
                    )
                    send = gr.Button("Send", variant="primary", scale=1, elem_id="chat-send")
                with gr.Row():
                    stop = stop_button("chat-stop")
                    clear = gr.Button("Clear", size="sm", elem_id="chat-clear")
                stats = gr.Markdown(elem_id="chat-stats")
                examples = gr.Examples(
                    [[example] for example in examples_for("text", default)],
                    inputs=[message],
                    cache_examples=False,
                    elem_id="chat-examples",
                )
            with gr.Column(scale=2):
                system_prompt = gr.Textbox(
                    label="System prompt",
                    value="",
                    placeholder="(the model's own)",
                    lines=3,
                    info=SYSTEM_PROMPT_INFO,
                    elem_id="chat-system-prompt",
                )
                max_new_tokens, temperature, top_p = (
                    control(
                        "text",
                        param,
                        value=defaults.get(param.name),
                        label=label,
                        elem_id=key,
                        minimum=low,
                        maximum=high,
                    )
                    for param, label, key, (low, high) in (
                        (
                            MAX_NEW_TOKENS,
                            "Max new tokens",
                            "chat-max-new-tokens",
                            bounds("text", default, "max_new_tokens", 1, MAX_NEW_TOKENS.high),
                        ),
                        (TEMPERATURE, "Temperature", "chat-temperature", (0.0, 2.0)),
                        (TOP_P, "Top-p", "chat-top-p", (0.05, 1.0)),
                    )
                )
                seed = seed_box("chat-seed")
                json_output = gr.Checkbox(
                    label="Answer in JSON", value=False, info=JSON_INFO, elem_id="chat-json"
                )
                json_schema = gr.Textbox(
                    label="JSON Schema (optional)",
                    value="",
                    placeholder=SCHEMA_EXAMPLE,
                    lines=3,
                    elem_id="chat-json-schema",
                )
        inputs = [
            message,
            chatbot,
            picker.dropdown,
            system_prompt,
            max_new_tokens,
            temperature,
            top_p,
            seed,
            json_output,
            json_schema,
        ]
        outputs = [chatbot, message, stats]
        events = [
            send.click(self.chat, inputs, outputs, api_name="chat", concurrency_id="text", **limit),
            message.submit(
                self.chat,
                inputs,
                outputs,
                api_visibility="private",
                concurrency_id="text",
                **limit,
            ),
        ]
        status = self.studio.status_of("text")
        for event in events:
            event.then(status, picker.dropdown, picker.status, **PRIVATE)
        stop.click(self.stop, None, None, queue=False, api_visibility="private")
        clear.click(lambda: ([], "", ""), None, outputs, queue=False, api_visibility="private")
        picker.dropdown.change(
            self.settings,
            picker.dropdown,
            [max_new_tokens, temperature, top_p, examples.dataset],
            **PRIVATE,
        )
        return picker
