"""Saves are atomic and exclusive (issue 20, item 2): with overwrite=False exactly one of N
concurrent saves to a path wins and the others get OutputPathError, for every result type
and its sidecar files; numbered names in a folder are claimed under a lock, so N same-seed
saves into one folder leave N outputs."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from genai.errors import OutputPathError
from genai.files import atomic_write_bytes, write_files
from genai.results.audio import AudioResult, read_audio
from genai.results.image import FramesResult, ImageResult
from genai.results.text import TextResult

THREADS = 8


def race(save, count: int = THREADS) -> list[object]:
    """Run ``save(i)`` in ``count`` threads released together; each one's return value or error."""
    barrier = threading.Barrier(count)
    outcomes: list[object] = [None] * count

    def work(index: int) -> None:
        barrier.wait()
        try:
            outcomes[index] = save(index)
        except Exception as error:  # collected and checked by the caller
            outcomes[index] = error

    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def winners(outcomes: list[object]) -> list[int]:
    """Indices of the saves that succeeded; every other one must be an OutputPathError."""
    for outcome in outcomes:
        if isinstance(outcome, Exception):
            assert isinstance(outcome, OutputPathError), repr(outcome)
            assert "exists" in str(outcome)
    return [i for i, outcome in enumerate(outcomes) if not isinstance(outcome, Exception)]


def text_result(index: int) -> TextResult:
    return TextResult(
        model="tiny", text=f"text number {index}", prompt=f"prompt {index}", seed=index
    )


def picture(index: int) -> Image.Image:
    return Image.new("RGB", (8, 8), (index * 30 % 256, 10, 20))


def image_result(index: int, count: int = 1) -> ImageResult:
    return ImageResult(
        model="tiny",
        images=[picture(index + k) for k in range(count)],
        seeds=[7 + k for k in range(count)],  # the same seed in every thread
        prompt=f"prompt {index}",
        seed=7,
    )


def audio_result(index: int, midi: bool = False) -> AudioResult:
    waveform = np.full((1, 800), (index + 1) / 100, dtype=np.float32)
    return AudioResult(
        model="tiny",
        waveform=waveform,
        sample_rate=8000,
        prompt=f"prompt {index}",
        seed=3,
        midi=f"MThd{index}".encode() if midi else None,
    )


def only_output_files(folder: Path) -> list[str]:
    names = sorted(p.name for p in folder.iterdir())
    assert not [n for n in names if n.startswith(".") or n.endswith(".tmp")], names
    return names


def test_text_one_winner_and_its_own_record(tmp_path):
    target = tmp_path / "same.txt"
    outcomes = race(lambda i: text_result(i).save(target))
    [winner] = winners(outcomes)
    assert target.read_text() == f"text number {winner}"
    assert json.loads(target.with_suffix(".json").read_text())["prompt"] == f"prompt {winner}"
    assert only_output_files(tmp_path) == ["same.json", "same.txt"]


def test_text_into_a_folder_one_winner(tmp_path):
    outcomes = race(lambda i: text_result(i).save(tmp_path))
    [winner] = winners(outcomes)
    assert (tmp_path / "text.txt").read_text() == f"text number {winner}"


def test_image_one_winner_of_a_file_name(tmp_path):
    target = tmp_path / "same.png"
    outcomes = race(lambda i: image_result(i).save(target))
    [winner] = winners(outcomes)
    with Image.open(target) as saved:
        assert saved.getpixel((0, 0)) == picture(winner).getpixel((0, 0))
    assert only_output_files(tmp_path) == ["same.png"]


def test_image_with_several_pictures_all_or_nothing(tmp_path):
    target = tmp_path / "set.png"
    outcomes = race(lambda i: image_result(i, count=3).save(target))
    [winner] = winners(outcomes)
    assert only_output_files(tmp_path) == ["set-1.png", "set-2.png", "set-3.png"]
    for k in range(3):  # every picture is the winner's: no mix of two saves
        with Image.open(tmp_path / f"set-{k + 1}.png") as saved:
            assert saved.getpixel((0, 0)) == picture(winner + k).getpixel((0, 0))


def test_same_seed_images_into_one_folder_each_get_a_number(tmp_path):
    outcomes = race(lambda i: image_result(i, count=2).save(tmp_path))
    assert winners(outcomes) == list(range(THREADS))
    names = only_output_files(tmp_path)
    assert names == [f"{n:05d}-{7 + (n - 1) % 2}.png" for n in range(1, 2 * THREADS + 1)]
    returned = sorted(p.name for outcome in outcomes for p in outcome)
    assert returned == names


def test_frames_gif_and_record_one_winner(tmp_path):
    def frames(index: int) -> FramesResult:
        return FramesResult(
            model="tiny",
            images=[picture(index), picture(index + 1)],
            seeds=[1, 2],
            seed=1,
            positions=[0.0, 1.0],
            prompt=f"prompt {index}",
        )

    target = tmp_path / "walk.gif"
    [winner] = winners(race(lambda i: frames(i).save(target)))
    assert json.loads((tmp_path / "walk.json").read_text())["prompt"] == f"prompt {winner}"
    assert only_output_files(tmp_path) == ["walk.gif", "walk.json"]
    outcomes = race(lambda i: frames(i).save(tmp_path / "strips"))
    assert winners(outcomes) == list(range(THREADS))
    assert len(only_output_files(tmp_path / "strips")) == THREADS


