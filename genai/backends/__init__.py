"""Backend families: one module each, looked up by the family name detection returns."""

from __future__ import annotations

import importlib

# family -> (module, class). Modules are imported only when a model of that family loads,
# so `import genai` stays fast and optional libraries stay optional.
FAMILIES: dict[str, tuple[str, str]] = {
    "causal-lm": ("genai.backends.text", "TextGenerator"),
    "seq2seq-lm": ("genai.backends.text", "TextGenerator"),
    "diffusion-image": ("genai.backends.image", "ImageGenerator"),
    "vits": ("genai.backends.speech", "SpeechGenerator"),
    "speecht5": ("genai.backends.speech", "SpeechGenerator"),
    "bark": ("genai.backends.speech", "SpeechGenerator"),
    "tacotron2": ("genai.backends.tacotron", "TacotronGenerator"),
    "piper": ("genai.backends.piper", "PiperGenerator"),
    "musicgen": ("genai.backends.music", "MusicGenerator"),
    "audioldm": ("genai.backends.sound", "SoundGenerator"),
}


def backend_class(family: str):
    module_name, class_name = FAMILIES[family]
    return getattr(importlib.import_module(module_name), class_name)
