"""Which family runs a model, read from the model's own files and looked up in genai.families."""

from __future__ import annotations

import json
from pathlib import Path

from . import families
from .catalog import TASKS, TEXT_GENERATION
from .errors import UnsupportedModelError
from .families import Family
from .hub import Source, read_configs


def _unsupported(name: str, what: str) -> UnsupportedModelError:
    return UnsupportedModelError(
        f"model {name!r} ({what}) fits no family genai supports; genai supports the tasks "
        f"{', '.join(TASKS)}"
    )


def gguf_architecture(path: Path) -> str:
    """The ``general.architecture`` a GGUF file declares (read from its header in milliseconds);
    a typed error for a file that is no GGUF."""
    from .backends.text_gguf import read_metadata

    architecture = read_metadata(path).get("general.architecture")
    if not isinstance(architecture, str) or not architecture:
        raise UnsupportedModelError(
            f"{path}: a GGUF header without general.architecture; the file is damaged or "
            "incomplete: download it again"
        )
    return architecture


def _file_family(source: Source) -> Family:
    path = Path(source.location)
    suffix = path.suffix.lower()
    if suffix == ".onnx" and not Path(f"{path}.json").is_file():
        raise _unsupported(source.name, "an .onnx file without its .onnx.json voice config")
    family = families.by_suffix(suffix)
    if family is None:
        raise _unsupported(source.name, f"a {suffix or 'plain'} file")
    if suffix == ".safetensors":
        safetensors_header(path)  # junk is refused here, before a task is guessed from the suffix
    if suffix == ".gguf":
        # A GGUF names its architecture: t5 is seq2seq, the rest run as causal LMs.
        architecture = gguf_architecture(path)
        if architecture == "t5":
            return families.language_model(architecture) or family
    return family


def safetensors_header(path: Path) -> dict:
    """The JSON header of a .safetensors file (tensor names to dtype, shape, offsets), read
    without loading a tensor; a file that does not start with one is UnsupportedModelError."""
    try:
        with open(path, "rb") as handle:
            size = int.from_bytes(handle.read(8), "little")
            if not 2 <= size <= 100_000_000:
                raise ValueError(f"header length {size} is impossible")
            header = json.loads(handle.read(size))
        if not isinstance(header, dict):
            raise ValueError("the header is not a JSON object")
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise UnsupportedModelError(
            f"{path}: not a readable safetensors file ({error}); the file is damaged or of "
            "another kind: download it again"
        ) from error
    return header


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UnsupportedModelError(
            f"{path}: not valid JSON ({error}); the model folder is damaged: download it again"
        ) from error
    if not isinstance(data, dict):
        raise UnsupportedModelError(
            f"{path}: holds a {type(data).__name__}, not a JSON object; the model folder is damaged"
        )
    return data


def detect(source: Source) -> Family:
    """The family of a source: its catalog entry's, or the one its own files name."""
    if source.entry is not None:
        return families.get(source.entry.family)
    if source.kind == "file":
        return _file_family(source)
    if source.kind == "folder":
        voices = list(Path(source.location).glob("*.onnx"))
        if voices and Path(f"{voices[0]}.json").is_file():
            return families.by_suffix(".onnx")
        configs = {
            name: _read_json(Path(source.location) / name)
            for name in ("model_index.json", "config.json")
            if (Path(source.location) / name).is_file()
        }
    else:
        configs = read_configs(source)
    if "model_index.json" in configs:
        class_name = configs["model_index.json"].get("_class_name", "?")
        family = families.by_pipeline(str(class_name))
        if family is None:
            raise _unsupported(source.name, f"diffusers pipeline {class_name}")
        return family
    if "config.json" in configs:
        model_type = str(configs["config.json"].get("model_type", "?"))
        family = families.by_model_type(model_type) or families.language_model(model_type)
        if family is None:
            raise _unsupported(source.name, f"transformers model_type {model_type!r}")
        return family
    raise _unsupported(source.name, "no config.json or model_index.json")


def detect_family(source: Source) -> tuple[str, str]:
    """(family name, main task) of a source."""
    family = detect(source)
    return family.name, family.task


def tasks_of(family: str, main_task: str | None = None) -> tuple[str, ...]:
    """Every task a family's models can do, the main one first."""
    return families.get(family).tasks


__all__ = ["detect", "detect_family", "gguf_architecture", "tasks_of", "TEXT_GENERATION"]