@pytest.mark.parametrize("midi", [False, True], ids=["audio", "piano audio with .mid"])
def test_audio_and_its_sidecars_one_winner(tmp_path, midi):
    target = tmp_path / "same.wav"
    outcomes = race(lambda i: audio_result(i, midi).save(target))
    [winner] = winners(outcomes)
    waveform, _ = read_audio(target)
    assert waveform[0, 0] == pytest.approx((winner + 1) / 100, abs=1e-4)
    assert json.loads(target.with_suffix(".json").read_text())["prompt"] == f"prompt {winner}"
    expected = ["same.json", "same.wav"]
    if midi:
        assert target.with_suffix(".mid").read_bytes() == f"MThd{winner}".encode()
        expected = ["same.json", "same.mid", "same.wav"]
    assert only_output_files(tmp_path) == expected


def test_same_seed_audio_into_one_folder_each_get_a_number(tmp_path):
    outcomes = race(lambda i: audio_result(i, midi=True).save(tmp_path))
    assert winners(outcomes) == list(range(THREADS))
    names = only_output_files(tmp_path)
    assert len(names) == 3 * THREADS  # .wav, .mid and .json of each
    for outcome in outcomes:
        prompt = json.loads(outcome.with_suffix(".json").read_text())["prompt"]
        index = int(prompt.split()[-1])
        assert outcome.with_suffix(".mid").read_bytes() == f"MThd{index}".encode()
        waveform, _ = read_audio(outcome)
        assert waveform[0, 0] == pytest.approx((index + 1) / 100, abs=1e-4)


def test_a_sidecar_made_by_another_save_undoes_the_whole_output(tmp_path):
    (tmp_path / "x.json").write_text("someone else's")
    with pytest.raises(OutputPathError, match="exists"):
        write_files([(tmp_path / "x.txt", b"text"), (tmp_path / "x.json", b"{}")])
    assert only_output_files(tmp_path) == ["x.json"]
    assert (tmp_path / "x.json").read_text() == "someone else's"


def test_overwrite_true_still_replaces_and_false_never_does(tmp_path):
    target = tmp_path / "a.bin"
    atomic_write_bytes(target, b"one", overwrite=False)
    with pytest.raises(OutputPathError, match="exists"):
        atomic_write_bytes(target, b"two", overwrite=False)
    assert target.read_bytes() == b"one"
    atomic_write_bytes(target, b"three")
    assert target.read_bytes() == b"three"
    assert only_output_files(tmp_path) == ["a.bin"]


SAVER = """
import sys
from PIL import Image
from genai.results.image import ImageResult
barrier_file, folder, index = sys.argv[1], sys.argv[2], int(sys.argv[3])
import os, time
while not os.path.exists(barrier_file):
    time.sleep(0.005)
result = ImageResult(model="tiny", images=[Image.new("RGB", (8, 8))] * 2, seeds=[5, 5], seed=5)
print(" ".join(p.name for p in result.save(folder)))
"""


def test_processes_saving_into_one_folder_each_get_numbers(tmp_path):
    """The folder lock holds between processes too (flock on the folder)."""
    folder, start = tmp_path / "out", tmp_path / "go"
    folder.mkdir()
    savers = [
        subprocess.Popen(
            [sys.executable, "-c", SAVER, str(start), str(folder), str(i)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    start.write_text("go")
    printed = [saver.communicate(timeout=300)[0].split() for saver in savers]
    assert all(saver.returncode == 0 for saver in savers)
    names = only_output_files(folder)
    assert names == [f"{n:05d}-5.png" for n in range(1, 9)]
    assert sorted(name for names in printed for name in names) == names


def test_a_folder_save_never_trips_over_a_name_taken_since_it_looked(tmp_path, monkeypatch):
    """The name a folder save would take is only a preview: another save may take it before
    this one writes (the fuzz sweep caught 7 of 8 Piper saves "succeeding" that way)."""
    import genai.results.audio as audio_module
    import genai.results.image as image_module

    audio_result(0).save(tmp_path)
    image_result(0).save(tmp_path)
    taken_audio, taken_image = tmp_path / "00001-3.wav", tmp_path / "00001-7.png"
    assert taken_audio.is_file() and taken_image.is_file()
    # Previews made before the first saves landed: they name files that exist now.
    monkeypatch.setattr(audio_module, "_numbered_path", lambda folder, seed: taken_audio)
    monkeypatch.setattr(image_module, "_numbered_paths", lambda folder, seeds: [taken_image])
    assert audio_result(1).save(tmp_path).name == "00002-3.wav"
    assert [p.name for p in image_result(1).save(tmp_path)] == ["00002-7.png"]
