"""The Speech tab: text read aloud, with the model's voices to pick from."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import gradio as gr

from ..params import Param
from .callbacks import as_seed, audio_outputs, checked, number, require_text, shown_in_page
from .fitting import call_spec_of, examples_for
from .models import find_loaded
from .studio import Studio, Tab
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


def voice_value(voice: Any) -> str | int | None:
    """A voice box value: empty means the model's default; ASCII digits a speaker number;
    anything else a name the model checks ('²' stays a name: it is no number)."""
    if voice is None:
        return None
    voice = require_text(voice, "The voice") if not isinstance(voice, str) else voice.strip()
    if not voice:
        return None
    return int(voice) if re.fullmatch(r"[0-9]{1,9}", voice) else voice


async def speak(
    studio: Studio,
    name: str,
    text: str,
    keywords: dict[str, Any],
    *,
    folder: str,
    progress: gr.Progress | None,
) -> tuple[Any, Any, list[Path]]:
    """Read ``text`` aloud with the slot's speech model (Stop ends it between sentences):
    (generator, result, files)."""
    return await studio.generate(
        "speech",
        name,
        lambda generator: ([text], keywords),
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
        with shown_in_page():
            name = self.studio.model_name("speech", model)
            text = require_text(text, "The text to speak")
            speed = number(speed, "speed")
            keywords = checked(
                call_spec_of("speech", name),
                seed=as_seed(seed),
                voice=voice_value(voice),
                speed=None if speed == 1.0 else speed,  # 1.0: the model's own pace
            )
        started = time.perf_counter()
        _, result, files = await speak(
            self.studio, name, text, keywords, folder="speech", progress=progress
        )
        shown = audio_outputs(result, files, started)
        return shown["sound"], shown["mel"], shown["sound"], shown["summary"]

    def voices(self, name: str) -> dict[str, Any]:
        """Voice choices of the speech model, if it is loaded and has several."""
        if not self.studio.knows("speech", name):
            return gr.update(choices=[])
        generator = find_loaded((name or "").strip())
        names = list(getattr(generator, "voices", None) or []) if generator else []
        return gr.update(choices=names)

    def another_model(self, name: str) -> tuple[Any, Any]:
        """Another speech model: its voices, none picked, and its examples."""
        if not self.studio.knows("speech", name):
            return gr.skip(), gr.skip()
        samples = [[example] for example in examples_for("speech", name)]
        return {**self.voices(name), "value": ""}, gr.Dataset(samples=samples)

    def build(self, default: str, limit: dict[str, Any]) -> Picker:
        picker = model_picker(
            "speech", default, api_name="load_speech", served=self.studio.served("speech")
        )
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
                        elem_id="speech-voice",
                    )
                    speed = control(
                        "audio", SPEED, label="Speed", info=None, elem_id="speech-speed"
                    )
                seed = seed_box("speech-seed")
                with gr.Row():
                    go = gr.Button("Speak", variant="primary", elem_id="speech-generate")
                    stop = stop_button("speech-stop")
                examples = gr.Examples(
                    [[example] for example in examples_for("speech", default)],
                    inputs=[text],
                    cache_examples=False,
                    elem_id="speech-examples",
                )
            with gr.Column(scale=3):
                player, mel = player_and_mel("Speech", "speech")
                wav = gr.File(label="WAV file", elem_id="speech-file")
                summary = gr.Markdown(elem_id="speech-summary")
        picker.after_load, picker.after_load_output = self.voices, self.voice
        inputs = [picker.dropdown, text, self.voice, speed, seed]
        outputs = [player, mel, wav, summary]
        wire_run(
            go,
            stop,
            self.speech,
            inputs,
            outputs,
            api_name="speech",
            limit=limit,
            pickers=[picker],
            status=self.studio.status_of,
        )
        picker.dropdown.change(
            self.another_model, picker.dropdown, [self.voice, examples.dataset], **PRIVATE
        )
        return picker
