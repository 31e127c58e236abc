"""genai serve: a real uvicorn server on loopback, driven by the official openai client and httpx.

Tiny random-weight models of the real architectures stand in for the catalog (their text
is noise, but every path runs: the chat template, streams, diffusers, VITS, MusicGen).
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

openai = pytest.importorskip("openai", reason="the server tests use the official openai client")
pytest.importorskip("fastapi", reason="pip install 'genai-showcase[server]'")

from genai.server import Limits, ServerConfig, create_app  # noqa: E402
from genai.server.testing import running  # noqa: E402

LIMITS = Limits(max_n=4, max_body_bytes=200_000, max_image_side=256, timeout_s=60)


@pytest.fixture(scope="module")
def models(tiny_llama_dir, tmp_path_factory) -> dict[str, str]:
    from genai.testing.audio import make_tiny_musicgen, make_tiny_vits
    from genai.testing.image import make_tiny_ddpm, make_tiny_sd

    folder = tmp_path_factory.mktemp("server-models")
    return {
        "tiny-chat": tiny_llama_dir,
        "tiny-sd": str(make_tiny_sd(folder / "sd")),
        "tiny-ddpm": str(make_tiny_ddpm(folder / "ddpm")),
        "tiny-vits": str(make_tiny_vits(folder / "vits")),
        "tiny-musicgen": str(make_tiny_musicgen(folder / "musicgen")),
    }


@pytest.fixture(scope="module")
def app(models, tmp_path_factory):
    config = ServerConfig(
        models=models, limits=LIMITS, ui=False, output_dir=tmp_path_factory.mktemp("files")
    )
    return create_app(config)


@pytest.fixture(scope="module")
def base_url(app):
    with running(app) as url:
        yield url


@pytest.fixture(scope="module")
def client(base_url):
    return openai.OpenAI(base_url=base_url + "/v1", api_key="unused", max_retries=0)


@pytest.fixture(scope="module")
def http(base_url):
    with httpx.Client(base_url=base_url, timeout=120) as session:
        yield session


def chat_body(**extra) -> dict:
    body = {
        "model": "tiny-chat",
        "messages": [{"role": "user", "content": "hello there"}],
        "max_tokens": 6,
        "temperature": 0,
    }
    body.update(extra)
    return body


def sse_events(http: httpx.Client, path: str, body: dict) -> list:
    """The data lines of a server-sent event stream, JSON-decoded ([DONE] kept as a string)."""
    events = []
    with http.stream("POST", path, json=body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data: "):
                data = line[len("data: ") :]
                events.append(data if data == "[DONE]" else json.loads(data))
    return events


def post_raw(http: httpx.Client, path: str, body: dict) -> httpx.Response:
    """POST ``body`` as Python's json writes it: lone surrogates escaped, inf as Infinity."""
    return http.post(path, content=json.dumps(body), headers={"content-type": "application/json"})


def assert_openai_error(response: httpx.Response, status: int, param: str | None = None) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["message"] and "Traceback" not in error["message"]
    if param is not None:
        assert error["param"] == param, error
    return error


# --- models -------------------------------------------------------------------------------


def test_lists_the_served_models_with_their_modality(client):
    listed = {model.id: model for model in client.models.list()}
    assert set(listed) == {"tiny-chat", "tiny-sd", "tiny-ddpm", "tiny-vits", "tiny-musicgen"}
    assert listed["tiny-chat"].modality == "text"
    assert listed["tiny-sd"].modality == "image" and listed["tiny-vits"].modality == "audio"
    assert client.models.retrieve("tiny-vits").task == "text-to-speech"


def test_unknown_model_is_404_in_openai_shape(client, http):
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("no-such-model")
    response = http.post("/v1/chat/completions", json=chat_body(model="no-such-model"))
    error = assert_openai_error(response, 404, "model")
    assert error["code"] == "model_not_found" and "tiny-chat" in error["message"]


