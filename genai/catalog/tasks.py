"""Task names, their modality, and the short words the CLI and list_models accept."""

from __future__ import annotations

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
