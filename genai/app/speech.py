"""The Speech tab: text read aloud, with the model's voices to pick from."""

from __future__ import annotations

import time
from typing import Any

import gradio as gr

from ..params import Param
from .callbacks import (
    Studio,
    as_seed,
    audio_outputs,
    given,
    in_thread,
    reporter,
    require_text,
    shown_in_page,
    with_cancel,
)
from .models import find_loaded, status_of
from .widgets import PRIVATE, Picker, control, model_picker, seed_box, stop_button

SPEED = Param("speed", float, 1.0, low=0.5, high=2.0)
EXAMPLES = [
    ["Hello! This voice runs entirely on this computer."],
    ["The quick brown fox jumps over the lazy dog."],
]


def speak(
    studio: Studio,
    generator: Any,
    text: str,
    keywords: dict[str, Any],
    *,
    folder: str,
    progress: gr.Progress | None,
    cancel: Any,
) -> tuple[Any, list[Any]]:
    """Read ``text`` aloud with a speech generator (stopping between sentences once cancelled)."""
    with shown_in_page(), studio.using(generator):
        result = generator(
            text,
            progress=reporter(progress, "speaking", "sentences", cancel),
            **with_cancel(generator, cancel, keywords),
        )
        return result, studio.save(result, folder)


class SpeechTab:
    def __init__(self, studio: Studio):
        self.studio = studio

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
        result, files = await in_thread(
            lambda cancel: speak(
                self.studio,
                generator,
                text,
                keywords,
                folder="speech",
                progress=progress,
                cancel=cancel,
            )
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
        picker, load = model_picker("speech", default)
        status = gr.Markdown(elem_id="speech-status")
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
                player = gr.Audio(
                    label="Speech", type="filepath", interactive=False, elem_id="speech-audio"
                )
                mel = gr.Image(
                    label="Mel spectrogram",
                    type="pil",
                    format="png",
                    interactive=False,
                    elem_id="speech-spectrogram",
                )
                wav = gr.File(label="WAV file", elem_id="speech-file")
                summary = gr.Markdown(elem_id="speech-summary")
        event = go.click(
            self.speech,
            [picker, text, self.voice, speed, seed],
            [player, mel, wav, summary],
            api_name="speech",
            concurrency_id="speech",
            **limit,
        )
        event.then(status_of("speech"), picker, status, **PRIVATE).then(
            self.voices, picker, self.voice, **PRIVATE
        )
        stop.click(None, None, None, cancels=[event], queue=False, api_visibility="private")
        picker.change(self.voices_anew, picker, self.voice, **PRIVATE)
        return Picker(
            "speech", picker, load, status, "load_speech", self.voices, after_load_output=self.voice
        )