def test_a_model_of_another_modality_is_refused_with_its_route(http):
    response = http.post("/v1/chat/completions", json=chat_body(model="tiny-sd"))
    error = assert_openai_error(response, 400, "model")
    assert "/v1/images/generations" in error["message"]


# --- chat and completions -----------------------------------------------------------------


def test_chat_answers_with_usage(client):
    answer = client.chat.completions.create(**chat_body())
    assert answer.object == "chat.completion" and answer.id.startswith("chatcmpl-")
    assert answer.model == "tiny-chat"
    choice = answer.choices[0]
    assert choice.message.role == "assistant" and choice.message.content
    assert choice.finish_reason == "length"
    assert answer.usage.completion_tokens == 6 and answer.usage.prompt_tokens > 0
    assert answer.usage.total_tokens == answer.usage.prompt_tokens + 6


def test_n_gives_that_many_choices_and_seed_fixes_them(client):
    body = chat_body(n=2, temperature=1.0, seed=7, max_completion_tokens=8)
    del body["max_tokens"]
    answer = client.chat.completions.create(**body)
    assert [c.index for c in answer.choices] == [0, 1]
    assert answer.usage.completion_tokens == 16
    again = client.chat.completions.create(**body)
    assert [c.message.content for c in again.choices] == [c.message.content for c in answer.choices]
    single = client.chat.completions.create(**{**body, "n": 1})
    assert single.choices[0].message.content == answer.choices[0].message.content


def test_stream_chunks_carry_every_field_and_end_with_done(http):
    events = sse_events(http, "/v1/chat/completions", chat_body(stream=True, seed=3))
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    ids = {c["id"] for c in chunks}
    assert len(ids) == 1 and ids.pop().startswith("chatcmpl-")
    for chunk in chunks:
        assert chunk["object"] == "chat.completion.chunk"
        assert chunk["model"] == "tiny-chat" and isinstance(chunk["created"], int)
        assert "usage" not in chunk  # not asked for
        assert [c["index"] for c in chunk["choices"]] == [0]
    reasons = [c["choices"][0]["finish_reason"] for c in chunks]
    assert reasons[:-1] == [None] * (len(chunks) - 1) and reasons[-1] == "length"
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"


def test_stream_joined_equals_the_whole_answer(client, http):
    body = chat_body(seed=5, max_tokens=10)
    whole = client.chat.completions.create(**body).choices[0].message.content
    events = sse_events(http, "/v1/chat/completions", {**body, "stream": True})
    pieces = [c["choices"][0]["delta"].get("content") or "" for c in events[:-1]]
    assert "".join(pieces) == whole


def test_include_usage_sends_exactly_one_usage_chunk_last(http):
    body = chat_body(stream=True, stream_options={"include_usage": True})
    chunks = sse_events(http, "/v1/chat/completions", body)[:-1]
    with_usage = [c for c in chunks if c["usage"] is not None]
    assert len(with_usage) == 1 and with_usage[0] is chunks[-1]
    assert with_usage[0]["choices"] == []
    assert with_usage[0]["usage"]["completion_tokens"] == 6


def test_stream_with_the_openai_client(client):
    stream = client.chat.completions.create(**chat_body(stream=True, n=2))
    text = {0: "", 1: ""}
    finished = {}
    for chunk in stream:
        for choice in chunk.choices:
            text[choice.index] += choice.delta.content or ""
            if choice.finish_reason:
                finished[choice.index] = choice.finish_reason
    assert finished == {0: "length", 1: "length"} and text[0] == text[1]  # temperature 0


def test_completions_take_a_prompt_or_a_list(client, http):
    answer = client.completions.create(model="tiny-chat", prompt="once upon", max_tokens=4)
    assert answer.object == "text_completion" and answer.choices[0].text
    batch = client.completions.create(
        model="tiny-chat", prompt=["one", "two"], max_tokens=3, n=2, temperature=0
    )
    assert [c.index for c in batch.choices] == [0, 1, 2, 3]
    events = sse_events(
        http,
        "/v1/completions",
        {"model": "tiny-chat", "prompt": "hi", "max_tokens": 3, "stream": True},
    )
    assert events[-1] == "[DONE]" and events[0]["object"] == "text_completion"
    assert events[-2]["choices"][0]["finish_reason"] == "length"


