"""Reading an image's generation parameters back from a saved PNG (genai's or AUTOMATIC1111's).

``read_image_parameters(path)`` gives the model, prompt, seed, ``parameters`` and ``call``;
``genai.load(record["model"])(**record["call"])`` makes the same picture again.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidParameterError

if TYPE_CHECKING:
    from PIL import Image

PARAMETERS_KEY = "parameters"  # the chunk AUTOMATIC1111, ComfyUI and image viewers read
GENAI_KEY = "genai"  # genai's JSON record

# Call arguments a record may hand back to the generator, besides prompt and seed.
CALL_KEYS = (
    "negative_prompt",
    "num_inference_steps",
    "guidance_scale",
    "width",
    "height",
    "scheduler",
    "strength",
    "init_image",
    "resample",
)


_A1111_FIELDS = {
    "Steps": ("num_inference_steps", int),
    "Sampler": ("scheduler", str),
    "CFG scale": ("guidance_scale", float),
    "Seed": ("seed", int),
    "Denoising strength": ("strength", float),
    "Model": ("model", str),
}


def parse_parameters_text(text: str) -> dict[str, Any]:
    """Read AUTOMATIC1111-style parameters text into genai's record layout (best effort)."""
    lines = text.strip("\n").split("\n")
    settings_line = lines.pop() if lines and re.match(r"^\s*Steps: ", lines[-1]) else ""
    prompt_lines, negative_lines, in_negative = [], [], False
    for line in lines:
        if line.startswith("Negative prompt:"):
            in_negative = True
            line = line[len("Negative prompt:") :].strip()
        (negative_lines if in_negative else prompt_lines).append(line)
    record: dict[str, Any] = {
        "prompt": "\n".join(prompt_lines) or None,
        "negative_prompt": "\n".join(negative_lines) or None,
        "parameters": {},
    }
    for name, value in re.findall(r'\s*([\w ]+):\s*("(?:\\.|[^"])*"|[^,]*)(?:,|$)', settings_line):
        name, value = name.strip(), value.strip()
        if name == "Size" and "x" in value:
            width, height = value.split("x", 1)
            record["parameters"].update(width=int(width), height=int(height))
        elif name in _A1111_FIELDS:
            key, kind = _A1111_FIELDS[name]
            try:
                parsed = kind(value)
            except ValueError:
                continue
            if key in ("seed", "model"):
                record[key] = parsed
            else:
                record["parameters"][key] = parsed
    record["call"] = {
        "prompt": record["prompt"],
        "seed": record.get("seed"),
        "num_images": 1,
        **({"negative_prompt": record["negative_prompt"]} if record["negative_prompt"] else {}),
        **{k: v for k, v in record["parameters"].items() if k in CALL_KEYS},
    }
    return record


@contextlib.contextmanager
def open_image_file(
    value: str | os.PathLike,
    *,
    argument: str,
    give: str,
    unreadable: str = "is not a readable image",
) -> Iterator[Image.Image]:
    """PIL's ``Image.open`` on the file that ``argument=value`` names; a missing file or one
    PIL cannot read is InvalidParameterError naming the argument (and what to ``give``)."""
    from PIL import Image, UnidentifiedImageError

    path = Path(value).expanduser()
    if not path.is_file():
        raise InvalidParameterError(f"{argument}={str(value)!r}: no such file; give {give}")
    try:
        with Image.open(path) as image:
            yield image
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise InvalidParameterError(f"{argument}={str(value)!r} {unreadable} ({error})") from error


def read_image_parameters(path: str | os.PathLike) -> dict[str, Any]:
    """The parameters a PNG was made with: model, prompt, seed, ``parameters`` and ``call``.

    ``genai.load(record["model"])(**record["call"])`` makes the same picture again. Reads
    genai's JSON chunk, or failing that the AUTOMATIC1111-style ``parameters`` text.
    """
    path = Path(path).expanduser()
    with open_image_file(path, argument="path", give="a PNG that genai saved") as image:
        image.load()
        chunks = dict(getattr(image, "text", None) or image.info)
    if GENAI_KEY in chunks:
        try:
            record = json.loads(chunks[GENAI_KEY])
        except json.JSONDecodeError as error:
            raise InvalidParameterError(
                f"path={str(path)!r}: its {GENAI_KEY!r} chunk is not valid JSON"
            ) from error
        if "call" not in record:
            record["call"] = {
                "prompt": record.get("prompt"),
                "seed": record.get("seed"),
                "num_images": 1,
            }
        return record
    if isinstance(chunks.get(PARAMETERS_KEY), str):
        return parse_parameters_text(chunks[PARAMETERS_KEY])
    raise InvalidParameterError(
        f"path={str(path)!r} holds no generation parameters (saved with metadata=False, or not by an "
        "image generator)"
    )
