"""The Speech tab: text read aloud, with the model's voices to pick from."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import gradio as gr

from ..params import Param
from .callbacks import Studio, Tab, as_seed, audio_outputs, given, in_thread, require_text
from .models import find_loaded
from .widgets import (
    PRIVATE,
    Picker,
    control,
    model_picker,
    player_and_mel,
    seed_box,
    stop_button,
    wire_run,
)

SPEED = Param("speed", float, 1.0, low=0.5, high=2.0)
EXAMPLES = [
    ["Hello! This voice runs entirely on this computer."],
    ["The quick brown fox jumps over the lazy dog."],
]


async def speak(
    studio: Studio,
    generator: Any,
    text: str,
    keywords: dict[str, Any],
    *,
    folder: str,
    progress: gr.Progress | None,
) -> tuple[Any, list[Path]]:
    """Read ``text`` aloud with a speech generator (Stop ends it between sentences)."""
    return await studio.generate(
        generator,
        [text],
        keywords,
        folder=folder,
        progress=progress,
        what="speaking",
        unit="sentences",
    )


class SpeechTab(Tab):
    """Text read aloud, in one of the model's voices."""

    async def speech(
        self,
        model: str,
        text: str,
        voice: str | None,
        speed: float,
        seed: Any,
        progress=gr.Progress(),  # noqa: B008
    ) -> tuple[str, Any, str, str]:
        """Speak ``text``: (player file, mel picture, download file, summary)."""
        text = require_text(text, "The text to speak")
        generator = await in_thread(lambda _: self.studio.load("speech", model, progress))
        voice = (voice or "").strip() or None
        keywords = given(
            seed=as_seed(seed),
            voice=int(voice) if voice and voice.isdigit() else voice,
            speed=None if speed is None or float(speed) == 1.0 else float(speed),
        )
        started = time.perf_counter()
        result, files = await speak(
            self.studio, generator, text, keywords, folder="speech", progress=progress
        )
        shown = audio_outputs(result, files, started)
        return shown["sound"], shown["mel"], shown["sound"], shown["summary"]

    def voices(self, name: str) -> dict[str, Any]:
        """Voice choices of the speech model, if it is loaded and has several."""
        generator = find_loaded((name or "").strip())
        names = list(getattr(generator, "voices", None) or []) if generator else []
        return gr.update(choices=names)

    def voices_anew(self, name: str) -> dict[str, Any]:
        """Another speech model: its voices, none picked."""
        return {**self.voices(name), "value": ""}

    def build(self, default: str, limit: dict[str, Any]) -> Picker:
        picker = model_picker("speech", default, api_name="load_speech")
        with gr.Row():
            with gr.Column(scale=2):
                text = gr.Textbox(label="Text to speak", lines=4, elem_id="speech-text")
                with gr.Row():
                    self.voice = gr.Dropdown(
                        choices=[],
                        value="",
                        label="Voice / speaker",
                        info="empty: the model's default voice",
                        allow_custom_value=True,
                    )
                    speed = control("audio", SPEED, label="Speed", info=None)
                seed = seed_box("speech-seed")
                with gr.Row():
                    go = gr.Button("Speak", variant="primary", elem_id="speech-generate")
                    stop = stop_button("speech-stop")
                gr.Examples(EXAMPLES, inputs=[text], cache_examples=False)
            with gr.Column(scale=3):
                player, mel = player_and_mel("Speech", "speech")
                wav = gr.File(label="WAV file", elem_id="speech-file")
                summary = gr.Markdown(elem_id="speech-summary")
        picker.after_load, picker.after_load_output = self.voices, self.voice
        inputs = [picker.dropdown, text, self.voice, speed, seed]
        outputs = [player, mel, wav, summary]
        wire_run(
            go, stop, self.speech, inputs, outputs, api_name="speech", limit=limit, pickers=[picker]
        )
        picker.dropdown.change(self.voices_anew, picker.dropdown, self.voice, **PRIVATE)
        return picker
