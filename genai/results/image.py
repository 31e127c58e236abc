"""The result of an image generation (reading its parameters back is in image_read).

Each PNG carries two text chunks: ``parameters``, the plain text that AUTOMATIC1111-style
tools show ("prompt / Negative prompt: ... / Steps: 4, Sampler: euler, ..."), and
``genai``, a JSON copy of the full record. Either is enough to make the picture again.
"""

from __future__ import annotations

import io
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from .. import provenance
from ..errors import InvalidParameterError
from ..files import (
    check_output_folder,
    check_output_path,
    is_folder,
    to_jsonable,
    write_files,
    write_numbered,
)
from .base import Result
from .image_read import (  # noqa: F401  (reading back is part of this module's interface)
    CALL_KEYS,
    GENAI_KEY,
    PARAMETERS_KEY,
    open_image_file,
    parse_parameters_text,
    read_image_parameters,
)

if TYPE_CHECKING:
    from PIL import Image


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
            {k: self.parameters[k] for k in CALL_KEYS if self.parameters.get(k) is not None}
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
        or a folder (files ``00001-<seed>.png``, numbered after those already there; concurrent
        saves into one folder get numbers of their own). An existing file is replaced only
        with ``overwrite=True``, also one another save makes meanwhile (OutputPathError, and
        none of this call's pictures is left); every target is checked before any work.
        """
        folder = _numbered_folder(path)
        targets = self.output_paths(path) if folder is None else []
        for target in targets:
            check_output_path(target, overwrite=overwrite)
        if folder is not None:
            check_output_folder(folder)
        pictures = [self.png_bytes(i, metadata=metadata) for i in range(len(self.images))]
        if folder is not None:  # numbers claimed under the folder's lock
            seeds = self.seeds
            groups = write_numbered(
                folder,
                pictures,
                first_free=_first_free_png,
                name=lambda number, i: f"{number:05d}-{seeds[i]}.png",
            )
            return [group[0] for group in groups]
        return write_files(list(zip(targets, pictures, strict=True)), overwrite=overwrite)

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
        arguments.update({k: self.parameters[k] for k in CALL_KEYS if k in self.parameters})
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
        folder = _numbered_folder(path)
        if folder is None:
            check_output_path(target, overwrite=overwrite)
        else:
            check_output_folder(folder)
        if target.suffix.lower() == ".png":
            data = _png(self.strip(), self.parameters_text(), self.metadata(), metadata)
            if folder is not None:
                seed = self.seeds[0]
                [[written]] = write_numbered(
                    folder,
                    [data],
                    first_free=_first_free_png,
                    name=lambda number, i: f"{number:05d}-{seed}.png",
                )
                return [written]
            return write_files([(target, data)], overwrite=overwrite)
        record = target.with_suffix(".json")
        if metadata:
            check_output_path(record, overwrite=overwrite)
        buffer = io.BytesIO()
        first, *rest = self.images
        first.save(buffer, format="GIF", save_all=True, append_images=rest, duration=120, loop=0)
        files = [(target, buffer.getvalue())]
        if metadata:
            files.append((record, self.metadata_bytes()))
        return write_files(files, overwrite=overwrite)


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


def _numbered_folder(path: str | os.PathLike) -> Path | None:
    """The folder a save into ``path`` numbers its files in, or None for a file name."""
    path = Path(path).expanduser()
    return path if is_folder(path) or not path.suffix else None


def _first_free_png(folder: Path) -> int:
    taken = (
        [int(m.group(1)) for f in folder.glob("*.png") if (m := re.match(r"(\d{5})-", f.name))]
        if folder.is_dir()
        else []
    )
    return max(taken, default=0) + 1


def _numbered_paths(folder: Path, seeds: list[int]) -> list[Path]:
    """The names a save into ``folder`` would take now (another save may take them first)."""
    first = _first_free_png(folder)
    return [folder / f"{first + i:05d}-{seed}.png" for i, seed in enumerate(seeds)]
