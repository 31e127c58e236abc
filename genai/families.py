"""THE family registry: one row per backend family, and nothing else knows family strings.

A row says which backend class runs the family, its modality and tasks, and how a model of
the family is recognised from its own files: the diffusers pipeline class in
``model_index.json``, the ``model_type`` in ``config.json``, or a file suffix. Detection
(genai.detect), the loader, the CLI, the web app and batch all ask this table.

Adding a family is adding a row (see CONTRIBUTING.md); tests add toy families with
``register`` and take them away with ``unregister``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from .catalog.tasks import (
    IMAGE_TO_IMAGE,
    MODALITY_OF_TASK,
    TEXT_GENERATION,
    TEXT_TO_AUDIO,
    TEXT_TO_IMAGE,
    TEXT_TO_SPEECH,
    UNCONDITIONAL_IMAGE,
)
from .errors import UnsupportedModelError


@dataclass(frozen=True)
class Family:
    """One backend family."""

    name: str
    backend: str | type  # "module:Class", imported only when a model of the family loads
    tasks: tuple[str, ...]  # the main task first; the others the same weights can also do
    pipelines: tuple[str, ...] = ()  # diffusers pipeline class names (model_index.json)
    model_types: tuple[str, ...] = ()  # transformers model_type values (config.json)
    suffixes: tuple[str, ...] = ()  # single-file checkpoints, e.g. ".gguf"
    description: str = ""

    @property
    def modality(self) -> str:
        return MODALITY_OF_TASK[self.tasks[0]]

    @property
    def task(self) -> str:
        return self.tasks[0]

    def backend_class(self) -> type:
        if isinstance(self.backend, type):
            return self.backend
        module_name, class_name = self.backend.split(":")
        return getattr(importlib.import_module(module_name), class_name)


FAMILIES: dict[str, Family] = {}


def register(family: Family) -> Family:
    """Add (or replace) a family row."""
    FAMILIES[family.name] = family
    return family


def unregister(name: str) -> None:
    FAMILIES.pop(name, None)


def get(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        raise UnsupportedModelError(
            f"no backend family {name!r}; genai has: {', '.join(sorted(FAMILIES))}"
        ) from None


def by_pipeline(class_name: str) -> Family | None:
    return next((f for f in FAMILIES.values() if class_name in f.pipelines), None)


def by_model_type(model_type: str) -> Family | None:
    return next((f for f in FAMILIES.values() if model_type in f.model_types), None)


def by_suffix(suffix: str) -> Family | None:
    return next((f for f in FAMILIES.values() if suffix.lower() in f.suffixes), None)


def language_model(model_type: str) -> Family | None:
    """The text family of a transformers model_type, from transformers' own auto tables."""
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
        MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES,
    )

    if model_type in MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES:
        return FAMILIES.get("seq2seq-lm")
    if model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
        return FAMILIES.get("causal-lm")
    return None


def of_modality(modality: str) -> list[Family]:
    return [f for f in FAMILIES.values() if f.modality == modality]


_SD_PIPELINES = (
    "StableDiffusionPipeline",
    "StableDiffusionImg2ImgPipeline",
    "StableDiffusionXLPipeline",
    "StableDiffusionXLImg2ImgPipeline",
    "LatentConsistencyModelPipeline",
    "AmusedPipeline",
)

for _family in (
    # Text: transformers' own tables name the causal and seq2seq model types (genai.detect
    # asks them); a .gguf file runs on llama.cpp unless engine="transformers" is asked.
    Family(
        "causal-lm",
        "genai.backends.text_engines:TextModel",
        (TEXT_GENERATION,),
        suffixes=(".gguf",),
        description="decoder-only language models (transformers, or llama.cpp for GGUF)",
    ),
    Family(
        "seq2seq-lm",
        "genai.backends.text_engines:TextModel",
        (TEXT_GENERATION,),
        description="encoder-decoder language models (T5, BART)",
    ),
    # Images.
    Family(
        "diffusion-image",
        "genai.backends.image:ImageGenerator",
        (TEXT_TO_IMAGE, IMAGE_TO_IMAGE),
        pipelines=_SD_PIPELINES,
        suffixes=(".safetensors", ".ckpt"),
        description="diffusers text-to-image pipelines: SD, SDXL, LCM, aMUSEd",
    ),
    Family(
        "diffusion-unconditional",
        "genai.backends.image:ImageGenerator",
        (UNCONDITIONAL_IMAGE,),
        pipelines=("DDPMPipeline", "DDIMPipeline"),
        description="diffusers unconditional pipelines: DDPM, DDIM",
    ),
    Family(
        "gan",
        "genai.backends.gan:GanGenerator",
        (UNCONDITIONAL_IMAGE,),
        description="a DCGAN generator (64x64 faces)",
    ),
    # Speech.
    Family(
        "vits",
        "genai.backends.vits:VitsGenerator",
        (TEXT_TO_SPEECH,),
        model_types=("vits",),
        description="VITS / MMS-TTS",
    ),
    Family(
        "speecht5",
        "genai.backends.speecht5:SpeechT5Generator",
        (TEXT_TO_SPEECH,),
        model_types=("speecht5",),
        description="SpeechT5 with the HiFi-GAN vocoder",
    ),
    Family(
        "bark",
        "genai.backends.bark:BarkGenerator",
        (TEXT_TO_SPEECH,),
        model_types=("bark",),
        description="Bark (small)",
    ),
    Family(
        "tacotron2",
        "genai.backends.tacotron:TacotronGenerator",
        (TEXT_TO_SPEECH,),
        description="torchaudio Tacotron2 bundles",
    ),
    Family(
        "piper",
        "genai.backends.piper:PiperGenerator",
        (TEXT_TO_SPEECH,),
        suffixes=(".onnx",),
        description="Piper voices (ONNX)",
    ),
    # Music and sound.
    Family(
        "musicgen",
        "genai.backends.music:MusicGenerator",
        (TEXT_TO_AUDIO,),
        model_types=("musicgen",),
        description="MusicGen",
    ),
    Family(
        "audioldm",
        "genai.backends.sound:SoundGenerator",
        (TEXT_TO_AUDIO,),
        pipelines=("AudioLDMPipeline",),
        description="AudioLDM (diffusers)",
    ),
    Family(
        "performance-rnn",
        "genai.backends.performance_rnn:PerformanceRNNGenerator",
        (TEXT_TO_AUDIO,),
        description="PerformanceRNN piano performances, rendered to audio",
    ),
):
    register(_family)
