"""Issue 13 at the batch boundary: a bad row never blocks the others, bad text is found before
work, the manifest is never empty or partial, and an output folder that cannot be one is a
typed error before anything runs. Tiny local Llama; every run is in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from genai.batch import BatchInputError, read_jobs, read_manifest, run_batch
from genai.batch.jobs import Job
from genai.batch.manifest import MANIFEST, PartWriter, merge, part_path, read_lines
from genai.batch.record import Recorder
from genai.batch.share import _write
from genai.cli import main as genai_main
from genai.errors import InvalidParameterError, OutputPathError

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

GREEDY = {"max_new_tokens": 4, "temperature": 0}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    from genai.testing.audio import torch_threads

    with torch_threads(1):
        yield


def job_line(model: str, job_id: str, prompt: str, **parameters) -> str:
    """One JSONL line as a file on disk holds it (a lone surrogate as its \\ud800 escape)."""
    row = {"id": job_id, "task": "text", "model": model, "prompt": prompt}
    row["parameters"] = {**GREEDY, **parameters}
    return json.dumps(row)  # ensure_ascii: valid UTF-8 on disk, the surrogate escaped


def manifest_ids(folder: Path) -> list[str]:
    return [json.loads(line)["id"] for line in (folder / MANIFEST).read_text().splitlines()]


@pytest.fixture
def surrogate_jobs(tmp_path, tiny_llama_dir) -> Path:
    """Issue 13 item 2's repro: a prompt holding a lone surrogate among good rows."""
    lines = [
        job_line(tiny_llama_dir, "a", "the red fox"),
        job_line(tiny_llama_dir, "bad", "x\ud800y"),
        job_line(tiny_llama_dir, "c", "snow in paris"),
        job_line(tiny_llama_dir, "nul", "water", stop=["a\x00b"]),
        job_line(tiny_llama_dir, "e", "a small house"),
    ]
    path = tmp_path / "jobs.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_surrogate_row_is_reported_by_the_dry_run_with_its_line(surrogate_jobs, capsys):
    out = surrogate_jobs.parent / "out"
    assert genai_main(["batch", str(surrogate_jobs), "-o", str(out), "--dry-run"]) == 1
    printed = capsys.readouterr().out
    assert "line 2: job 'bad' would fail: prompt holds invalid Unicode" in printed
    assert "line 4: job 'nul' would fail: parameters.stop[0] holds a NUL" in printed
    assert "3 jobs in 1 call" in printed  # the good ones are planned as usual
    assert not out.exists()
    jobs = read_jobs(surrogate_jobs)
    assert [(j.id, j.problem is not None) for j in jobs] == [
        ("a", False),
        ("bad", True),
        ("c", False),
        ("nul", True),
        ("e", False),
    ]


def test_a_surrogate_row_fails_alone_and_reruns_neither_crash_nor_redo(surrogate_jobs, capsys):
    out = surrogate_jobs.parent / "out"
    assert genai_main(["batch", str(surrogate_jobs), "-o", str(out)]) == 1
    printed = capsys.readouterr().out
    assert "3 done, 2 failed" in printed
    records = read_manifest(out)
    assert manifest_ids(out) == ["a", "bad", "c", "nul", "e"]  # complete, in input order
    assert not list(out.glob("manifest.part-*"))
    assert [records[i]["status"] for i in ("a", "c", "e")] == ["done"] * 3
    assert records["bad"]["status"] == "failed" and records["bad"]["outputs"] == []
    assert records["bad"]["error"].startswith("InvalidParameterError: prompt holds invalid")
    assert records["bad"]["inputs"]["prompt"] == "x\ud800y"  # recorded as given
    assert records["bad"]["line"] == 2 and "NUL" in records["nul"]["error"]
    assert not list(out.glob("bad*")) and (out / "a.txt").is_file()
    done_files = {p.name: p.stat().st_mtime_ns for p in out.glob("*.txt")}

    # The same command again: no crash, nothing redone, the failed rows left alone.
    summary = run_batch(surrogate_jobs, out, progress=False)
    assert (summary.done, summary.skipped, summary.not_retried, summary.failed) == (0, 3, 2, 0)
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.txt")} == done_files
    # Retrying the failed ones fails them again, cleanly; the manifest stays whole.
    retried = run_batch(surrogate_jobs, out, retry_failed=True, progress=False)
    assert (retried.done, retried.skipped, sorted(retried.failed_ids)) == (0, 3, ["bad", "nul"])
    assert manifest_ids(out) == ["a", "bad", "c", "nul", "e"]
    assert read_manifest(out)["bad"]["run"] == 3