# --- bad requests ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"logprobs": "yes"}, "logprobs"),
        ({"tools": [{"type": "function", "function": {}}]}, "tools"),
        ({"presence_penalty": 2.5}, "presence_penalty"),
        ({"frequency_penalty": -3}, "frequency_penalty"),
        ({"response_format": {"type": "xml"}}, "response_format"),
        ({"temprature": 0.5}, "temprature"),
        ({"temperature": -1}, "temperature"),
        ({"top_p": 0}, "top_p"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": 100_000}, "max_tokens"),
        ({"n": 99}, "n"),
        ({"seed": -1}, "seed"),
        ({"seed": 2**40}, "seed"),
        ({"n": "2"}, "n"),
        ({"stop": 5}, "stop"),
        ({"stream_options": {"include_usage": True}}, "stream_options"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "banana", "content": "hi"}]}, "messages[0].role"),
        ({"messages": [{"role": "user", "content": "x\ud800y"}]}, "messages[0].content"),
        ({"messages": [{"role": "user", "content": "x\x00y"}]}, "messages[0].content"),
        ({"logit_bias": {"12": 500}}, "logit_bias"),
        ({"logit_bias": {"not-a-token": 5}}, "logit_bias"),
        ({"logprobs": True, "top_logprobs": 21}, "top_logprobs"),
        ({"top_logprobs": 2}, "top_logprobs"),
        ({"tools": [{"type": "function", "function": {"name": "a b"}}]}, "tools"),
        ({"tool_choice": "required"}, "tool_choice"),
        ({"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": 5}}}, "response_format"),
        ({"user": 5}, "user"),
        ({"user": ["someone"]}, "user"),
        ({"metadata": {"a": 1}}, "metadata"),
        ({"metadata": "tag"}, "metadata"),
        ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
        ({"store": "yes"}, "store"),
        ({"messages": [{"role": "tool", "content": "sunny"}]}, "messages[0].tool_call_id"),
        ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "http://x/y.png"}}]}]}, "messages[0].content[0]"),
    ],
)  # fmt: skip
def test_bad_chat_requests_get_400_naming_the_parameter(http, extra, param):
    response = post_raw(http, "/v1/chat/completions", chat_body(**extra))
    error = assert_openai_error(response, 400, param)
    assert error["type"] == "invalid_request_error"


def test_neutral_values_of_unsupported_parameters_pass(client):
    answer = client.chat.completions.create(
        **chat_body(
            logprobs=False,
            presence_penalty=0,
            frequency_penalty=0,
            logit_bias={},
            top_logprobs=0,
            response_format={"type": "text"},
            tool_choice="none",
            user="someone",
            metadata={"team": "search"},
            store=False,
        )
    )
    assert answer.choices[0].message.content


