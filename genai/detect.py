"""Which backend family runs a model, read from the model's own files."""

from __future__ import annotations

from pathlib import Path

from .catalog import (
    IMAGE_TO_IMAGE,
    TASKS,
    TEXT_GENERATION,
    TEXT_TO_AUDIO,
    TEXT_TO_IMAGE,
    TEXT_TO_SPEECH,
    UNCONDITIONAL_IMAGE,
)
from .errors import UnsupportedModelError
from .hub import Source, read_configs

# diffusers pipelines, by the class name in model_index.json.
DIFFUSERS_PIPELINES: dict[str, tuple[str, str]] = {
    "StableDiffusionPipeline": ("diffusion-image", TEXT_TO_IMAGE),
    "StableDiffusionImg2ImgPipeline": ("diffusion-image", TEXT_TO_IMAGE),
    "StableDiffusionXLPipeline": ("diffusion-image", TEXT_TO_IMAGE),
    "StableDiffusionXLImg2ImgPipeline": ("diffusion-image", TEXT_TO_IMAGE),
    "LatentConsistencyModelPipeline": ("diffusion-image", TEXT_TO_IMAGE),
    "AmusedPipeline": ("diffusion-image", TEXT_TO_IMAGE),
    "DDPMPipeline": ("diffusion-image", UNCONDITIONAL_IMAGE),
    "DDIMPipeline": ("diffusion-image", UNCONDITIONAL_IMAGE),
    "AudioLDMPipeline": ("audioldm", TEXT_TO_AUDIO),
}

# transformers models, by model_type in config.json (audio first: some also generate tokens).
TRANSFORMERS_AUDIO: dict[str, tuple[str, str]] = {
    "vits": ("vits", TEXT_TO_SPEECH),
    "speecht5": ("speecht5", TEXT_TO_SPEECH),
    "bark": ("bark", TEXT_TO_SPEECH),
    "musicgen": ("musicgen", TEXT_TO_AUDIO),
}

# Tasks each family can do beyond its main one.
# Tasks a (family, main task) can do beyond its main one: text-to-image pipelines also
# take an init image; unconditional ones do not.
EXTRA_TASKS = {("diffusion-image", TEXT_TO_IMAGE): (IMAGE_TO_IMAGE,)}


def _transformers_family(model_type: str) -> tuple[str, str] | None:
    if model_type in TRANSFORMERS_AUDIO:
        return TRANSFORMERS_AUDIO[model_type]
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
        MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES,
    )

    if model_type in MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES:
        return "seq2seq-lm", TEXT_GENERATION
    if model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
        return "causal-lm", TEXT_GENERATION
    return None


def _gguf_family(path: Path) -> tuple[str, str]:
    from gguf import GGUFReader
    from transformers.integrations.ggml import GGUF_CONFIG_MAPPING

    reader = GGUFReader(str(path))
    field = reader.fields["general.architecture"]
    architecture = bytes(field.parts[field.data[0]]).decode()
    if architecture not in GGUF_CONFIG_MAPPING:
        raise UnsupportedModelError(
            f"{path.name}: GGUF architecture {architecture!r} cannot be loaded by transformers; "
            f"supported: {', '.join(sorted(GGUF_CONFIG_MAPPING))}"
        )
    return ("seq2seq-lm" if architecture == "t5" else "causal-lm"), TEXT_GENERATION


def _unsupported(name: str, what: str) -> UnsupportedModelError:
    return UnsupportedModelError(
        f"model {name!r} ({what}) fits no family genai supports; genai supports the tasks "
        f"{', '.join(TASKS)}"
    )


def detect_family(source: Source) -> tuple[str, str]:
    """Return (family, main task) for a source, from its catalog entry or its own config."""
    if source.entry is not None:
        return source.entry.family, source.entry.task
    if source.kind == "file":
        path = Path(source.location)
        if path.suffix == ".gguf":
            return _gguf_family(path)
        if path.suffix == ".onnx" and Path(f"{path}.json").is_file():
            return "piper", TEXT_TO_SPEECH
        if path.suffix in (".safetensors", ".ckpt"):
            return "diffusion-image", TEXT_TO_IMAGE
        raise _unsupported(source.name, f"a {path.suffix or 'plain'} file")
    if source.kind == "folder":
        voices = list(Path(source.location).glob("*.onnx"))
        if voices and Path(f"{voices[0]}.json").is_file():
            return "piper", TEXT_TO_SPEECH
    configs = read_configs(source)
    if "model_index.json" in configs:
        class_name = configs["model_index.json"].get("_class_name", "?")
        if class_name in DIFFUSERS_PIPELINES:
            return DIFFUSERS_PIPELINES[class_name]
        raise _unsupported(source.name, f"diffusers pipeline {class_name}")
    if "config.json" in configs:
        model_type = configs["config.json"].get("model_type", "?")
        family = _transformers_family(model_type)
        if family is not None:
            return family
        raise _unsupported(source.name, f"transformers model_type {model_type!r}")
    raise _unsupported(source.name, "no config.json or model_index.json")


def tasks_of(family: str, main_task: str) -> tuple[str, ...]:
    return (main_task, *EXTRA_TASKS.get((family, main_task), ()))
