"""The Text tab: a chat that streams its reply, with Stop, Clear and a context that stays in bounds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import gradio as gr

from ..generator import Generator
from ..params import Param
from .callbacks import Tab, as_int, as_seed, in_thread, require_text, shown_in_page, streamed
from .models import catalog_defaults, status_of
from .widgets import PRIVATE, Picker, control, model_picker, seed_box, stop_button

# The controls, as the text spec declares them once it does (genai.specs.text).
MAX_NEW_TOKENS = Param("max_new_tokens", int, 128, low=1, high=1024)
TEMPERATURE = Param(
    "temperature", float, 0.7, "0: greedy (the same answer every time)", low=0.0, high=2.0
)
TOP_P = Param("top_p", float, 0.95, low=0.05, high=1.0)
EXAMPLES = [
    ["What is the capital of France?"],
    ["Write a haiku about the sea."],
    ["Explain in two sentences what a neural network is."],
    ["The three primary colours are"],  # for a completion model: it continues the text
]


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
        progress=gr.Progress(),  # noqa: B008
    ) -> AsyncIterator[tuple[list[dict[str, str]], str, str]]:
        """Stream the reply to ``message`` after ``history``; yields (chat, input box, stats)."""
        message = require_text(message, "The message")
        generator = await in_thread(lambda _: self.studio.load("text", model, progress))
        turns = [*plain_history(history), {"role": "user", "content": message}]
        system_prompt = (system_prompt or "").strip() or None
        with shown_in_page():
            # A long chat keeps its latest turns within the model's context.
            context = await in_thread(
                lambda _: fit_conversation(
                    generator,
                    turns,
                    max_new_tokens=as_int(max_new_tokens),
                    system_prompt=system_prompt,
                )
            )
            stream = generator.stream(
                context,
                max_new_tokens=as_int(max_new_tokens),
                temperature=temperature,
                top_p=top_p,
                seed=as_seed(seed),
                system_prompt=system_prompt,
            )
            shown = [*turns, {"role": "assistant", "content": ""}]
            yield shown, "", "generating…"
            async for piece in streamed(stream):  # Stop cancels the request: the stream closes
                shown[-1]["content"] += piece
                yield shown, "", "generating…"
        result = stream.result
        speed = f", {result.tokens_per_second:.1f} tokens/s" if result.tokens_per_second else ""
        dropped = len(turns) - len(context)
        note = f" · the {dropped} oldest messages left out to fit the context" if dropped else ""
        stats = (
            f"{result.completion_tokens} tokens{speed} · ended on {result.finish_reason} · "
            f"seed {result.seed} · {result.model} · {result.engine or generator.engine}{note}"
        )
        yield shown, "", stats

    def build(self, default: str, limit: dict[str, Any]) -> Picker:
        """The tab's page and events; returns its model picker, Load button and status line."""
        defaults = catalog_defaults(default)
        picker = model_picker("text", default, api_name="load_text")
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(label="Chat", height=420, elem_id="chatbot")
                with gr.Row(equal_height=True):
                    message = gr.Textbox(
                        placeholder="Ask something, then press Enter",
                        show_label=False,
                        scale=5,
                        elem_id="chat-input",
                    )
                    send = gr.Button("Send", variant="primary", scale=1, elem_id="chat-send")
                with gr.Row():
                    stop = stop_button("chat-stop")
                    clear = gr.Button("Clear", size="sm", elem_id="chat-clear")
                stats = gr.Markdown(elem_id="chat-stats")
                gr.Examples(EXAMPLES, inputs=[message], cache_examples=False)
            with gr.Column(scale=2):
                system_prompt = gr.Textbox(
                    label="System prompt",
                    value="You are a helpful, concise assistant.",
                    lines=3,
                    info="a completion model without a chat template ignores it",
                )
                max_new_tokens, temperature, top_p = (
                    control("text", param, value=defaults.get(param.name), label=label, elem_id=key)
                    for param, label, key in (
                        (MAX_NEW_TOKENS, "Max new tokens", "chat-max-new-tokens"),
                        (TEMPERATURE, "Temperature", "chat-temperature"),
                        (TOP_P, "Top-p", None),
                    )
                )
                seed = seed_box("chat-seed")
        inputs = [
            message,
            chatbot,
            picker.dropdown,
            system_prompt,
            max_new_tokens,
            temperature,
            top_p,
            seed,
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
        for event in events:
            event.then(status_of("text"), picker.dropdown, picker.status, **PRIVATE)
        stop.click(
            lambda: "stopped", None, stats, cancels=events, queue=False, api_visibility="private"
        )
        clear.click(lambda: ([], "", ""), None, outputs, queue=False, api_visibility="private")
        return picker