def test_a_picture_in_a_message_is_refused_as_text_only(client):
    parts = [
        {"type": "text", "text": "What is in this picture?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
    ]
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(**chat_body(messages=[{"role": "user", "content": parts}]))
    assert "this model takes text only" in str(raised.value)
    text_parts = [{"type": "text", "text": "hello "}, {"type": "text", "text": "there"}]
    answer = client.chat.completions.create(
        **chat_body(messages=[{"role": "user", "content": text_parts}])
    )
    assert (
        answer.usage.prompt_tokens
        == client.chat.completions.create(**chat_body()).usage.prompt_tokens
    )


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
def test_errors_name_the_openai_field_the_client_sent(http, field):
    body = chat_body()
    del body["max_tokens"]
    response = http.post("/v1/chat/completions", json={**body, field: 100_000})
    error = assert_openai_error(response, 400, field)
    assert (
        error["message"].startswith(f"{field}=100000") and "max_new_tokens" not in error["message"]
    )


def test_tool_history_is_accepted_by_a_model_without_tools(client):
    """An assistant's tool calls and a tool's result, on a model whose template has no tools
    (tool_choice none: nothing is constrained, the history is written out as text)."""
    history = [
        {"role": "user", "content": "weather in paris"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function",
         "function": {"name": "get_weather", "arguments": '{"city": "paris"}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "snow"},
    ]  # fmt: skip
    tools = [{"type": "function", "function": {"name": "get_weather"}}]
    answer = client.chat.completions.create(
        **chat_body(messages=history, tools=tools, tool_choice="none")
    )
    assert answer.choices[0].message.content and answer.choices[0].message.tool_calls is None
    # Offered, the tools' instructions join the prompt: more than this tiny model's context,
    # which is said before any work, with the fix.
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(**chat_body(messages=history, tools=tools))
    message = raised.value.body["message"]
    assert "exceeds this model's context of 256 tokens" in message
    assert "shorten the prompt or lower max_tokens" in message


def test_openai_client_raises_bad_request(client):
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(**chat_body(presence_penalty=7))
    assert raised.value.body["param"] == "presence_penalty"


def test_body_that_is_not_json_or_too_large(http):
    response = http.post(
        "/v1/chat/completions", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_openai_error(response, 400)
    response = http.post(
        "/v1/chat/completions",
        content=b"\xff\xfe{}",
        headers={"content-type": "application/json"},
    )
    assert_openai_error(response, 400)
    huge = chat_body(messages=[{"role": "user", "content": "a" * 300_000}])
    assert_openai_error(http.post("/v1/chat/completions", json=huge), 413)


# --- images ---------------------------------------------------------------------------------


def decode_png(b64: str):
    from PIL import Image

    data = base64.b64decode(b64)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return Image.open(io.BytesIO(data))


def test_images_decode_as_pngs_of_the_asked_size(client):
    answer = client.images.generate(
        model="tiny-sd",
        prompt="a red cat",
        n=2,
        size="48x64",
        extra_body={"seed": 11, "steps": 2, "guidance_scale": 1.0},
    )
    assert len(answer.data) == 2
    for item in answer.data:
        assert decode_png(item.b64_json).size == (48, 64)
    assert answer.genai["seeds"] == [11, 12] and answer.genai["prompt_used"] is True


def test_image_url_is_served_under_a_random_name(client, http):
    answer = client.images.generate(
        model="tiny-sd", prompt="a dog", size="64x64", response_format="url",
        extra_body={"steps": 1},
    )  # fmt: skip
    url = answer.data[0].url
    name = url.rsplit("/", 1)[-1]
    assert len(name) > 30 and name.endswith(".png")
    fetched = http.get(url)
    assert fetched.status_code == 200 and fetched.content[:4] == b"\x89PNG"
    assert http.get("/v1/files/..%2F..%2Fetc%2Fpasswd").status_code == 404


def test_image_urls_use_the_servers_address_not_the_requests_host(base_url, http):
    body = {"model": "tiny-sd", "prompt": "a dog", "size": "64x64", "response_format": "url",
            "steps": 1}  # fmt: skip
    answer = http.post("/v1/images/generations", json=body, headers={"Host": "evil.example"})
    url = answer.json()["data"][0]["url"]
    assert url.startswith(base_url + "/v1/files/") and "evil" not in url


def test_unconditional_model_records_the_prompt_and_says_it_was_not_used(client):
    answer = client.images.generate(model="tiny-ddpm", prompt="a face", extra_body={"steps": 2})
    width, height = decode_png(answer.data[0].b64_json).size
    assert answer.size == f"{width}x{height}" == "16x16"  # the tiny DDPM's only size
    assert answer.genai["prompt"] == "a face" and answer.genai["prompt_used"] is False
    assert "unconditional" in answer.genai["notice"]


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"size": "big"}, "size"),
        ({"size": "4096x4096"}, "size"),
        ({"size": "60x64"}, "size"),
        ({"size": "\uff16\uff14x64"}, "size"),  # full-width digits
        ({"user": {"id": 1}}, "user"),
        ({"n": 9}, "n"),
        ({"quality": "hd"}, "quality"),
        ({"response_format": "jpeg"}, "response_format"),
        ({"guidance_scale": float("inf")}, "guidance_scale"),
    ],
)
def test_bad_image_requests_get_400(http, extra, param):
    body = {"model": "tiny-sd", "prompt": "a cat", "steps": 1, **extra}
    assert_openai_error(post_raw(http, "/v1/images/generations", body), 400, param)


