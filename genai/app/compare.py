"""The Compare tab: one prompt and seed through several models of one modality, side by side.

genai.compare.compare does the work (load, call, measure, unload each model in turn) in a
worker thread; the page shows the board (the self-contained page ``genai compare`` writes)
and offers its files: board.html, board.json and, for pictures, grid.png.
"""

from __future__ import annotations

import html
import random
import re
import threading
import time
from typing import Any

import anyio
import gradio as gr

from ..cli.compare import parse_params
from ..errors import GenerationCancelled
from .callbacks import MAX_SEED, as_seed, shown_in_page
from .fitting import is_completion_model
from .models import SLOTS, model_choices
from .studio import Tab
from .widgets import seed_box, stop_button

PARAMETERS_HELP = (
    "NAME=VALUE for every model, separated by commas or lines (VALUE read as JSON when it "
    "parses), e.g. max_new_tokens=32, temperature=0"
)


def model_names(value: str | list[str] | None) -> list[str]:
    """The models asked for: a multi-select's list, or names separated by commas."""
    items = value if isinstance(value, list | tuple) else [value or ""]
    names = [name.strip() for item in items for name in str(item).split(",")]
    return [name for name in names if name]


def parameter_pairs(text: str | None) -> list[str]:
    return [pair.strip() for pair in re.split(r"[,\n]", text or "") if pair.strip()]


def framed(page: str, height: int = 640) -> str:
    """The board's page in an iframe: its own styles stay off the app's page."""
    return (
        f'<iframe title="comparison board" srcdoc="{html.escape(page, quote=True)}" '
        f'style="width: 100%; height: {height}px; border: 0;"></iframe>'
    )


# A beginning to complete that a chat model answers as well as a base model continues it
# (measured: SmolLM2 "The capital of France is Paris.", Gemma 3 270M " Paris.").
COMPLETE = "Complete the sentence: The capital of France is the city of"


def example_rows(choices: dict[str, list[str]]) -> list[list[Any]]:
    """A comparison worth a look with the text models offered here: a sentence to complete
    through a chat model and every base (completion) model there is."""
    texts = choices.get("text", [])
    completion = [name for name in texts if is_completion_model(name)]
    chat = [name for name in texts if name not in completion][:1]
    models = chat + completion
    return [[COMPLETE, models]] if len(models) > 1 else [[COMPLETE, texts[:1]]]


def summary_of(board: Any, seconds: float) -> str:
    done = [entry.model for entry in board.entries if entry.error is None]
    failed = [entry.model for entry in board.entries if entry.error is not None]
    line = f"{len(done)} of {len(board.entries)} model(s) in {seconds:.1f} s · seed {board.seed}"
    return line + (f" · failed: {', '.join(failed)}" if failed else "")


class CompareTab(Tab):
    """The same prompt and seed through N models; outputs and figures side by side."""

    async def compare(
        self,
        prompt: str,
        models: str | list[str],
        seed: Any,
        parameters: str,
        progress=gr.Progress(),  # noqa: B008
    ) -> tuple[str, list[str], str]:
        """Returns (the board in a frame, its files, a summary). Models run one after the
        other; a model that fails shows its error on the board and the others go on; Stop
        ends the comparison after the model that is running."""
        from ..compare import compare

        with shown_in_page():
            names = model_names(models)
            if not names:
                raise gr.Error("Name at least one model to compare.", print_exception=False)
            keywords = parse_params(parameter_pairs(parameters))
            seed = as_seed(seed)
        seed = random.SystemRandom().randint(0, MAX_SEED) if seed is None else seed
        folder = self.studio.fresh("compare")
        started = time.perf_counter()

        def work(cancel: threading.Event):
            done = iter(range(1, len(names) + 1))

            def turn_over(entry: Any) -> None:
                if cancel.is_set():
                    raise GenerationCancelled(f"the comparison stopped after {entry.model}")
                if progress is not None:
                    progress((next(done), len(names)), desc=f"{entry.model} done", unit="models")

            with shown_in_page():
                board = compare(prompt or None, names, seed=seed, on_entry=turn_over, **keywords)
                return board, board.save(folder)

        cancel = threading.Event()
        try:
            board, files = await anyio.to_thread.run_sync(work, cancel, abandon_on_cancel=True)
        except BaseException:
            cancel.set()
            raise
        summary = summary_of(board, time.perf_counter() - started)
        return framed(board.html()), [str(path) for path in files], summary

    def build(self, limit: dict[str, Any]) -> None:
        gr.Markdown(
            "The same prompt and seed through several models of one modality, one after the "
            "other: outputs side by side with load time, generation time, peak memory and "
            "speed. The board saves as a page you can open (and a PNG grid for pictures)."
        )
        offered = {slot: model_choices(slot) for slot in SLOTS}
        choices = [choice for slot in SLOTS for choice in offered[slot]]
        with gr.Row():
            prompt = gr.Textbox(label="Prompt", scale=3, elem_id="compare-prompt")
            models = gr.Dropdown(
                choices=choices,
                multiselect=True,
                allow_custom_value=True,
                label="Models (one modality)",
                info="from the catalog, or type hub ids or local paths",
                scale=3,
                elem_id="compare-models",
            )
        with gr.Row():
            seed = seed_box("compare-seed")
            parameters = gr.Textbox(
                label="Parameters", info=PARAMETERS_HELP, scale=2, elem_id="compare-parameters"
            )
        with gr.Row():
            go = gr.Button("Compare", variant="primary", elem_id="compare-generate")
            stop = stop_button("compare-stop")
        gr.Examples(
            example_rows({slot: [name for _, name in offered[slot]] for slot in SLOTS}),
            inputs=[prompt, models],
            cache_examples=False,
            elem_id="compare-examples",
        )
        summary = gr.Markdown(elem_id="compare-summary")
        board = gr.HTML(elem_id="compare-board")
        files = gr.File(
            label="Board files", file_count="multiple", interactive=False, elem_id="compare-files"
        )
        event = go.click(
            self.compare,
            [prompt, models, seed, parameters],
            [board, files, summary],
            api_name="compare",
            concurrency_id="compare",
            **limit,
        )
        stop.click(None, None, None, cancels=[event], queue=False, api_visibility="private")
