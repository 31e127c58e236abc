"""The app reaches models only through its ModelGate (genai/app/gate.py): every model use
goes through ``gate.run``, the pickers offer ``gate.choices``, and a serving gate (how
``genai serve`` mounts the page at /ui) loads no path typed into the page and never says
whether one exists.

The gates here are small subclasses of the app's own ModelGate that record what passes and
hand it to the real ``genai.load`` (a server's gate maps its ids to sources the same way).
"""

from __future__ import annotations

import threading

import pytest

from genai.testing.common import free_port

pytest.importorskip("gradio", reason="the web app needs gradio: pip install 'genai-showcase[app]'")
gradio_client = pytest.importorskip("gradio_client", reason="pip install gradio_client")

from genai.app.gate import ModelGate  # noqa: E402


class RecordingGate(ModelGate):
    """The default gate, noting each model use (name, task) and whether the work ran."""

    def __init__(self) -> None:
        self.uses: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def run(self, name, task, work, *, cancel=None):
        with self._lock:
            self.uses.append((name, task))
        return super().run(name, task, work, cancel=cancel)


class ServingGate(RecordingGate):
    """What a server's gate looks like to the page: served ids only, mapped to sources."""

    serving = True

    def __init__(self, served: dict[str, str]) -> None:
        super().__init__()
        self.served = served  # id -> source, per slot by the id's prefix

    def choices(self, task):
        return [name for name in self.served if name.startswith(task)]

    def run(self, name, task, work, *, cancel=None):
        import genai

        if name not in self.choices(task):
            raise genai.ModelNotAvailableError(f"model {name!r} is not served here")
        with self._lock:
            self.uses.append((name, task))
        return work(genai.load(self.served[name]))


def launch(demo):
    from genai.testing.audio import torch_threads

    port = free_port()
    with torch_threads(1):
        demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    return gradio_client.Client(f"http://127.0.0.1:{port}/", verbose=False)


def test_every_model_use_goes_through_the_gate(tiny_models, tmp_path):
    from genai.app import build_demo

    gate = RecordingGate()
    demo = build_demo(default_models=tiny_models, output_dir=tmp_path, gate=gate)
    try:
        client = launch(demo)
        client.predict(tiny_models["text"], api_name="/load_text")
        client.predict("hi", [], tiny_models["text"], "", 4, 0.0, 0.9, 1, api_name="/chat")
        client.predict(tiny_models["image"], "a fox", "", 2, 5.0, 0, 0, 1, 1, api_name="/image")
        client.predict(tiny_models["speech"], "hello", "", 1.0, 1, api_name="/speech")
        client.predict(tiny_models["audio"], "calm", 1.0, 1, api_name="/audio")
        client.predict(
            "a fox",
            tiny_models["text"],
            tiny_models["image"],
            tiny_models["speech"],
            20,
            1,
            api_name="/story",
        )
    finally:
        demo.close()
    tasks = [task for _, task in gate.uses]
    assert tasks[:5] == ["text", "text", "image", "speech", "audio"]
    # The story: its text, picture prompt, picture and narration, each through the gate.
    assert tasks[5:] == ["text", "text", "image", "speech"], gate.uses
    assert {name for name, _ in gate.uses} == set(tiny_models.values())


@pytest.fixture(scope="module")
def served_page(tiny_models, tmp_path_factory):
    from genai.app import build_demo

    gate = ServingGate(
        {
            "text-chat": tiny_models["text"],
            "image-sd": tiny_models["image"],
            "speech-voice": tiny_models["speech"],
            "audio-music": tiny_models["audio"],
        }
    )
    demo = build_demo(output_dir=tmp_path_factory.mktemp("served-out"), gate=gate)
    try:
        yield demo, gate, launch(demo)
    finally:
        demo.close()


def dropdowns(demo) -> dict[str, dict]:
    config = demo.get_config_file()
    return {
        c["props"]["elem_id"]: c["props"]
        for c in config["components"]
        if c.get("type") == "dropdown" and str(c["props"].get("elem_id", "")).endswith("-model")
    }


def test_a_serving_page_offers_only_the_served_models(served_page):
    demo, _, client = served_page
    pickers = dropdowns(demo)
    assert set(pickers) >= {"text-model", "image-model", "speech-model", "audio-model"}
    for elem_id, props in pickers.items():
        offered = [choice[1] for choice in props["choices"]]
        assert offered and all(name.split("-")[0] in elem_id for name in offered), offered
        assert props["allow_custom_value"] is False, elem_id
    assert demo.studio.defaults == {
        "text": "text-chat",
        "image": "image-sd",
        "speech": "speech-voice",
        "audio": "audio-music",
    }
    # The comparison loads and unloads models in turn, outside a server's pool: not served.
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert "/compare" not in endpoints


def test_a_serving_page_runs_served_models_through_the_gate(served_page):
    _, gate, client = served_page
    before = len(gate.uses)
    history, _, stats = client.predict("hi", [], "text-chat", "", 4, 0.0, 0.9, 1, api_name="/chat")
    assert "4 tokens" in stats
    assert gate.uses[before:] == [("text-chat", "text")]


def message_of(call) -> str:
    with pytest.raises(Exception) as caught:
        call()
    return str(caught.value)


def test_a_serving_page_never_tells_whether_a_path_exists(served_page, tiny_models, tmp_path):
    """A real model folder, a folder that is no model, and a path that does not exist get
    the same message (but for the name itself, echoed) from every endpoint that takes a
    model name, and nothing is loaded."""
    demo, gate, client = served_page
    import genai

    before, loaded = len(gate.uses), {g.source.location for g in genai.loaded()}
    paths = [tiny_models["speech"], str(tmp_path), "/no/such/model", "/root/.ssh"]
    calls = {
        "/load_speech": lambda p: client.predict(p, api_name="/load_speech"),
        "/speech": lambda p: client.predict(p, "hello", "", 1.0, 1, api_name="/speech"),
        "/chat": lambda p: client.predict("hi", [], p, "", 4, 0.0, 0.9, 1, api_name="/chat"),
        "/image": lambda p: client.predict(p, "a fox", "", 2, 5.0, 0, 0, 1, 1, api_name="/image"),
    }
    for endpoint, call in calls.items():
        said = {message_of(lambda p=path, c=call: c(p)).replace(path, "<name>") for path in paths}
        assert len(said) == 1, (endpoint, said)
        text = said.pop()
        assert "<name>" in text and ("not served here" in text or "not in the list" in text)
        for word in ("no file or folder", "config.json", "not a catalog alias", "unknown model"):
            assert word not in text, (endpoint, text)
    assert len(gate.uses) == before  # refused before the gate: nothing ran
    assert {g.source.location for g in genai.loaded()} <= loaded | set(gate.served.values())
    status = demo.studio.status_of("speech")
    assert status("/no/such/model") == status(tiny_models["speech"])
    assert "not served here" in status("/root/.ssh")
