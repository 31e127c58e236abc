"""The result of an image generation, and reading its parameters back from a saved PNG.

Each PNG carries two text chunks: ``parameters``, the plain text that AUTOMATIC1111-style
tools show ("prompt / Negative prompt: ... / Steps: 4, Sampler: euler, ..."), and
``genai``, a JSON copy of the full record. Either is enough to make the picture again.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from .. import provenance
from ..errors import InvalidParameterError
from .base import Result, atomic_write_bytes, check_output_path, is_folder, to_jsonable

if TYPE_CHECKING:
    from PIL import Image

PARAMETERS_KEY = "parameters"  # the chunk AUTOMATIC1111, ComfyUI and image viewers read
GENAI_KEY = "genai"  # genai's JSON record

# Call arguments a record may hand back to the generator, besides prompt and seed.
_CALL_KEYS = (
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


@dataclass
class ImageResult(Result):
    """Generated pictures (PIL images), each with the seed that makes it again on its own.

    ``notes`` says what the caller should know about how the call was read (a prompt cut to
    the model's token limit, a prompt an unconditional model did not use); each note was
    also logged as a warning.
    """

    images: list[Image.Image] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)
    prompt: str | None = None
    negative_prompt: str | None = None
    # Where it ran: pixels can differ by a few levels between devices and precisions.
    device: str | None = None
    dtype: str | None = None
    notes: list[str] = field(default_factory=list)

    default_suffix: ClassVar[str] = ".png"

    @property
    def image(self) -> Image.Image:
        """The first picture."""
        return self.images[0]

    def metadata(self, index: int | None = None) -> dict[str, Any]:
        """The whole record, or (with ``index``) the record of one picture: its own seed, num_images=1."""
        record = super().metadata()
        record.update(
            {
                "prompt": self.prompt,
                "negative_prompt": self.negative_prompt,
                "seeds": list(self.seeds),
                "num_images": len(self.images),
                "device": self.device,
                "dtype": self.dtype,
                "notes": list(self.notes),
            }
        )
        if index is not None:
            record.update({"seed": self.seeds[index], "seeds": [self.seeds[index]], "index": index})
            record[provenance.KEY] = provenance.build_record(self, index=index)
        record["call"] = to_jsonable(self.call_arguments(index))
        return record

    def call_arguments(self, index: int | None = 0) -> dict[str, Any]:
        """Keyword arguments that make picture ``index`` again (``generator(**result.call_arguments(i))``),
        or with ``index=None`` the whole call."""
        arguments: dict[str, Any] = {
            "prompt": self.prompt,
            "seed": self.seeds[index or 0],
            "num_images": 1 if index is not None else len(self.images),
        }
        arguments.update(
            {k: self.parameters[k] for k in _CALL_KEYS if self.parameters.get(k) is not None}
        )
        if self.negative_prompt is not None:
            arguments["negative_prompt"] = self.negative_prompt
        return arguments

    def parameters_text(self, index: int = 0) -> str:
        """The AUTOMATIC1111-style text of picture ``index``."""
        p = self.parameters
        lines = [self.prompt or ""]
        if self.negative_prompt:
            lines.append(f"Negative prompt: {self.negative_prompt}")
        fields = [
            ("Steps", p.get("num_inference_steps")),
            ("Sampler", p.get("scheduler")),
            ("CFG scale", p.get("guidance_scale")),
            ("Seed", self.seeds[index]),
            ("Size", f"{p.get('width')}x{p.get('height')}"),
            ("Denoising strength", p.get("strength")),
            ("Model", provenance.shared_model_name(self.model, self.source)),
        ]
        lines.append(
            ", ".join(
                f"{name}: {_a1111_value(value)}" for name, value in fields if value is not None
            )
        )
        return "\n".join(lines)

    def png_bytes(self, index: int = 0, *, metadata: bool = True) -> bytes:
        """Picture ``index`` as PNG bytes, with its parameters in text chunks unless ``metadata=False``."""
        return _png(self.images[index], self.parameters_text(index), self.metadata(index), metadata)

    def output_paths(self, path: str | os.PathLike = ".") -> list[Path]:
        """The files ``save(path)`` writes (see ``save``)."""
        return image_output_paths(path, len(self.images), self.seeds)

    def save(
        self, path: str | os.PathLike = ".", *, overwrite: bool = False, metadata: bool = True
    ) -> list[Path]:
        """Write the pictures as PNG files and return their paths.

        ``path`` is a ``.png`` file (several pictures become ``name-1.png``, ``name-2.png``, ...)
        or a folder (files ``00001-<seed>.png``, numbered after those already there). An
        existing file is replaced only with ``overwrite=True``; every target is checked
        before the first is written.
        """
        targets = self.output_paths(path)
        for target in targets:
            check_output_path(target, overwrite=overwrite)
        return [
            atomic_write_bytes(target, self.png_bytes(i, metadata=metadata))
            for i, target in enumerate(targets)
        ]

    def save_files(self, stem: str | os.PathLike, *, suffix: str | None = None) -> list[Path]:
        """``stem.png`` (or ``stem-1.png`` ...) and ``stem.json``; batch runs own their folder,
        so these replace files of an earlier, interrupted try."""
        stem = Path(stem)
        suffix = suffix or self.default_suffix
        if suffix.lower() != ".png":
            raise InvalidParameterError(f"suffix={suffix!r}: images are saved as .png")
        paths = self.save(stem.with_name(stem.name + suffix), overwrite=True)
        return [*paths, self.save_metadata(stem.with_name(stem.name + ".json"))]

    def summary(self) -> dict[str, Any]:
        return {
            "seeds": list(self.seeds),
            "num_images": len(self.images),
            "size": list(self.images[0].size) if self.images else None,
        }


@dataclass
class FramesResult(ImageResult):
    """Frames of a walk through a GAN's latent space from ``seeds[0]`` to ``seeds[1]``.

    ``save`` writes one strip PNG (frames side by side, with the record) or an animated GIF.
    """

    # 0 = the first seed's picture, 1 = the second's
    positions: list[float] = field(default_factory=list)

    def call_arguments(self, index: int | None = 0) -> dict[str, Any]:
        arguments = {"interpolate": list(self.seeds[:2]), "frames": len(self.images)}
        arguments.update({k: self.parameters[k] for k in _CALL_KEYS if k in self.parameters})
        return arguments

    def metadata(self, index: int | None = None) -> dict[str, Any]:
        record = super().metadata()
        record["positions"] = list(self.positions)
        return record

    def parameters_text(self, index: int = 0) -> str:
        size = f"{self.parameters.get('width')}x{self.parameters.get('height')}"
        return (
            f"\nInterpolation: {self.seeds[0]} to {self.seeds[1]}, Frames: {len(self.images)}, "
            f"Size: {size}, Model: {provenance.shared_model_name(self.model, self.source)}"
        )

    def strip(self) -> Image.Image:
        """The frames side by side in one picture."""
        from PIL import Image

        width, height = self.images[0].size
        strip = Image.new("RGB", (width * len(self.images), height))
        for i, frame in enumerate(self.images):
            strip.paste(frame, (i * width, 0))
        return strip

    def output_paths(self, path: str | os.PathLike = ".") -> list[Path]:
        path = Path(path).expanduser()
        if is_folder(path) or not path.suffix:
            return [_numbered_paths(path, self.seeds[:1])[0]]
        if path.suffix.lower() not in (".png", ".gif"):
            raise InvalidParameterError(
                f"path={str(path)!r}: frames are saved as one strip .png or an animated .gif"
            )
        return [path]

    def save(
        self, path: str | os.PathLike = ".", *, overwrite: bool = False, metadata: bool = True
    ) -> list[Path]:
        """One strip ``.png`` (frames side by side, the record in its text chunks) or an
        animated ``.gif`` (with a ``.json`` record beside it unless ``metadata=False``)."""
        [target] = self.output_paths(path)
        check_output_path(target, overwrite=overwrite)
        if target.suffix.lower() == ".png":
            data = _png(self.strip(), self.parameters_text(), self.metadata(), metadata)
            return [atomic_write_bytes(target, data)]
        record = target.with_suffix(".json")
        if metadata:
            check_output_path(record, overwrite=overwrite)
        buffer = io.BytesIO()
        first, *rest = self.images
        first.save(buffer, format="GIF", save_all=True, append_images=rest, duration=120, loop=0)
        written = [atomic_write_bytes(target, buffer.getvalue())]
        return written + ([self.save_metadata(record)] if metadata else [])


def _png(image: Image.Image, text: str, record: dict[str, Any], metadata: bool) -> bytes:
    from PIL.PngImagePlugin import PngInfo

    info = None
    if metadata:
        info = PngInfo()
        info.add_text(PARAMETERS_KEY, text)
        info.add_text(GENAI_KEY, json.dumps(record, ensure_ascii=False))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def image_output_paths(path: str | os.PathLike, count: int, seeds: list[int]) -> list[Path]:
    """Where ``count`` pictures go for an output ``path``: a ``.png`` file (``name-i.png``
    for several) or a folder (numbered ``00001-<seed>.png`` after the files there)."""
    path = Path(path).expanduser()
    if is_folder(path) or not path.suffix:
        return _numbered_paths(path, seeds)
    if path.suffix.lower() != ".png":
        raise InvalidParameterError(
            f"path={str(path)!r}: images are saved as PNG (to keep their parameters); "
            "give a .png file name or a folder"
        )
    if count == 1:
        return [path]
    return [path.with_name(f"{path.stem}-{i + 1}{path.suffix}") for i in range(count)]


def _a1111_value(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _numbered_paths(folder: Path, seeds: list[int]) -> list[Path]:
    taken = (
        [int(m.group(1)) for f in folder.glob("*.png") if (m := re.match(r"(\d{5})-", f.name))]
        if folder.is_dir()
        else []
    )
    first = max(taken, default=0) + 1
    return [folder / f"{first + i:05d}-{seed}.png" for i, seed in enumerate(seeds)]


# --- reading back -------------------------------------------------------------------------

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
        **{k: v for k, v in record["parameters"].items() if k in _CALL_KEYS},
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
