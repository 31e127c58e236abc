"""The Music & sound tab: music or sound from a description, with its mel picture, and for a
model that writes notes (MIDI) the piano roll and the .mid file beside the audio."""

from __future__ import annotations

import time
from typing import Any

import gradio as gr

from ..params import Param
from .callbacks import as_seed, audio_outputs, checked, number, require_text, shown_in_page
from .fitting import bounds, call_spec_of, examples_for
from .models import catalog_defaults
from .studio import Tab
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

DURATION = Param("duration", float, 5.0, low=1.0, high=30.0)


def example_rows(name: str) -> list[list[Any]]:
    """The model's examples, each at the model's own default length."""
    seconds = catalog_defaults(name).get("duration", DURATION.default)
    return [[example, seconds] for example in examples_for("audio", name)]


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
        with shown_in_page():
            name = self.studio.model_name("audio", model)
            prompt = require_text(prompt, "The description")
            keywords = checked(
                call_spec_of("audio", name),
                duration=number(duration, "duration"),
                seed=as_seed(seed),
            )
        started = time.perf_counter()
        _, result, files = await self.studio.generate(
            "audio",
            name,
            lambda generator: ([prompt], keywords),
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

    def another_model(self, name: str) -> tuple[Any, Any]:
        """Another model: its own default length and bounds, and examples that suit it."""
        if not self.studio.knows("audio", name):
            return gr.skip(), gr.skip()
        low, high = bounds("audio", name, "duration", DURATION.low, DURATION.high)
        seconds = catalog_defaults(name).get("duration", DURATION.default)
        return (
            gr.update(value=min(seconds, high), minimum=low, maximum=high),
            gr.Dataset(samples=example_rows(name)),
        )

    def build(self, default: str, limit: dict[str, Any]) -> Picker:
        picker = model_picker(
            "audio", default, api_name="load_audio", served=self.studio.served("audio")
        )
        low, high = bounds("audio", default, "duration", DURATION.low, DURATION.high)
        seconds = catalog_defaults(default).get("duration", DURATION.default)
        with gr.Row():
            with gr.Column(scale=2):
                prompt = gr.Textbox(
                    label="Describe the music or sound", lines=3, elem_id="audio-prompt"
                )
                duration = control(
                    "audio",
                    DURATION,
                    value=min(seconds, high),
                    label="Seconds",
                    step=0.5,
                    info=None,
                    minimum=low,
                    maximum=high,
                    elem_id="audio-duration",
                )
                seed = seed_box("audio-seed")
                with gr.Row():
                    go = gr.Button("Generate", variant="primary", elem_id="audio-generate")
                    stop = stop_button("audio-stop")
                examples = gr.Examples(
                    example_rows(default),
                    inputs=[prompt, duration],
                    cache_examples=False,
                    elem_id="audio-examples",
                )
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
            go,
            stop,
            self.audio,
            inputs,
            outputs,
            api_name="audio",
            limit=limit,
            pickers=[picker],
            status=self.studio.status_of,
        )
        picker.dropdown.change(
            self.another_model, picker.dropdown, [duration, examples.dataset], **PRIVATE
        )
        return picker
