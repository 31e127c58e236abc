"""The web app mounted at /ui by `genai serve`: its queue does not busy-poll while idle."""

from __future__ import annotations

import pytest

gr = pytest.importorskip("gradio", reason="pip install 'genai-showcase[app]'")

from genai.server.ui import IDLE_POLL_S, PROGRESS_POLL_S, quiet_queue  # noqa: E402


def test_the_apps_queue_polls_slowly_when_idle():
    with gr.Blocks() as demo:
        gr.Textbox()
    demo.queue()
    queue = demo._queue
    assert queue.sleep_when_free < IDLE_POLL_S  # Gradio's own: 1 ms (10 ms on Windows)
    quiet_queue(demo)
    assert queue.sleep_when_free == IDLE_POLL_S
    assert queue.progress_update_sleep_when_free == PROGRESS_POLL_S
    quiet_queue(object())  # an app without Gradio's queue settings is left alone
