"""The Music & sound tab: music or sound from a description, with its mel picture, and for a
model that writes notes (MIDI) the piano roll and the .mid file beside the audio."""

from __future__ import annotations

import time
from typing import Any

import gradio as gr

from ..params import Param
from .callbacks import Tab, as_seed, audio_outputs, given, in_thread, require_text
from .widgets import Picker, control, model_picker, player_and_mel, seed_box, stop_button, wire_run

DURATION = Param("duration", float, 5.0, low=1.0, high=30.0)
EXAMPLES = [
    ["calm lo-fi piano with soft drums", 5],
    ["rain on a tin roof, distant thunder", 5],
]


class MusicTab(Tab):
    """Music or sound from a description."""

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
        result, files = await self.studio.generate(
            generator,
            [prompt],
            keywords,
            folder="audio",
            progress=progress,
            what="generating",
            unit="steps",
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
        picker = model_picker("audio", default, api_name="load_audio")
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
                player, mel = player_and_mel("Audio", "audio")
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
        inputs = [picker.dropdown, prompt, duration, seed]
        outputs = [player, mel, wav, summary, notes, others]
        wire_run(
            go, stop, self.audio, inputs, outputs, api_name="audio", limit=limit, pickers=[picker]
        )
        return picker