# --- audio ----------------------------------------------------------------------------------


def read_audio(data: bytes):
    import soundfile

    return soundfile.read(io.BytesIO(data), dtype="float32")


def test_speech_wav_with_an_openai_voice_name(client):
    response = client.audio.speech.create(
        model="tiny-vits", input="hello world", voice="alloy", response_format="wav"
    )
    samples, rate = read_audio(response.content)
    assert rate == 16_000 and 0 < len(samples) / rate < 10  # tiny VITS: noise, not speech
    assert "default" in response.response.headers["x-genai-voice"]


@pytest.mark.parametrize("fmt", ["flac", "mp3", "opus", "pcm"])
def test_speech_formats(http, fmt):
    body = {"model": "tiny-vits", "input": "hello", "voice": "echo", "response_format": fmt}
    response = http.post("/v1/audio/speech", json=body)
    assert response.status_code == 200, response.text
    if fmt == "pcm":
        assert response.headers["x-genai-sample-rate"] == "24000"
        assert len(response.content) % 2 == 0 and len(response.content) > 100
    else:
        samples, _ = read_audio(response.content)
        assert len(samples) > 100


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"response_format": "aac"}, "response_format"),
        ({"instructions": "whisper"}, "instructions"),
        ({"input": "x" * 5000}, "input"),
        ({"voice": "nobody"}, "voice"),
    ],
)
def test_bad_speech_requests_get_400(http, extra, param):
    body = {"model": "tiny-vits", "input": "hello", **extra}
    response = post_raw(http, "/v1/audio/speech", body)
    error = assert_openai_error(response, 400, param)
    if param == "response_format":
        assert "wav" in error["message"] and "flac" in error["message"]


def test_music_through_audio_generations(http):
    body = {"model": "tiny-musicgen", "prompt": "a calm tune", "duration": 0.2, "seed": 1}
    response = http.post("/v1/audio/generations", json=body)
    assert response.status_code == 200, response.text
    samples, rate = read_audio(response.content)
    assert abs(len(samples) / rate - 0.2) < 0.05
    too_long = http.post("/v1/audio/generations", json={**body, "duration": 600})
    assert_openai_error(too_long, 400, "duration")
    speech_model = http.post("/v1/audio/generations", json={**body, "model": "tiny-vits"})
    assert_openai_error(speech_model, 400, "model")


# --- concurrency, limits, cancellation ------------------------------------------------------


def test_eight_concurrent_clients_all_complete(base_url):
    def ask(index: int) -> str:
        client = openai.OpenAI(base_url=base_url + "/v1", api_key="unused", max_retries=0)
        if index % 2:
            stream = client.chat.completions.create(**chat_body(stream=True, seed=index))
            return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        return client.chat.completions.create(**chat_body(seed=index)).choices[0].message.content

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(ask, range(8)))
    assert len(answers) == 8 and all(answers)
    assert len(set(answers)) == 1  # temperature 0: every client got the same answer


def _on_server_loop(app, coroutine):
    """Run a coroutine on the server's event loop (to hold a model's slot, say)."""
    loop = app.state.genai.loop
    return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=10)


