"""The whole page: one tab per modality, their model pickers' loading and status, and launch."""

from __future__ import annotations

import os
import sys
from typing import Any

import gradio as gr

from .compare import CompareTab
from .gate import ModelGate
from .image import ImageTab
from .models import SLOTS, resolve_defaults
from .music import MusicTab
from .options import DEFAULT_HOST, check_port, parse_args
from .signals import stop_on_signals
from .speech import SpeechTab
from .story import StoryTab
from .studio import OUTPUT_DIR_ENV, Studio
from .text import TextTab
from .widgets import PRIVATE, Picker

# Pictures never stretch beyond their display size, and when the browser scales one it keeps
# the pixels crisp (a grid of 64x64 faces drawn at 2x, not a blur).
CSS = """
.crisp img { image-rendering: pixelated; object-fit: scale-down !important; }
#story-image img { width: 100%; height: 100%; }
"""
# Gradio keeps a copy of every file it serves: drop copies older than a day, checked hourly
# (and all of them when the server stops).
DELETE_CACHE = (3600, 86400)

# Gradio's queue polls while it is idle: every 1 ms for new events and every 10 ms for progress
# (gradio/queueing.py). Measured here: 1.5 s of CPU per 30 s of an idle `genai serve`, against
# 0.06 s without /ui. Polling at these intervals instead costs at most this long before a job
# starts or a progress bar moves.
IDLE_POLL_S = 0.1
PROGRESS_POLL_S = 0.2


def quiet_queue(demo) -> None:
    """Slow the idle polling of a Gradio app's queue (where this Gradio has those settings)."""
    queue = getattr(demo, "_queue", None)
    for name, seconds in (
        ("sleep_when_free", IDLE_POLL_S),
        ("progress_update_sleep_when_free", PROGRESS_POLL_S),
    ):
        if isinstance(getattr(queue, name, None), (int, float)):
            setattr(queue, name, max(getattr(queue, name), seconds))


def build_demo(
    default_models: dict[str, str] | None = None,
    *,
    output_dir: str | os.PathLike | None = None,
    concurrency_limit: int = 1,
    gate: ModelGate | None = None,
) -> gr.Blocks:
    """The whole app as a gr.Blocks, queued; launch it with :func:`launch` or ``demo.launch()``.

    ``default_models`` maps slots (text, image, speech, audio) to a catalog alias, hub id or
    local path (else GENAI_APP_<SLOT>_MODEL, else the catalog default). Files go to
    ``output_dir`` (else GENAI_APP_OUTPUT_DIR, else a temporary folder made at the first
    output and removed at exit). ``concurrency_limit`` is how many calls one model serves at
    once: each tab has its own queue, so a long job in one tab never holds up another.
    ``gate`` is how the page reaches models (genai.app.gate.ModelGate; ``genai serve``
    passes its own, so /ui follows the server's rules).
    """
    gate = gate or ModelGate()
    defaults = resolve_defaults(default_models, {slot: gate.choices(slot) for slot in SLOTS})
    studio = Studio(defaults, output_dir, gate)
    limit = {"concurrency_limit": concurrency_limit}
    with gr.Blocks(title="genai studio", delete_cache=DELETE_CACHE) as demo:
        demo.studio = studio  # tests and callers reach the output folder through it
        gr.Markdown(
            "# genai studio\nSmall open models for text, pictures and sound, running on this "
            "machine. Each tab loads its model on first use."
        )
        pickers: list[tuple[gr.Tab, Picker]] = []
        with gr.Tab("Text", id="text") as tab:
            pickers.append((tab, TextTab(studio).build(defaults["text"], limit)))
        with gr.Tab("Image", id="image") as tab:
            pickers.append((tab, ImageTab(studio).build(defaults["image"], limit)))
        with gr.Tab("Audio", id="audio") as tab, gr.Tabs():
            with gr.Tab("Speech", id="speech"):
                pickers.append((tab, SpeechTab(studio).build(defaults["speech"], limit)))
            with gr.Tab("Music & sound", id="music"):
                pickers.append((tab, MusicTab(studio).build(defaults["audio"], limit)))
        with gr.Tab("Story", id="story") as tab:
            pickers += [(tab, p) for p in StoryTab(studio).build(defaults, limit)]
        if not gate.serving:  # it loads and unloads models in turn to measure them
            with gr.Tab("Compare", id="compare"):
                CompareTab(studio).build(limit)
        for tab, picker in pickers:
            wire_picker(demo, studio, tab, picker, limit)
    demo.queue(default_concurrency_limit=concurrency_limit)
    quiet_queue(demo)
    return demo


def wire_picker(
    demo: gr.Blocks, studio: Studio, tab: gr.Tab, picker: Picker, limit: dict[str, Any]
) -> None:
    """Load now, and the status line kept current: on opening, on a new pick, on a tab switch
    (another tab, or the story, may have loaded the model meanwhile)."""
    status = studio.status_of(picker.slot)

    def load(name: str, progress=gr.Progress()) -> str:  # noqa: B008
        studio.call(picker.slot, name, lambda generator: None, progress=progress)
        return status(name)

    load.__name__ = f"load_{picker.slot}"
    loading = picker.load.click(
        load,
        picker.dropdown,
        picker.status,
        api_name=picker.api_name,
        api_visibility="public" if picker.api_name else "private",
        concurrency_id=picker.slot,
        **limit,
    )
    if picker.after_load is not None:
        loading.then(picker.after_load, picker.dropdown, picker.after_load_output, **PRIVATE)
    for event in (picker.dropdown.change, demo.load, tab.select):
        event(status, picker.dropdown, picker.status, **PRIVATE)


def launch(
    demo: gr.Blocks,
    *,
    host: str = DEFAULT_HOST,
    port: int | None = None,
    share: bool = False,
    **options: Any,
):
    """Start the server (loopback unless ``host`` says otherwise; a public link only with ``share``)."""
    allowed = list(options.pop("allowed_paths", None) or [])
    if os.environ.get(OUTPUT_DIR_ENV):
        allowed.append(os.environ[OUTPUT_DIR_ENV])
    return demo.launch(
        server_name=host,
        server_port=port,
        share=share,
        allowed_paths=allowed or None,
        theme=gr.themes.Soft(),
        css=CSS,
        **options,
    )


def serve(host: str = DEFAULT_HOST, port: int | None = None, share: bool = False, demo=None):
    """Check the port, build the app (unless given), and serve it until interrupted; on
    SIGTERM or SIGINT the running jobs are cancelled (5 s at most) and the process exits
    with 0 (SIGTERM) or 130 (SIGINT)."""
    check_port(host, port)
    demo = demo or build_demo()
    stop_on_signals(demo)
    return launch(demo, host=host, port=port, share=share)


def main(argv: list[str] | None = None, demo: gr.Blocks | None = None) -> int:
    """``python -m genai.app`` / ``python demos/app.py``: --host, --port, --share."""
    from ..errors import GenaiError

    arguments = parse_args(argv)
    try:
        serve(arguments.host, arguments.port, arguments.share, demo=demo)
    except GenaiError as error:
        print(f"genai: error: {error}", file=sys.stderr)
        return 2
    return 0
