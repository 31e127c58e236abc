"""The web app mounted at /ui by `genai serve` (and `genai demo` alone): its queue does not
busy-poll while idle."""

from __future__ import annotations

import pytest

gr = pytest.importorskip("gradio", reason="pip install 'genai-showcase[app]'")

from genai.app.page import IDLE_POLL_S, PROGRESS_POLL_S, quiet_queue  # noqa: E402


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


def test_the_whole_page_is_built_with_a_quiet_queue():
    """`genai demo` serves build_demo() as it is: its queue polls at the same slow pace."""
    from genai.app import build_demo

    queue = build_demo()._queue
    assert (queue.sleep_when_free, queue.progress_update_sleep_when_free) == (
        IDLE_POLL_S,
        PROGRESS_POLL_S,
    )


def test_the_page_at_ui_uses_the_servers_models_and_queues(tiny_gguf):
    """Through /ui (the app's own API, as a browser calls it): a served model runs through
    the server's pool and queue (so /health lists it); anything else is refused."""
    import inspect

    import genai.app

    if "gate" not in inspect.signature(genai.app.build_demo).parameters:
        pytest.skip("this genai.app takes no model gate yet (H6's work)")
    gradio_client = pytest.importorskip("gradio_client", reason="pip install gradio_client")
    import httpx

    from genai.server import ServerConfig, create_app
    from genai.server.testing import running

    app = create_app(ServerConfig(models={"chat": tiny_gguf}))
    with running(app) as url:
        client = gradio_client.Client(url + "/ui/", verbose=False)
        history, _, stats = client.predict("hi", [], "chat", "", 4, 0.0, 0.9, 1, api_name="/chat")
        assert "4 tokens" in stats
        assert httpx.get(url + "/health").json()["models_loaded"] == ["chat"]
        assert app.state.genai.pool.queues["chat"].running == 0
        with pytest.raises(Exception) as refused:
            client.predict("hi", [], "/root/.ssh", "", 4, 0.0, 0.9, 1, api_name="/chat")
        said = str(refused.value)  # the page's choices or the gate refuse it, saying nothing more
        assert "not served here" in said or "not in the list of choices" in said, said
        assert "no file or folder" not in said and "config.json" not in said
        assert httpx.get(url + "/health").json()["models_loaded"] == ["chat"]
