"""POST /v1/images/generations, and GET /v1/files/{name} for pictures answered by URL.

``response_format="url"`` writes each PNG under the server's output folder with a random
name and answers its address; nothing else in that folder (or elsewhere) is served.
With an unconditional model (no prompt: DDPM, the face GAN) the prompt is recorded, not
used, and the answer says so in its ``genai`` field.
"""

from __future__ import annotations

import base64
import re
import secrets
import threading
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from ..catalog import UNCONDITIONAL_IMAGE
from ..errors import GenerationCancelled
from ..files import atomic_write_bytes
from .errors import APIError
from .limits import client_gone
from .schemas import ImageRequest

router = APIRouter()

FILE_NAME = re.compile(r"^[A-Za-z0-9_-]{16,64}\.(png|wav|flac|mp3|opus)$")


def cancellable(cancel: threading.Event):
    """A ``progress`` callback that stops a long generation between steps once ``cancel`` is set."""

    def progress(step: int, total: int) -> None:
        if cancel.is_set():
            raise GenerationCancelled("the request was cancelled")

    return progress


@router.post("/v1/images/generations")
async def generate_images(body: ImageRequest, request: Request) -> dict[str, Any]:
    server = request.app.state.genai
    body.check(server.limits.max_n)
    size = body.size_pixels(server.limits.max_image_side)
    served = await server.served(request, body.model, "image")
    unconditional = served.task == UNCONDITIONAL_IMAGE
    parameters: dict[str, Any] = {"num_images": body.n}
    if size is not None:
        parameters.update(width=size[0], height=size[1])
    steps = body.steps if body.steps is not None else body.num_inference_steps
    extras = {
        "seed": body.seed,
        "num_inference_steps": steps,
        "guidance_scale": body.guidance_scale,
        "negative_prompt": body.negative_prompt,
    }
    parameters.update({k: v for k, v in extras.items() if v is not None})
    if not unconditional:
        if not body.prompt.strip():
            raise APIError(400, "prompt is empty; describe the picture", param="prompt")
        parameters["prompt"] = body.prompt
    cancel = threading.Event()
    parameters["progress"] = cancellable(cancel)

    def work():  # encoding and writing files too stay off the event loop
        result = server.pool.load(served)(**parameters)
        pngs = [result.png_bytes(i) for i in range(len(result.images))]
        if body.response_format == "b64_json":
            return result, [{"b64_json": base64.b64encode(png).decode("ascii")} for png in pngs]
        server.prune_files()
        names = [f"{secrets.token_urlsafe(24)}.png" for _ in pngs]
        for name, png in zip(names, pngs, strict=True):
            atomic_write_bytes(server.output_dir / name, png)
        base = server.public_url(request)
        return result, [{"url": f"{base}/v1/files/{n}"} for n in names]

    result, data = await server.workers.run(
        server.pool.queue(served), work, cancel, watch=lambda: client_gone(request)
    )
    for item in data:
        item["revised_prompt"] = None
    width, height = result.images[0].size
    notice = None
    if unconditional:
        notice = (
            f"model {served.id!r} is unconditional: it makes pictures without a prompt; "
            "the prompt was recorded, not used"
        )
    return {
        "created": int(time.time()),
        "data": data,
        "size": f"{width}x{height}",
        "output_format": "png",
        "genai": {
            "model": served.id,
            "seeds": list(result.seeds),
            "prompt": body.prompt,
            "prompt_used": not unconditional,
            "notice": notice,
            "parameters": result.parameters,
        },
    }


@router.get("/v1/files/{name}", name="output_file")
async def output_file(name: str, request: Request) -> FileResponse:
    """A file this server wrote for a ``url`` answer (random names; nothing else is served)."""
    folder = request.app.state.genai.output_dir
    path = folder / name
    if not FILE_NAME.match(name) or not path.is_file():
        raise APIError(404, f"no file {name!r} here", code="file_not_found")
    return FileResponse(path)
