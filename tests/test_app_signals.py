"""Stopping the app while it works: SIGTERM or Ctrl-C (SIGINT) in the middle of a long job
cancels the job (genai.lifecycle.on_signals), closes the server and exits with 0 (SIGTERM)
or 130 (SIGINT), saying how many generations it cancelled; no abort, no traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from genai.testing.common import free_port

pytest.importorskip("gradio", reason="the web app needs gradio: pip install 'genai-showcase[app]'")
gradio_client = pytest.importorskip("gradio_client", reason="pip install gradio_client")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny_sd(tmp_path_factory) -> str:
    from genai.testing.image import make_tiny_sd

    return str(make_tiny_sd(tmp_path_factory.mktemp("signal-models") / "sd"))


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 0), (signal.SIGINT, 130)])
def test_a_signal_mid_job_cancels_it_and_exits_cleanly(tiny_sd, tmp_path, signum, code):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GENAI_APP_")}
    env.update(
        HF_HUB_OFFLINE="1",
        GENAI_APP_IMAGE_MODEL=tiny_sd,
        GENAI_APP_OUTPUT_DIR=str(tmp_path / "out"),
        PYTHONPATH=str(ROOT),
    )
    log = tmp_path / "app.log"
    with open(log, "w") as output:
        process = subprocess.Popen(
            [sys.executable, "demos/app.py", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 300
        while "Running on" not in log.read_text():
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        client = gradio_client.Client(f"http://127.0.0.1:{port}/", verbose=False)
        job = client.submit(tiny_sd, "a fox", "", 100, 5.0, 0, 0, 1, 8, api_name="/image")
        while not any(p.desc == "denoising" for p in job.status().progress_data or []):
            assert not job.done(), "the job ended before the signal"
            time.sleep(0.05)
        process.send_signal(signum)
        returned = process.wait(timeout=120)  # the app itself waits at most 5 s for its jobs
    finally:
        if process.poll() is None:
            process.kill()
    said = log.read_text()
    assert returned == code, said[-3000:]
    name = signal.Signals(signum).name
    assert f"genai: {name}: 1 generation(s) in flight cancelled; exiting with code {code}" in said
    assert "Traceback" not in said and "terminate called" not in said, said[-3000:]
    assert not list((tmp_path / "out").rglob("*.png"))  # the cancelled job saved nothing