def test_full_queue_gets_503_with_retry_after(models, tmp_path):
    limits = Limits(concurrency=1, queue_size=1, timeout_s=30)
    app = create_app(
        ServerConfig(models={"tiny-chat": models["tiny-chat"]}, limits=limits, ui=False)
    )
    with running(app) as url, httpx.Client(base_url=url, timeout=60) as http:
        server = app.state.genai
        served = server.pool.get("tiny-chat", "text", "")
        queue = server.pool.queue(served)
        _on_server_loop(app, queue.acquire(5))  # the one slot is taken
        waiting = ThreadPoolExecutor(1).submit(http.post, "/v1/chat/completions", json=chat_body())
        while queue.waiting < 1:
            time.sleep(0.01)
        refused = http.post("/v1/chat/completions", json=chat_body())
        error = assert_openai_error(refused, 503)
        assert error["code"] == "queue_full" and int(refused.headers["retry-after"]) > 0
        server.loop.call_soon_threadsafe(queue.release)
        assert waiting.result(timeout=60).status_code == 200


def _loaded_tiny_sd(models, limits: Limits):
    """A server app for tiny-sd with the model already loaded (so limits time generation only)."""
    app = create_app(ServerConfig(models={"tiny-sd": models["tiny-sd"]}, limits=limits, ui=False))
    pool = app.state.genai.pool
    pool.load(pool.get("tiny-sd", "image", ""))
    return app


LONG_IMAGES = {"model": "tiny-sd", "prompt": "a cat", "size": "64x64", "steps": 999, "n": 8}


def _wait_until_idle(app, started: float, what: str) -> None:
    queue = app.state.genai.pool.queues["tiny-sd"]
    while queue.running:
        assert time.monotonic() - started < 15, what
        time.sleep(0.05)


def test_timeout_stops_a_long_generation_and_frees_the_model(models):
    app = _loaded_tiny_sd(models, Limits(timeout_s=1.0))
    with running(app) as url:
        started = time.monotonic()
        response = httpx.post(url + "/v1/images/generations", json=LONG_IMAGES, timeout=60)
        assert assert_openai_error(response, 503)["code"] == "timeout"
        _wait_until_idle(app, started, "the generation went on after its timeout")
        assert 'genai_cancelled_total{model="tiny-sd"} 1' in httpx.get(url + "/metrics").text


def test_client_disconnect_cancels_generation(models):
    app = _loaded_tiny_sd(models, Limits())
    with running(app) as url:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(url + "/v1/images/generations", json=LONG_IMAGES, timeout=1.0)
        _wait_until_idle(app, started, "the generation went on without its client")
        assert 'genai_cancelled_total{model="tiny-sd"} 1' in httpx.get(url + "/metrics").text


# --- service routes, auth, binding ----------------------------------------------------------


def test_health_and_metrics(http, client):
    client.chat.completions.create(**chat_body())
    health = http.get("/health").json()
    assert health["status"] == "ok" and "tiny-chat" in health["models_loaded"]
    text = http.get("/metrics").text
    assert (
        'genai_requests_total{model="tiny-chat",route="/v1/chat/completions",status="200"}' in text
    )
    assert 'genai_tokens_total{kind="completion",model="tiny-chat"}' in text
    assert 'genai_request_seconds_count{model="tiny-chat",route="/v1/chat/completions"}' in text
    assert "# TYPE genai_request_seconds histogram" in text
    assert "genai_errors_total" in text  # earlier tests sent bad requests


