"""The Music & sound tab: music or sound from a description, with its mel picture, and for a
model that writes notes (MIDI) the piano roll and the .mid file beside the audio."""

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
from .models import status_of
from .widgets import PRIVATE, Picker, control, model_picker, seed_box, stop_button

DURATION = Param("duration", float, 5.0, low=1.0, high=30.0)
EXAMPLES = [
    ["calm lo-fi piano with soft drums", 5],
    ["rain on a tin roof, distant thunder", 5],
]


def compose(
    studio: Studio,
    generator: Any,
    prompt: str,
    keywords: dict[str, Any],
    *,
    progress: gr.Progress | None,
    cancel: Any,
) -> tuple[Any, list[Any]]:
    with shown_in_page(), studio.using(generator):
        result = generator(
            prompt,
            progress=reporter(progress, "generating", "steps", cancel),
            **with_cancel(generator, cancel, keywords),
        )
        return result, studio.save(result, "audio")


class MusicTab:
    def __init__(self, studio: Studio):
        self.studio = studio

    async def audio(
        self,
        model: str,
        prompt: str,
        duration: float,
        seed: Any,
        progress=gr.Progress(),  # noqa: B008
    ) -> tuple[Any, ...]:
        """Music or sound: (player file, mel picture, download file, summary, piano roll,
        other files); the last two show only when the model gives them."""
        prompt = require_text(prompt, "The description")
        generator = await in_thread(lambda _: self.studio.load("audio", model, progress))
        keywords = given(duration=duration, seed=as_seed(seed))
        started = time.perf_counter()
        result, files = await in_thread(
            lambda cancel: compose(
                self.studio, generator, prompt, keywords, progress=progress, cancel=cancel
            )
        )
        shown = audio_outputs(result, files, started)
        return (
            shown["sound"],
            shown["mel"],
            shown["sound"],
            shown["summary"],
            gr.Image(value=shown["notes"], visible=shown["notes"] is not None),
            gr.File(value=shown["others"], visible=bool(shown["others"])),
        )

    def build(self, default: str, limit: dict[str, Any]) -> Picker:
        picker, load = model_picker("audio", default)
        status = gr.Markdown(elem_id="audio-status")
        with gr.Row():
            with gr.Column(scale=2):
                prompt = gr.Textbox(
                    label="Describe the music or sound", lines=3, elem_id="audio-prompt"
                )
                duration = control("audio", DURATION, label="Seconds", step=0.5, info=None)
                seed = seed_box("audio-seed")
                with gr.Row():
                    go = gr.Button("Generate", variant="primary", elem_id="audio-generate")
                    stop = stop_button("audio-stop")
                gr.Examples(EXAMPLES, inputs=[prompt, duration], cache_examples=False)
            with gr.Column(scale=3):
                player = gr.Audio(
                    label="Audio", type="filepath", interactive=False, elem_id="audio-audio"
                )
                mel = gr.Image(
                    label="Mel spectrogram",
                    type="pil",
                    format="png",
                    interactive=False,
                    elem_id="audio-spectrogram",
                )
                notes = gr.Image(
                    label="Piano roll (the notes the model wrote)",
                    type="pil",
                    format="png",
                    interactive=False,
                    visible=False,
                    elem_id="audio-piano-roll",
                )
                wav = gr.File(label="WAV file", elem_id="audio-file")
                others = gr.File(
                    label="Other files (MIDI, the JSON record)",
                    file_count="multiple",
                    visible=False,
                    elem_id="audio-other-files",
                )
                summary = gr.Markdown(elem_id="audio-summary")
        event = go.click(
            self.audio,
            [picker, prompt, duration, seed],
            [player, mel, wav, summary, notes, others],
            api_name="audio",
            concurrency_id="audio",
            **limit,
        )
        event.then(status_of("audio"), picker, status, **PRIVATE)
        stop.click(None, None, None, cancels=[event], queue=False, api_visibility="private")
        return Picker("audio", picker, load, status, "load_audio")
