"""POST /v1/audio/speech (OpenAI's), and /v1/audio/generations (genai's, for music and sound).

Formats: wav, flac, pcm (raw 16-bit little-endian mono at 24 kHz, as OpenAI sends it), and
mp3 and opus where libsndfile (through soundfile, which genai already uses) can encode them.
OpenAI's voice names (alloy, echo, ...) give the model's default voice, so unmodified
clients work; the answer's ``X-Genai-Voice`` header says which voice spoke.

``/v1/audio/generations`` takes ``{"model", "prompt", "duration", "seed",
"response_format", "num_inference_steps", "guidance_scale", "negative_prompt"}`` and answers
the audio file's bytes, like ``/v1/audio/speech``.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

from fastapi import APIRouter, Request, Response

from ..catalog import TEXT_TO_AUDIO, TEXT_TO_SPEECH
from .errors import APIError, bad_parameter
from .limits import client_gone
from .routes_images import cancellable
from .schemas import OPENAI_VOICES, AudioRequest, SpeechRequest

router = APIRouter()

PCM_RATE = 24_000  # OpenAI's pcm: 24 kHz, 16-bit signed little-endian, no header
OPUS_RATE = 48_000  # Opus encodes at 8, 12, 16, 24 or 48 kHz
# response_format -> (soundfile format, subtype, media type, sample rate to make it at)
_FORMATS: dict[str, tuple[str, str, str, int | None]] = {
    "wav": ("WAV", "PCM_16", "audio/wav", None),
    "flac": ("FLAC", "PCM_16", "audio/flac", None),
    "pcm": ("RAW", "PCM_16", "audio/pcm", PCM_RATE),
    "mp3": ("MP3", "MPEG_LAYER_III", "audio/mpeg", None),
    "opus": ("OGG", "OPUS", "audio/ogg", OPUS_RATE),
}


@lru_cache(maxsize=1)
def supported_formats() -> tuple[str, ...]:
    """The response formats this machine's libsndfile can write."""
    import soundfile

    formats = soundfile.available_formats()
    return tuple(
        name
        for name, (container, subtype, _, _) in _FORMATS.items()
        if container in formats and subtype in soundfile.available_subtypes(container)
    )


def _check_format(name: str) -> str:
    if name not in supported_formats():
        raise bad_parameter(
            "response_format",
            f"response_format={name!r} is not supported here; use one of: "
            f"{', '.join(supported_formats())}",
            code="unsupported_format",
        )
    return name


def _encode(result, name: str) -> bytes:
    container, subtype, _, _ = _FORMATS[name]
    tagged = container in ("WAV", "FLAC")  # mp3/ogg/raw carry no tags here
    return result.to_bytes(container, subtype=subtype, metadata=tagged)


def _audio_response(result, data: bytes, name: str, voice: str | None = None) -> Response:
    media_type = _FORMATS[name][2]
    headers = {
        "X-Genai-Seed": str(result.seed),
        "X-Genai-Sample-Rate": str(result.sample_rate),
        "X-Genai-Duration": f"{result.duration:.3f}",
    }
    if voice is not None:
        headers["X-Genai-Voice"] = voice
    return Response(data, media_type=media_type, headers=headers)


async def _generate(request: Request, served, text: str, call: dict[str, Any], name: str):
    """(result, file bytes): generated and encoded in a worker thread, cancellable between steps."""
    server = request.app.state.genai
    cancel = threading.Event()
    call["progress"] = cancellable(cancel)
    if _FORMATS[name][3] is not None:
        call["sample_rate"] = _FORMATS[name][3]

    def work():
        result = server.pool.load(served)(text, **call)
        return result, _encode(result, name)

    return await server.workers.run(
        server.pool.queue(served), work, cancel, watch=lambda: client_gone(request)
    )


@router.post("/v1/audio/speech")
async def speech(body: SpeechRequest, request: Request) -> Response:
    server = request.app.state.genai
    body.refuse_extras()
    name = _check_format(body.response_format)
    if len(body.input) > server.limits.max_speech_chars:
        raise bad_parameter(
            "input",
            f"input is {len(body.input)} characters, above this server's limit of "
            f"{server.limits.max_speech_chars}; split the text into several requests",
            code="input_too_long",
        )
    served = await _audio_model(request, body.model, TEXT_TO_SPEECH, "/v1/audio/generations")
    voice, spoken = _voice(body.voice)
    call: dict[str, Any] = {}
    if voice is not None:
        call["voice"] = voice
    if body.speed != 1.0:
        call["speed"] = body.speed
    if body.seed is not None:
        call["seed"] = body.seed
    result, data = await _generate(request, served, body.input, call, name)
    return _audio_response(result, data, name, voice=spoken)


async def _audio_model(request: Request, model: str, task: str, other_endpoint: str):
    """The served audio model, refused (400) when it does the other audio task."""
    served = await request.app.state.genai.served(request, model, "audio")
    if served.task != task:
        raise APIError(
            400,
            f"model {served.id!r} makes {served.task}, not {task}; send it to {other_endpoint}",
            param="model",
            code="wrong_task",
        )
    return served


def _voice(voice: str | None) -> tuple[str | None, str]:
    """(what the model is given, what the answer says): OpenAI's names mean the model's default."""
    if voice is None or voice.lower() in OPENAI_VOICES:
        said = "default" if voice is None else f"default (OpenAI's {voice!r} maps to it)"
        return None, said
    return voice, voice


@router.post("/v1/audio/generations")
async def audio_generations(body: AudioRequest, request: Request) -> Response:
    server = request.app.state.genai
    body.refuse_extras()
    name = _check_format(body.response_format)
    limit = server.limits.max_audio_seconds
    if body.duration is not None and body.duration > limit:
        raise bad_parameter(
            "duration",
            f"duration={body.duration} s is above this server's limit of {limit:g} s",
            code="input_too_long",
        )
    served = await _audio_model(request, body.model, TEXT_TO_AUDIO, "/v1/audio/speech")
    extras = {
        "duration": body.duration,
        "seed": body.seed,
        "num_inference_steps": body.num_inference_steps,
        "guidance_scale": body.guidance_scale,
        "negative_prompt": body.negative_prompt,
    }
    call = {k: v for k, v in extras.items() if v is not None}
    result, data = await _generate(request, served, body.prompt, call, name)
    return _audio_response(result, data, name)