def test_api_key_is_enforced_when_set(models):
    config = ServerConfig(models={"tiny-chat": models["tiny-chat"]}, api_key="sekret", ui=False)
    with running(config) as url:
        anonymous = openai.OpenAI(base_url=url + "/v1", api_key="wrong", max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            anonymous.models.list()
        assert_openai_error(httpx.post(url + "/v1/chat/completions", json=chat_body()), 401)
        assert httpx.get(url + "/metrics").status_code == 401
        assert httpx.get(url + "/docs").status_code == 401
        assert httpx.get(url + "/openapi.json").status_code == 401
        keyed_docs = httpx.get(url + "/openapi.json", headers={"Authorization": "Bearer sekret"})
        assert "/v1/chat/completions" in keyed_docs.json()["paths"]
        assert httpx.get(url + "/health").status_code == 200  # load balancers need no key
        keyed = openai.OpenAI(base_url=url + "/v1", api_key="sekret", max_retries=0)
        assert keyed.chat.completions.create(**chat_body()).choices[0].message.content


def test_serve_binds_loopback_by_default(models):
    from genai.cli import build_parser
    from genai.cli.serve import build_server

    args = build_parser().parse_args(
        ["serve", "--port", "0", "--no-ui", "--models", f"chat={models['tiny-chat']}"]
    )
    assert args.host == "127.0.0.1"
    server = build_server(args)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            assert thread.is_alive()
            time.sleep(0.02)
        host, port = server.servers[0].sockets[0].getsockname()[:2]
        assert host == "127.0.0.1"
        listed = httpx.get(f"http://127.0.0.1:{port}/v1/models").json()["data"]
        assert [m["id"] for m in listed] == ["chat"]
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_a_network_host_needs_an_api_key_or_no_auth(monkeypatch, capsys):
    from genai.cli import build_parser, main
    from genai.cli.serve import config_from

    monkeypatch.delenv("GENAI_API_KEY", raising=False)
    assert main(["serve", "--host", "0.0.0.0", "--no-ui"]) == 2
    assert "API key" in capsys.readouterr().err
    parser = build_parser()
    assert (
        config_from(parser.parse_args(["serve", "--host", "0.0.0.0", "--no-auth"])).api_key is None
    )
    monkeypatch.setenv("MY_KEY", "k")
    config = config_from(
        parser.parse_args(["serve", "--host", "0.0.0.0", "--api-key-env", "MY_KEY"])
    )
    assert config.api_key == "k"


@pytest.mark.slow
def test_the_studio_answers_at_ui(models):
    pytest.importorskip("gradio")
    config = ServerConfig(models={"tiny-chat": models["tiny-chat"]})
    with running(config) as url:
        page = httpx.get(url + "/ui/", timeout=60, follow_redirects=True)
        assert page.status_code == 200 and "gradio" in page.text.lower()
        assert httpx.get(url + "/v1/models").status_code == 200  # the API beside it


def test_catalog_models_on_disk_are_listed_and_others_refused_without_download():
    import genai
    from genai.catalog import find_entry

    catalog = genai.list_models()
    on_disk = {m["alias"] for m in catalog if m["on_disk"]}
    absent = [
        m["alias"]
        for m in catalog
        if m["task"] == "text-generation"
        and not m["on_disk"]
        and not find_entry(m["alias"]).offline_fallback
    ]
    with running(ServerConfig(ui=False)) as url:
        listed = {m["id"] for m in httpx.get(url + "/v1/models", timeout=60).json()["data"]}
        assert listed <= on_disk
        if absent:
            response = httpx.post(url + "/v1/chat/completions", json=chat_body(model=absent[0]))
            error = assert_openai_error(response, 404, "model")
            assert "genai pull" in error["message"]


def test_least_recently_used_model_is_unloaded_past_the_limit(models):
    served = {name: models[name] for name in ("tiny-chat", "tiny-vits")}
    config = ServerConfig(models=served, limits=Limits(max_loaded_models=1), ui=False)
    with running(config) as url, httpx.Client(base_url=url, timeout=60) as http:
        assert http.post("/v1/chat/completions", json=chat_body()).status_code == 200
        assert http.get("/health").json()["models_loaded"] == ["tiny-chat"]
        speech = {"model": "tiny-vits", "input": "hello", "response_format": "wav"}
        assert http.post("/v1/audio/speech", json=speech).status_code == 200
        assert http.get("/health").json()["models_loaded"] == ["tiny-vits"]
        assert http.post("/v1/chat/completions", json=chat_body()).status_code == 200  # reloads
        assert http.get("/health").json()["models_loaded"] == ["tiny-chat"]


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--timeout", "nan"), ("--timeout", "inf"), ("--max-audio-seconds", "inf"),
     ("--max-audio-seconds", "-1"), ("--concurrency", "0")],
)  # fmt: skip
def test_serve_refuses_limits_that_are_not_finite_and_positive(flag, value):
    from genai.cli import build_parser
    from genai.cli.serve import config_from
    from genai.errors import GenaiError

    with pytest.raises(GenaiError, match="finite number above 0"):
        config_from(build_parser().parse_args(["serve", flag, value]))


