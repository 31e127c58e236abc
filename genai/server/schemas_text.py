"""Request bodies of the text endpoints: chat and plain completions, responses, embeddings.

What genai's text front end takes is passed on as it is (``response_format``, ``tools``,
``logprobs``, penalties, ``logit_bias``): the front end checks it and refuses, naming the
field, what the model's engine cannot do. A picture or sound in a message is refused here:
genai's text models take text only.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from .errors import bad_parameter
from .schemas import Body, StreamOptions

MAX_COMPLETION_LOGPROBS = 20  # top alternatives per token (OpenAI's legacy field allows 5)

_TEXT_UNSUPPORTED: dict[str, tuple[Any, ...]] = {
    "functions": (None, []),
    "function_call": (None, "none", "auto"),
    "modalities": (None, ["text"]),
    "audio": (None,),
    "prediction": (None,),
    "reasoning_effort": (None,),
    "service_tier": (None, "auto", "default"),
    "web_search_options": (None,),
    "verbosity": (None,),
    "best_of": (None, 1),
    "prompt_cache_key": (None,),
    "safety_identifier": (None,),
}


class Sampling(Body):
    """What chat and plain completions share."""

    model: str
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float | None = None
    top_p: float | None = None
    stop: str | list[str] | None = None
    seed: int | None = None
    n: int = Field(1, ge=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    logit_bias: dict[str, float] | None = None
    # Extensions (as vLLM and llama.cpp's server take them): passed to genai as they are.
    top_k: int | None = None
    repetition_penalty: float | None = None

    unsupported: ClassVar[dict[str, tuple[Any, ...]]] = _TEXT_UNSUPPORTED

    @property
    def length_field(self) -> str:
        """The field the client limited the answer's length with (errors name it)."""
        return "max_completion_tokens" if self.max_completion_tokens is not None else "max_tokens"

    def generation_parameters(self) -> dict[str, Any]:
        """genai's text keywords for this request (seed handled per choice by the caller)."""
        if (
            self.max_tokens is not None
            and self.max_completion_tokens is not None
            and self.max_tokens != self.max_completion_tokens
        ):
            raise bad_parameter(
                "max_tokens",
                "give max_completion_tokens or max_tokens (an older name for it), not both",
            )
        stop = self.stop
        if stop is not None and not isinstance(stop, str) and not stop:
            stop = None
        chosen = {
            "max_new_tokens": self.max_completion_tokens or self.max_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "stop": stop,
            "top_k": self.top_k,
            "repetition_penalty": self.repetition_penalty,
            "presence_penalty": self.presence_penalty,
            "frequency_penalty": self.frequency_penalty,
            "logit_bias": self.logit_bias or None,
        }
        return {name: value for name, value in chosen.items() if value is not None}

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)

    def check(self, max_n: int) -> None:
        self.refuse_extras()
        if self.stream_options is not None:
            self.stream_options.refuse_extras()
            if not self.stream:
                raise bad_parameter(
                    "stream_options", "stream_options is only allowed with stream=true"
                )
        if self.n > max_n:
            raise bad_parameter("n", f"n={self.n} is above this server's limit of {max_n}")


class ChatMessage(Body):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None

    unsupported: ClassVar[dict[str, tuple[Any, ...]]] = {
        "function_call": (None,),
        "refusal": (None,),
        "audio": (None,),
    }

    def text(self, where: str) -> str | None:
        """The content as text: a list of text parts joined; any other part is refused."""
        if not isinstance(self.content, list):
            return self.content
        texts = []
        for index, part in enumerate(self.content):
            kind = part.get("type")
            if kind in ("text", "input_text", "output_text") and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif kind in ("image_url", "input_image", "input_audio", "file", "input_file"):
                raise bad_parameter(
                    f"{where}.content[{index}]",
                    f"{where}.content[{index}] is a {kind} part: this model takes text only; "
                    "send the message as text",
                    code="unsupported_content",
                )
            else:
                raise bad_parameter(
                    f"{where}.content[{index}]",
                    f"{where}.content[{index}] must be {{'type': 'text', 'text': '...'}}",
                )
        return "".join(texts)

    def as_genai(self, where: str) -> dict[str, Any]:
        """genai's message: ``developer`` is OpenAI's newer name for ``system``."""
        self.refuse_extras()
        content = self.text(where)
        if self.role == "tool":
            if self.tool_call_id is None:
                raise bad_parameter(
                    f"{where}.tool_call_id", f"{where}: a tool message needs tool_call_id"
                )
            return {"role": "tool", "tool_call_id": self.tool_call_id, "content": content or ""}
        if self.role == "assistant" and self.tool_calls:
            return {"role": "assistant", "content": content, "tool_calls": self.tool_calls}
        role = "system" if self.role == "developer" else self.role
        return {"role": role, "content": content or ""}