def test_invalid_text_from_the_command_line_is_one_error_before_work(tmp_path, capsys):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("the fox\n")
    out = tmp_path / "out"
    argv = ["batch", str(prompts), "-o", str(out), "-m", "smollm2-135m"]
    assert genai_main([*argv, "-p", "negative_prompt=a\udcffb"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("genai: error: parameters.negative_prompt holds invalid Unicode")
    assert error.count("\n") == 1 and not out.exists()
    with pytest.raises(InvalidParameterError, match="model holds a NUL"):
        read_jobs(prompts, model="smollm2\x00")


def test_a_nul_in_a_csv_prompt_is_a_failed_job_not_a_crash(tmp_path, tiny_llama_dir):
    rows = tmp_path / "jobs.csv"
    rows.write_text(
        f"id,model,task,prompt\nok,{tiny_llama_dir},text,fox\nz,{tiny_llama_dir},text,a\x00b\n"
    )
    summary = run_batch(rows, tmp_path / "out", parameters=GREEDY, progress=False)
    assert (summary.done, summary.failed_ids) == (1, ["z"])


def test_any_string_can_be_recorded_and_read_back(tmp_path):
    path = part_path(tmp_path, 0)
    hostile = {"id": "a", "error": "x\ud800y\x00\u202e", "meta": {"k\udcff": ["\ud83d"]}}
    with PartWriter(path) as writer:
        writer.write(hostile)
    assert path.read_bytes().isascii()
    assert read_lines(path) == [hostile]


def test_a_record_that_cannot_be_written_becomes_a_failed_record(tmp_path):
    class Unprintable:
        def __str__(self):
            raise RuntimeError("no text for this")

    job = Job(id="j", model="m", task="text-generation", prompt="hi", line=3)
    recorder = Recorder(tmp_path, {"run": 1, "run_seed": 5}, 0, "wav")
    entry = recorder._record(job, "done", result={"odd": Unprintable()})
    with PartWriter(part_path(tmp_path, 0)) as writer:
        written = _write(writer, recorder, job, entry)
    assert written["status"] == "failed"
    assert written["error"] == "writing its manifest line: RuntimeError: no text for this"
    assert read_lines(part_path(tmp_path, 0)) == [json.loads(json.dumps(written))]


def test_a_full_disk_is_a_typed_error_and_leaves_no_half_line():
    if not Path("/dev/full").exists():
        pytest.skip("needs /dev/full")
    with PartWriter(Path("/dev/full")) as writer, pytest.raises(OutputPathError, match="space"):
        writer.write({"id": "a"})


def test_the_manifest_is_never_written_empty(tmp_path):
    assert merge(tmp_path) == {} and merge(tmp_path, []) == {}
    assert not (tmp_path / MANIFEST).exists()


def test_a_manifest_that_cannot_be_merged_keeps_the_parts_and_says_so(tmp_path, tiny_llama_dir):
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(
        job_line(tiny_llama_dir, "a", "fox") + "\n" + job_line(tiny_llama_dir, "b", "sea")
    )
    out = tmp_path / "out"
    (out / MANIFEST).mkdir(parents=True)  # the merge's rename onto it fails
    summary = run_batch(jobs, out, progress=False)
    assert summary.done == 2 and not summary.ok
    assert "cannot write" in summary.problems[0] and "problem: cannot write" in summary.describe()
    assert [r["id"] for r in read_lines(part_path(out, 0))] == ["a", "b"]  # kept for next time
    (out / MANIFEST).rmdir()
    again = run_batch(jobs, out, progress=False)
    assert (again.skipped, again.done, again.ok) == (2, 0, True)
    assert manifest_ids(out) == ["a", "b"] and not part_path(out, 0).exists()


def test_an_empty_manifest_left_by_the_old_crash_is_repaired(tmp_path, tiny_llama_dir):
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(job_line(tiny_llama_dir, "a", "fox") + "\n")
    out = tmp_path / "out"
    run_batch(jobs, out, progress=False)
    part_path(out, 0).write_bytes((out / MANIFEST).read_bytes())  # records only in a part
    (out / MANIFEST).write_bytes(b"")
    summary = run_batch(jobs, out, progress=False)
    assert (summary.skipped, summary.done) == (1, 0) and manifest_ids(out) == ["a"]


# --- an output folder that cannot be one (issue 13 item 5) ------------------------------------


@pytest.mark.parametrize("where", ["file", "under-a-file"])
def test_an_output_that_is_a_file_is_a_typed_error_before_work(tmp_path, capsys, where):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("the fox\n")
    target = tmp_path / "taken.txt"
    target.write_text("keep me")
    out = target if where == "file" else target / "sub"
    argv = ["batch", str(prompts), "-o", str(out), "-m", "smollm2-135m", "-q"]
    for extra in ([], ["--dry-run"]):
        assert genai_main([*argv, *extra]) == 2
        error = capsys.readouterr().err
        assert error.startswith("genai: error: output=") and error.count("\n") == 1
        assert ("is a file" in error) if where == "file" else ("is a file, not a folder" in error)
    assert target.read_text() == "keep me"
    with pytest.raises(OutputPathError):
        run_batch(prompts, out, model="smollm2-135m", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prompts.txt", "taken.txt"]


def test_malformed_rows_still_stop_the_whole_file(tmp_path):
    """Structure problems (not bad text) keep refusing the file, as before."""
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text('{"id": "a", "model": "m", "prompt": "x\\ud800"}\n{"id": "b"}\n')
    with pytest.raises(BatchInputError) as caught:
        read_jobs(jobs)
    assert [line for line, _ in caught.value.problems] == [2]


@pytest.mark.slow  # a subprocess: imports torch afresh
def test_an_output_folder_named_with_bytes_that_are_not_utf8(tmp_path, tiny_llama_dir):
    """argv hands such a name over as lone surrogates: runs.jsonl and the printed summary hold it."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("the fox\n")
    out = os.fsencode(tmp_path) + b"/out-\xff"
    command = [sys.executable, os.fsencode(root / "scripts" / "batch_generate.py")]
    command += [os.fsencode(prompts), b"-o", out, b"-m", tiny_llama_dir.encode(), b"--cpu"]
    command += [b"-p", b"max_new_tokens=2", b"-p", b"temperature=0"]
    env = dict(os.environ, PYTHONIOENCODING="utf-8:strict", HF_HUB_OFFLINE="1")
    env["PYTHONPATH"] = str(root) + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run(command, env=env, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    assert b"1 done, 0 failed" in done.stdout and b"out-\\udcff" in done.stdout
    folder = Path(os.fsdecode(out))
    assert manifest_ids(folder) == ["00001"]
    assert json.loads((folder / "runs.jsonl").read_text())["argv"][3] == os.fsdecode(out)
