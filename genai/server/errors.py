"""Errors in OpenAI's shape: ``{"error": {"message", "type", "param", "code"}}``.

Every GenaiError maps to a status (404 for a model that cannot be had, 400 for a bad
parameter, 503 for what the server cannot do right now) with its own message; anything
else becomes a plain 500 whose details stay in the server log. No traceback reaches a client.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from .. import errors

logger = logging.getLogger("genai.server")

# Most specific first: InputTooLongError is an InvalidParameterError, so it comes before it.
_GENAI_STATUS: tuple[tuple[type[errors.GenaiError], int, str, str], ...] = (
    (errors.UnknownModelError, 404, "invalid_request_error", "model_not_found"),
    (errors.ModelNotAvailableError, 404, "invalid_request_error", "model_not_found"),
    (errors.InputTooLongError, 400, "invalid_request_error", "input_too_long"),
    (errors.WrongTaskError, 400, "invalid_request_error", "wrong_task"),
    (errors.UnsupportedModelError, 400, "invalid_request_error", "unsupported_model"),
    (errors.InvalidParameterError, 400, "invalid_request_error", "invalid_parameter"),
    (errors.MissingDependencyError, 503, "server_error", "missing_dependency"),
    (errors.GenaiMemoryError, 503, "server_error", "out_of_memory"),
    (errors.GenerationCancelled, 503, "server_error", "cancelled"),
    (errors.OutputPathError, 503, "server_error", "output_unwritable"),
)
RETRY_AFTER_S = 5  # what a 503 tells clients to wait before trying again


class APIError(Exception):
    """An error answer: HTTP status plus OpenAI's error fields."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = dict(headers or {})
        if status == 503:
            self.headers.setdefault("Retry-After", str(RETRY_AFTER_S))

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def bad_parameter(param: str, message: str, code: str = "invalid_parameter") -> APIError:
    return APIError(400, message, param=param, code=code)


def from_exception(error: BaseException, names: dict[str, str] | None = None) -> APIError:
    """The API error for any exception: a GenaiError keeps its message (genai's parameter
    names turned into the request's field names: ``names``, else OPENAI_NAMES), others say
    nothing inside."""
    if isinstance(error, APIError):
        return error
    if isinstance(error, errors.GenaiError):
        names = {**OPENAI_NAMES, **(names or {})}
        message = _GENAI_NAME.sub(lambda m: names.get(m.group(0), m.group(0)), str(error))
        param = _param_of(error)
        param = names.get(param, param) if param else None
        for kind, status, type_, code in _GENAI_STATUS:
            if isinstance(error, kind):
                return APIError(status, message, type=type_, param=param, code=code)
        return APIError(503, message, type="server_error", code="genai_error")
    logger.error("internal error", exc_info=error)
    return APIError(
        500, "internal server error; the server log has the details", type="server_error"
    )


# genai's parameter names -> the request fields they come from
OPENAI_NAMES = {
    "max_new_tokens": "max_tokens",
    "num_images": "n",
    "num_inference_steps": "steps",
    "width": "size",
    "height": "size",
    "text": "input",
}


_GENAI_NAME = re.compile(r"\bmax_new_tokens\b")  # genai's names a client never sent
_LEADING_NAME = re.compile(r"^([A-Za-z_]\w*)(?:[\[.]\S*)?(=|\s|$)")


def _param_of(error: BaseException) -> str | None:
    """genai's messages start with the argument they are about (``temperature=inf must ...``,
    ``tools[0].function.name='x' ...``, ``tools must be a list``): its top-level name."""
    from ..specs.text import TEXT_SPEC

    found = _LEADING_NAME.match(str(error))
    if found is None:
        return None
    name = found.group(1)
    return name if found.group(2) == "=" or name in TEXT_SPEC.names else None


def install(app: FastAPI) -> None:
    """Every error leaves the server in OpenAI's shape."""

    @app.exception_handler(APIError)
    async def api_error(request: Request, error: APIError) -> JSONResponse:
        return error.response()

    @app.exception_handler(errors.GenaiError)
    async def genai_error(request: Request, error: errors.GenaiError) -> JSONResponse:
        return from_exception(error).response()

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        return validation_error(error.errors()).response()

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        kind = "invalid_request_error" if error.status_code < 500 else "server_error"
        return APIError(
            error.status_code, str(error.detail), type=kind, headers=error.headers
        ).response()

    @app.exception_handler(Exception)
    async def internal_error(request: Request, error: Exception) -> JSONResponse:
        return from_exception(error).response()


def validation_error(problems: list[dict[str, Any]]) -> APIError:
    """pydantic's complaint about a request body, as one 400 naming the field."""
    first = problems[0] if problems else {"loc": (), "msg": "invalid request"}
    param = _field_path(first.get("loc", ())) or None
    if first.get("type") == "json_invalid":
        return APIError(400, "the request body is not valid JSON", code="invalid_json")
    if param is None and first.get("type") == "missing":
        return APIError(400, "the request body is empty; send a JSON object", code="invalid_json")
    message = f"{param}: {first.get('msg')}" if param else str(first.get("msg"))
    return APIError(400, message, param=param, code="invalid_parameter")


def _field_path(location) -> str:
    """("body", "messages", 0, "role") -> "messages[0].role"; pydantic's union branch tags dropped."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        elif (
            part != "body" and part.isidentifier() and part not in _TYPE_TAGS and part[0].islower()
        ):
            path += f".{part}" if path else part
    return path


_TYPE_TAGS = {"str", "int", "float", "bool", "list", "dict", "literal_error"}