def test_serve_concurrency_defaults_to_the_engine():
    from genai.cli import build_parser
    from genai.cli.serve import config_from

    parser = build_parser()
    assert config_from(parser.parse_args(["serve"])).limits.concurrency is None
    assert config_from(parser.parse_args(["serve", "--concurrency", "2"])).limits.concurrency == 2


def test_completions_are_raw_and_echo_and_suffix_are_answered(client, tiny_llama_dir):
    import genai

    generator = genai.load(tiny_llama_dir, device="cpu")
    prompt = "the capital of france is"
    answer = client.completions.create(
        model="tiny-chat", prompt=prompt, max_tokens=3, temperature=0
    )
    assert answer.usage.prompt_tokens == generator.count_tokens(prompt, raw=True)
    assert answer.usage.prompt_tokens < generator.count_tokens(prompt)  # no chat template
    raw = generator(prompt, raw=True, max_new_tokens=3, temperature=0)
    assert answer.choices[0].text == raw.text
    echoed = client.completions.create(
        model="tiny-chat", prompt=prompt, max_tokens=3, temperature=0, echo=True
    )
    assert echoed.choices[0].text == prompt + raw.text
    with pytest.raises(openai.BadRequestError) as raised:
        client.completions.create(model="tiny-chat", prompt=prompt, suffix=" end.", max_tokens=3)
    assert raised.value.body["param"] == "suffix" and "suffix" in raised.value.body["message"]


def test_embeddings_from_an_engine_without_them_are_a_clear_400(client):
    with pytest.raises(openai.BadRequestError) as raised:
        client.embeddings.create(model="tiny-chat", input=["hello", "world"])
    assert raised.value.body["param"] == "model"
    assert "GGUF model on llama.cpp" in raised.value.body["message"]
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model="tiny-chat", input=[])
    with pytest.raises(openai.BadRequestError) as raised:
        client.embeddings.create(model="tiny-sd", input="hello")
    assert raised.value.body["param"] == "model"


def test_responses_answer_and_continue_a_stored_conversation(client):
    first = client.responses.create(
        model="tiny-chat", input="hello there", max_output_tokens=4, temperature=0,
        instructions="Answer briefly.",
    )  # fmt: skip
    assert first.object == "response" and first.id.startswith("resp_")
    assert first.status == "incomplete" and first.incomplete_details.reason == "max_output_tokens"
    assert first.output_text and first.usage.output_tokens == 4
    second = client.responses.create(
        model="tiny-chat", input="and then?", previous_response_id=first.id, max_output_tokens=4,
        temperature=0,
    )  # fmt: skip
    assert second.previous_response_id == first.id
    assert second.usage.input_tokens > first.usage.input_tokens  # the earlier turns are in it
    with pytest.raises(openai.BadRequestError) as raised:
        client.responses.create(model="tiny-chat", input="hi", previous_response_id="resp_nope")
    assert raised.value.body["param"] == "previous_response_id"
    with pytest.raises(openai.BadRequestError) as raised:
        client.responses.create(model="tiny-chat", input="hi", max_output_tokens=100_000)
    assert raised.value.body["param"] == "max_output_tokens"
    assert "max_output_tokens" in raised.value.body["message"]


def test_responses_stream_their_events(client):
    whole = client.responses.create(
        model="tiny-chat", input="hello there", max_output_tokens=5, temperature=0
    )
    events = list(
        client.responses.create(
            model="tiny-chat", input="hello there", max_output_tokens=5, temperature=0, stream=True
        )
    )
    kinds = [event.type for event in events]
    assert kinds[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert kinds[-1] == "response.incomplete" and "response.output_text.done" in kinds
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == whole.output_text == events[-1].response.output_text
    assert [e.sequence_number for e in events] == list(range(len(events)))