class ChatRequest(Sampling):
    messages: list[ChatMessage] = Field(min_length=1)
    response_format: dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None

    def prompt(self) -> list[dict[str, Any]]:
        return [m.as_genai(f"messages[{i}]") for i, m in enumerate(self.messages)]

    def generation_parameters(self) -> dict[str, Any]:
        chosen = super().generation_parameters()
        tool_choice = self.tool_choice
        if not self.tools and tool_choice in ("none", "auto"):
            tool_choice = None  # what clients send with no tools means nothing
        extra = {
            "response_format": self.response_format,
            "tools": self.tools or None,
            "tool_choice": tool_choice,
            "parallel_tool_calls": self.parallel_tool_calls if self.tools else None,
            "logprobs": self.logprobs,
            "top_logprobs": self.top_logprobs,
        }
        return {**chosen, **{k: v for k, v in extra.items() if v is not None}}


class CompletionRequest(Sampling):
    prompt: str | list[str]
    echo: bool = False
    suffix: str | None = None
    logprobs: int | None = Field(None, ge=0, le=MAX_COMPLETION_LOGPROBS)

    def prompts(self) -> list[str]:
        prompts = [self.prompt] if isinstance(self.prompt, str) else list(self.prompt)
        if not prompts:
            raise bad_parameter("prompt", "prompt is an empty list; give at least one prompt")
        return prompts

    def check(self, max_n: int) -> None:
        super().check(max_n)
        if self.suffix:
            raise bad_parameter(
                "suffix",
                "suffix (text to fill in before) is not supported: genai's completions continue "
                "the prompt only; leave suffix out",
                code="unsupported_parameter",
            )
        if self.echo and self.logprobs is not None:
            raise bad_parameter(
                "echo",
                "echo with logprobs is not supported (the prompt's own log-probabilities are "
                "not computed); leave one of them out",
                code="unsupported_parameter",
            )

    def generation_parameters(self) -> dict[str, Any]:
        chosen = {**super().generation_parameters(), "raw": True}  # the prompt as given
        if self.logprobs is not None:
            chosen.update(logprobs=True, top_logprobs=self.logprobs)
        return chosen


class ResponsesRequest(Body):
    """``/v1/responses``, minimal: text in, text (or JSON) out, optionally continuing a
    stored response."""

    model: str
    input: str | list[dict[str, Any]]
    instructions: str | None = None
    max_output_tokens: int | None = Field(None, ge=1)
    temperature: float | None = None
    top_p: float | None = None
    stream: bool = False
    previous_response_id: str | None = None
    store: bool = True
    text: dict[str, Any] | None = None
    seed: int | None = None  # extension
    top_k: int | None = None  # extension

    unsupported: ClassVar[dict[str, tuple[Any, ...]]] = {
        "tools": (None, []),
        "tool_choice": (None, "auto", "none"),
        "parallel_tool_calls": (None, True, False),
        "truncation": (None, "disabled"),
        "reasoning": (None,),
        "include": (None, []),
        "background": (None, False),
        "service_tier": (None, "auto", "default"),
        "top_logprobs": (None, 0),
        "max_tool_calls": (None,),
        "prompt": (None,),
        "prompt_cache_key": (None,),
        "safety_identifier": (None,),
        "stream_options": (None,),
        "conversation": (None,),
    }

    def messages(self) -> list[dict[str, str]]:
        """The input as chat messages (a string is one user message)."""
        if isinstance(self.input, str):
            return [{"role": "user", "content": self.input}]
        messages = []
        for index, item in enumerate(self.input):
            where = f"input[{index}]"
            if item.get("type", "message") != "message" or "role" not in item:
                raise bad_parameter(
                    where,
                    f"{where} must be a message ({{'role': 'user', 'content': '...'}}); genai's "
                    "responses take text messages only",
                )
            message = ChatMessage.model_validate(
                {k: v for k, v in item.items() if k not in ("type", "id", "status")}
            )
            if message.role == "tool":
                raise bad_parameter(
                    f"{where}.role", f"{where}: tool messages are not supported here"
                )
            messages.append(message.as_genai(where))
        if not messages:
            raise bad_parameter("input", "input is an empty list; give at least one message")
        return messages

    def response_format(self) -> dict[str, Any] | None:
        """``text.format`` in chat's ``response_format`` shape."""
        fmt = (self.text or {}).get("format")
        if fmt is None or fmt.get("type") == "text":
            return None
        if fmt.get("type") == "json_schema":
            spec = {k: v for k, v in fmt.items() if k != "type"}
            return {"type": "json_schema", "json_schema": spec}
        return {"type": fmt.get("type")}


class EmbeddingRequest(Body):
    model: str
    input: str | list[str]
    encoding_format: Literal["float", "base64"] = "float"

    unsupported: ClassVar[dict[str, tuple[Any, ...]]] = {"dimensions": (None,)}

    def texts(self, max_inputs: int) -> list[str]:
        texts = [self.input] if isinstance(self.input, str) else list(self.input)
        if not texts:
            raise bad_parameter("input", "input is an empty list; give at least one text")
        if len(texts) > max_inputs:
            raise bad_parameter(
                "input", f"input has {len(texts)} texts; give at most {max_inputs} per request"
            )
        for index, text in enumerate(texts):
            if not text.strip():
                raise bad_parameter("input", f"input[{index}] is empty; give some text")
        return texts
