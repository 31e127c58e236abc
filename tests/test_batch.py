"""genai.batch, `genai batch` and scripts/batch_generate.py, on tiny local models of real architectures.

In-process runs cover reading, planning, seeds, saving and resuming; subprocess runs cover
what only real processes show: two ranks under torchrun on the CPU (gloo), and a run
killed with SIGKILL partway and then resumed.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import genai
from genai.batch import BatchInputError, read_jobs, read_manifest, run_batch
from genai.batch.jobs import check_id
from genai.batch.manifest import PartWriter, merge, outputs_complete, part_path
from genai.cli import main as genai_main
from genai.errors import InvalidParameterError
from genai.seeding import derive_seed

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "batch_generate.py"
GREEDY = {"max_new_tokens": 6, "temperature": 0}
SAMPLED = {"max_new_tokens": 6, "temperature": 0.9}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models run fastest on one thread (on two cores that other work shares)."""
    from genai.testing.audio import torch_threads

    with torch_threads(1):
        yield


@pytest.fixture(scope="module")
def tiny_sd_dir(tmp_path_factory) -> str:
    from genai.testing.image import make_tiny_sd

    return str(make_tiny_sd(tmp_path_factory.mktemp("batch-sd") / "sd"))


@pytest.fixture(scope="module")
def tiny_vits_dir(tmp_path_factory) -> str:
    from genai.testing.audio import make_tiny_vits

    return str(make_tiny_vits(tmp_path_factory.mktemp("batch-vits") / "vits"))


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def manifest_lines(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "manifest.jsonl").read_text().splitlines()]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def text_jobs(model: str, count: int, parameters: dict, prefix: str = "t") -> list[dict]:
    words = ["the red fox", "snow in paris", "a small house", "the capital of france", "water"]
    return [
        {
            "id": f"{prefix}{i:02d}",
            "task": "text",
            "model": model,
            "prompt": " ".join(words[: i % len(words) + 1]) + f" {i}",
            "parameters": parameters,
        }
        for i in range(count)
    ]


def subprocess_env() -> dict:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false", OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


# --- reading and checking input ----------------------------------------------------------


def test_jsonl_csv_and_prompt_list_give_the_same_jobs(tmp_path, tiny_llama_dir):
    jsonl = write_jsonl(
        tmp_path / "jobs.jsonl",
        [
            {"id": "a", "model": tiny_llama_dir, "task": "text", "prompt": "the fox"},
            "",
            {
                "id": "b",
                "model": tiny_llama_dir,
                "task": "text",
                "prompt": "snow",
                "seed": 5,
                "parameters": {"max_new_tokens": 3},
            },
        ],
    )
    csv_file = tmp_path / "jobs.csv"
    csv_file.write_text(
        "id,model,task,prompt,parameters,seed\n"
        f"a,{tiny_llama_dir},text,the fox,,\n"
        f'b,{tiny_llama_dir},text,"snow","{{""max_new_tokens"": 3}}",5\n'
    )
    from_jsonl = read_jobs(jsonl, parameters={"temperature": 0})
    from_csv = read_jobs(csv_file, parameters={"temperature": 0})
    assert [j.inputs() for j in from_jsonl] == [j.inputs() for j in from_csv]
    assert [(j.id, j.seed, j.line) for j in from_jsonl] == [("a", None, 1), ("b", 5, 3)]
    assert [(j.id, j.seed, j.line) for j in from_csv] == [("a", None, 2), ("b", 5, 3)]
    # A job's own parameters win key by key over the command line's.
    assert from_jsonl[1].parameters == {"temperature": 0, "max_new_tokens": 3}
    assert from_jsonl[0].task == "text-generation"

    prompts = tmp_path / "prompts.txt"
    prompts.write_text("the fox\n\n  snow in paris  \n")
    jobs = read_jobs(prompts, model=tiny_llama_dir, task="text", parameters={"max_new_tokens": 4})
    assert [(j.id, j.prompt, j.line) for j in jobs] == [
        ("00001", "the fox", 1),
        ("00003", "snow in paris", 3),
    ]
    assert all(j.model == tiny_llama_dir and j.parameters == {"max_new_tokens": 4} for j in jobs)


def test_malformed_lines_are_reported_with_their_numbers_before_anything_runs(tmp_path):
    jobs = write_jsonl(
        tmp_path / "jobs.jsonl",
        [
            {"id": "ok", "model": "smollm2-135m", "prompt": "hello"},
            '{"id": "broken", "model": ',
            {"id": "noprompt", "model": "smollm2-135m"},
            {"id": "nomodel", "prompt": "hi"},
            {"id": "task", "model": "smollm2-135m", "task": "painting", "prompt": "hi"},
            {"id": "ok", "model": "smollm2-135m", "prompt": "again"},
            {"id": "seed", "model": "smollm2-135m", "prompt": "hi", "seed": -1},
            {"id": "field", "model": "smollm2-135m", "prompt": "hi", "parameter": {}},
            [1, 2],
            {"id": "params", "model": "smollm2-135m", "prompt": "hi", "parameters": "hot"},
        ],
    )
    with pytest.raises(BatchInputError) as caught:
        read_jobs(jobs)
    lines = dict(caught.value.problems)
    assert sorted(lines) == [2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert "not valid JSON" in lines[2]
    assert "missing prompt" in lines[3]
    assert "missing model" in lines[4]
    assert "painting" in lines[5] and "not supported" in lines[5]
    assert "duplicate id 'ok': line 1" in lines[6]
    assert "seed=-1" in lines[7]
    assert "'parameter'" in lines[8]
    assert "JSON object" in lines[9] and "JSON object" in lines[10]
    assert "line 5:" in str(caught.value)

    out = tmp_path / "out"
    assert genai_main(["batch", str(jobs), "-o", str(out)]) == 2
    assert genai_main(["batch", str(jobs), "-o", str(out), "--dry-run"]) == 2
    assert not out.exists()  # nothing generated, not even the folder


@pytest.mark.parametrize(
    "hostile",
    ["../../etc/passwd", "..", ".", "/etc/passwd", "a/b", "a\\b", ".hidden", "x" * 101, "a.", ""],
)
def test_hostile_ids_are_refused(tmp_path, hostile):
    with pytest.raises(InvalidParameterError):
        check_id(hostile)
    jobs = write_jsonl(
        tmp_path / "jobs.jsonl", [{"id": hostile, "model": "smollm2-135m", "prompt": "hi"}]
    )
    with pytest.raises(BatchInputError) as caught:
        run_batch(jobs, tmp_path / "out")
    assert caught.value.problems[0][0] == 1
    assert not (tmp_path / "out").exists() and not (tmp_path.parent / "etc").exists()


def test_safe_ids_are_kept_and_colliding_file_names_refused(tmp_path):
    assert check_id("job-1.v2_final") == "job-1.v2_final" and check_id(7) == "7"
    assert check_id("café-1") == "café-1"  # letters of any script
    rows = [
        {"id": "pic", "model": "sd-turbo", "prompt": "a fox", "parameters": {"num_images": 2}},
        {"id": "pic-2", "model": "sd-turbo", "prompt": "a cat"},
        {"id": "Text", "model": "smollm2-135m", "prompt": "hi"},
        {"id": "text", "model": "smollm2-135m", "prompt": "hi"},
    ]
    with pytest.raises(BatchInputError) as caught:
        read_jobs(write_jsonl(tmp_path / "jobs.jsonl", rows))
    problems = dict(caught.value.problems)
    assert "pic-2.*" in problems[2] and "'pic'" in problems[2]
    assert "differs only in case" in problems[4]


# --- running ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory, tiny_llama_dir, tiny_sd_dir, tiny_vits_dir):
    """One run over text (greedy and sampled), images, audio and two jobs that must fail."""
    folder = tmp_path_factory.mktemp("mixed")
    image = {"num_inference_steps": 2, "width": 32, "height": 32}
    rows = [
        *text_jobs(tiny_llama_dir, 5, GREEDY, "g"),
        *text_jobs(tiny_llama_dir, 2, SAMPLED, "s"),
        {
            "id": "s-seeded",
            "task": "text",
            "model": tiny_llama_dir,
            "prompt": "the fox",
            "seed": 42,
            "parameters": SAMPLED,
        },
        {
            "id": "img1",
            "task": "image",
            "model": tiny_sd_dir,
            "prompt": "a red fox",
            "parameters": image,
        },
        {
            "id": "img2",
            "task": "image",
            "model": tiny_sd_dir,
            "prompt": "snow",
            "parameters": {**image, "num_images": 2},
            "seed": 7,
        },
        {
            "id": "say",
            "task": "speech",
            "model": tiny_vits_dir,
            "prompt": "Hello there, how are you?",
        },
        {
            "id": "bad-param",
            "task": "text",
            "model": tiny_llama_dir,
            "prompt": "hi",
            "parameters": {"temperature": -1},
        },
        {"id": "no-model", "task": "text", "model": str(folder / "missing-model"), "prompt": "hi"},
    ]
    jobs = write_jsonl(folder / "jobs.jsonl", rows)
    out = folder / "out"
    summary = run_batch(jobs, out, seed=1234, batch_size=4, progress=False)
    return {"jobs": jobs, "out": out, "summary": summary, "rows": rows}


def test_mixed_run_writes_every_file_and_one_record_per_job(mixed_run):
    out, summary = mixed_run["out"], mixed_run["summary"]
    records = manifest_lines(out)
    assert [r["id"] for r in records] == [r["id"] for r in mixed_run["rows"]]  # input order
    by_id = {r["id"]: r for r in records}
    assert summary.total == 13 and summary.done == 11 and summary.failed == 2
    assert sorted(summary.failed_ids) == ["bad-param", "no-model"]
    assert summary.tokens == sum(
        r["result"].get("completion_tokens", 0) for r in records if r["status"] == "done"
    )
    assert (
        summary.tokens >= 8 * 6 - 8
    )  # 8 text jobs of up to 6 tokens (an early end-of-text is rare)
    assert not list(out.glob("manifest.part-*"))  # merged

    for record in records:
        if record["status"] == "done":
            assert record["error"] is None and outputs_complete(out, record)
            for entry in record["outputs"]:
                assert sha256(out / entry["path"]) == entry["sha256"]
            assert record["timings"]["generate_s"] >= 0 and record["run"] == 1
    assert "temperature" in by_id["bad-param"]["error"] and by_id["bad-param"]["outputs"] == []
    assert by_id["no-model"]["error"].startswith("ModelNotAvailableError")

    text = by_id["g00"]
    assert [o["path"] for o in text["outputs"]] == ["g00.txt", "g00.json"]
    assert text["timings"]["batch_size"] == 4  # five greedy jobs: batches of 4 and 1
    assert sorted(by_id[f"g{i:02d}"]["timings"]["batch_size"] for i in range(5)) == [1, 4, 4, 4, 4]
    assert all(by_id[i]["timings"]["batch_size"] == 1 for i in ("s00", "s01", "s-seeded"))
    saved = json.loads((out / "g00.json").read_text())
    assert saved["seed"] == text["seed"] and saved["prompt"] == text["inputs"]["prompt"]

    assert [o["path"] for o in by_id["img2"]["outputs"]] == [
        "img2-1.png",
        "img2-2.png",
        "img2.json",
    ]
    assert by_id["img2"]["result"]["seeds"] == [7, 8]
    png = genai.read_image_parameters(out / "img1.png")
    assert png["seed"] == by_id["img1"]["seed"] and png["prompt"] == "a red fox"

    import soundfile

    info = soundfile.info(str(out / "say.wav"))
    assert info.samplerate == by_id["say"]["result"]["sample_rate"] and info.frames > 0

    run = json.loads((out / "runs.jsonl").read_text().splitlines()[0])
    assert run["run"] == 1 and run["run_seed"] == 1234 and run["jobs"] == 13


def test_seeds_are_derived_recorded_and_remake_each_job_alone(
    mixed_run, tiny_llama_dir, tiny_sd_dir, tiny_vits_dir
):
    out = mixed_run["out"]
    by_id = {r["id"]: r for r in manifest_lines(out)}
    for job_id in ("g00", "s00", "img1", "say"):
        assert by_id[job_id]["seed"] == derive_seed(1234, job_id)
        assert by_id[job_id]["seed_from"] == "run" and by_id[job_id]["run_seed"] == 1234
    assert by_id["s-seeded"]["seed"] == 42 and by_id["s-seeded"]["seed_from"] == "job"
    assert by_id["s00"]["seed"] != by_id["s01"]["seed"]

    text = genai.load(tiny_llama_dir)
    for job_id in ("g00", "g03", "s00", "s01", "s-seeded"):  # greedy ones ran in a batch of 4
        record = by_id[job_id]
        alone = text(
            record["inputs"]["prompt"], seed=record["seed"], **record["inputs"]["parameters"]
        )
        assert alone.text == (out / f"{job_id}.txt").read_text(), job_id

    from PIL import Image

    image = genai.load(tiny_sd_dir)
    record = by_id["img2"]
    alone = image(
        record["inputs"]["prompt"],
        seed=record["seed"] + 1,
        **{**record["inputs"]["parameters"], "num_images": 1},
    )
    assert np.array_equal(np.asarray(alone.image), np.asarray(Image.open(out / "img2-2.png")))

    from genai.results.audio import read_audio

    voice = genai.load(tiny_vits_dir)
    record = by_id["say"]
    alone = voice(record["inputs"]["prompt"], seed=record["seed"], **record["inputs"]["parameters"])
    waveform, rate = read_audio(out / "say.wav")
    assert rate == alone.sample_rate and waveform.shape == alone.waveform.shape
    assert np.abs(waveform - alone.waveform).max() < 1e-4  # 16-bit PCM of the same samples


def test_the_same_command_makes_the_same_files(tmp_path, tiny_llama_dir):
    rows = text_jobs(tiny_llama_dir, 3, SAMPLED) + text_jobs(tiny_llama_dir, 3, GREEDY, "g")
    jobs = write_jsonl(tmp_path / "jobs.jsonl", rows)
    first = run_batch(jobs, tmp_path / "one", seed=9, progress=False)
    second = run_batch(jobs, tmp_path / "two", seed=9, batch_size=2, progress=False)
    assert first.done == second.done == 6
    for row in rows:
        assert (tmp_path / "one" / f"{row['id']}.txt").read_text() == (
            tmp_path / "two" / f"{row['id']}.txt"
        ).read_text()
    other = run_batch(jobs, tmp_path / "three", seed=10, progress=False)
    assert other.run_seed == 10
    seeds = {r["id"]: r["seed"] for r in manifest_lines(tmp_path / "three")}
    assert seeds["t00"] == derive_seed(10, "t00") != derive_seed(9, "t00")


def test_rerun_skips_done_jobs_and_redoes_incomplete_or_changed_ones(tmp_path, tiny_llama_dir):
    rows = text_jobs(tiny_llama_dir, 4, GREEDY)
    jobs = write_jsonl(tmp_path / "jobs.jsonl", rows)
    out = tmp_path / "out"
    first = run_batch(jobs, out, progress=False)
    assert first.done == 4
    again = run_batch(jobs, out, progress=False)
    assert (again.done, again.skipped, again.run, again.run_seed) == (0, 4, 2, first.run_seed)

    (out / "t01.txt").unlink()  # a lost file
    (out / "t02.json").write_text("{")  # a damaged one (another size)
    rows[3]["prompt"] = "a changed prompt"
    write_jsonl(jobs, rows)
    third = run_batch(jobs, out, progress=False)
    assert (third.done, third.skipped) == (3, 1)
    records = manifest_lines(out)
    assert [r["id"] for r in records] == ["t00", "t01", "t02", "t03"]
    assert {r["id"]: r["run"] for r in records} == {"t00": 1, "t01": 3, "t02": 3, "t03": 3}
    assert records[3]["inputs"]["prompt"] == "a changed prompt"
    assert all(outputs_complete(out, r) for r in records)


def test_retry_failed_runs_failed_jobs_again(tmp_path, tiny_llama_dir, capsys):
    import shutil

    later = tmp_path / "arrives-later"
    rows = [
        {
            "id": "ok",
            "task": "text",
            "model": tiny_llama_dir,
            "prompt": "the fox",
            "parameters": GREEDY,
        },
        {
            "id": "late",
            "task": "text",
            "model": str(later),
            "prompt": "the fox",
            "parameters": GREEDY,
        },
    ]
    jobs = write_jsonl(tmp_path / "jobs.jsonl", rows)
    out = tmp_path / "out"
    assert genai_main(["batch", str(jobs), "-o", str(out), "-q"]) == 1
    shutil.copytree(tiny_llama_dir, later)  # the model can be loaded now
    assert genai_main(["batch", str(jobs), "-o", str(out)]) == 1  # left alone, still not done
    assert "add --retry-failed" in capsys.readouterr().out
    assert read_manifest(out)["late"]["status"] == "failed"
    summary = run_batch(jobs, out, retry_failed=True, progress=False)
    assert (summary.done, summary.skipped, summary.failed) == (1, 1, 0)
    record = read_manifest(out)["late"]
    assert record["status"] == "done" and record["error"] is None and record["run"] == 3


def test_cli_prompt_file_and_dry_run(tmp_path, tiny_llama_dir, capsys):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("the red fox\nsnow in paris\nwater\n")
    out = tmp_path / "out"
    base = [
        "batch",
        str(prompts),
        "-o",
        str(out),
        "-m",
        tiny_llama_dir,
        "-t",
        "text",
        "-p",
        "max_new_tokens=5",
        "-p",
        "temperature=0",
    ]
    assert genai_main([*base, "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert "3 jobs, 0 already done, 3 to run" in printed and "in 1 call" in printed
    assert not out.exists()
    assert genai_main([*base, "--batch-size", "2", "--seed", "3"]) == 0
    printed = capsys.readouterr().out
    assert "3 done, 0 failed, 0 skipped" in printed and "run seed 3" in printed
    assert sorted(p.name for p in out.glob("*.txt")) == ["00001.txt", "00002.txt", "00003.txt"]
    assert manifest_lines(out)[0]["inputs"]["parameters"] == {"max_new_tokens": 5, "temperature": 0}
    assert genai_main([*base, "--dry-run"]) == 0
    assert "3 already done, 0 to run" in capsys.readouterr().out

    missing = [
        "batch",
        str(prompts),
        "-o",
        str(tmp_path / "x"),
        "-m",
        str(tmp_path / "nope"),
        "--dry-run",
    ]
    assert genai_main(missing) == 1
    assert "3 jobs would fail" in capsys.readouterr().out


def test_a_killed_writer_leaves_nothing_that_breaks_the_next_run(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.txt").write_text("x")
    with PartWriter(part_path(out, 1)) as writer:
        writer.write({"id": "a", "status": "done", "outputs": [{"path": "a.txt", "bytes": 1}]})
    with part_path(out, 1).open("a") as handle:
        handle.write('{"id": "b", "status": "do')  # cut off mid-line by SIGKILL
    with PartWriter(part_path(out, 1)) as writer:  # the next run's writer
        writer.write({"id": "c", "status": "failed", "outputs": []})
    assert [json.loads(line)["id"] for line in part_path(out, 1).read_text().splitlines()] == [
        "a",
        "c",
    ]
    records = merge(out, ["c", "a"])
    assert list(records) == ["c", "a"] and not part_path(out, 1).exists()
    assert outputs_complete(out, records["a"]) and not outputs_complete(out, records["c"])
    assert merge(out) == records  # merging again changes nothing


def test_a_second_run_into_the_same_folder_at_once_is_refused(tmp_path, tiny_llama_dir):
    import fcntl

    jobs = write_jsonl(tmp_path / "jobs.jsonl", text_jobs(tiny_llama_dir, 1, GREEDY))
    out = tmp_path / "out"
    out.mkdir()
    with (out / ".batch.lock").open("a") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)  # as a running batch holds it
        with pytest.raises(genai.GenaiError, match="another batch run"):
            run_batch(jobs, out, progress=False)
    assert run_batch(jobs, out, progress=False).done == 1


# --- many processes and killed runs (real subprocesses) ---------------------------------------


@pytest.mark.slow
def test_two_processes_under_torchrun_share_the_jobs_once_each(
    tmp_path, tiny_llama_dir, tiny_vits_dir
):
    rows = text_jobs(tiny_llama_dir, 10, GREEDY, "g") + text_jobs(tiny_llama_dir, 6, SAMPLED, "s")
    rows += [{"id": "say", "task": "speech", "model": tiny_vits_dir, "prompt": "Hello there."}]
    jobs = write_jsonl(tmp_path / "jobs.jsonl", rows)
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        str(SCRIPT),
        str(jobs),
        "-o",
        str(out),
        "--cpu",
        "--seed",
        "5",
        "--batch-size",
        "4",
    ]
    done = subprocess.run(
        command, env=subprocess_env(), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "17 done, 0 failed" in done.stdout and "on 2 processes" in done.stdout
    assert done.stdout.count("batch run 1") == 1  # the summary is printed once, by rank 0

    records = manifest_lines(out)
    assert sorted(r["id"] for r in records) == sorted(r["id"] for r in rows)  # each job once
    assert all(r["status"] == "done" and outputs_complete(out, r) for r in records)
    assert {r["rank"] for r in records} == {0, 1}
    assert not list(out.glob("manifest.part-*"))
    ranks = {}
    for r in records:
        ranks.setdefault(r["rank"], set()).add(r["id"])
    assert not (ranks[0] & ranks[1])
    # Seeds do not depend on which process ran a job.
    assert all(r["seed"] == derive_seed(5, r["id"]) for r in records)


@pytest.mark.slow
def test_a_run_killed_partway_resumes_with_every_job_done_once(tmp_path, tiny_llama_dir):
    rows = text_jobs(tiny_llama_dir, 30, {"max_new_tokens": 32, "temperature": 0.9})
    jobs = write_jsonl(tmp_path / "jobs.jsonl", rows)
    out = tmp_path / "out"
    command = [
        sys.executable,
        str(SCRIPT),
        str(jobs),
        "-o",
        str(out),
        "--cpu",
        "-q",
        "--seed",
        "11",
    ]
    process = subprocess.Popen(
        command, env=subprocess_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    part = part_path(out, 0)
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if part.is_file() and part.read_text().count("\n") >= 4:
                break
            time.sleep(0.02)
        assert process.poll() is None, "the run ended before it could be killed"
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait(timeout=30)
    recorded = {
        json.loads(line)["id"] for line in part.read_text().splitlines() if line.endswith("}")
    }
    assert 4 <= len(recorded) < len(rows)
    assert not (out / "manifest.jsonl").exists() or len(manifest_lines(out)) < len(rows)

    summary = run_batch(jobs, out, seed=11, progress=False)  # the same command, again
    assert summary.failed == 0 and summary.skipped >= len(recorded)
    assert summary.skipped + summary.done == len(rows)
    records = manifest_lines(out)
    assert sorted(r["id"] for r in records) == sorted(r["id"] for r in rows)  # each once
    for record in records:
        assert record["status"] == "done"
        for entry in record["outputs"]:
            assert sha256(out / entry["path"]) == entry["sha256"]
    assert not list(out.glob(".*.tmp")) and not list(out.glob("manifest.part-*"))
    # A job finished after the kill is what it would have been without it.
    last = records[-1]
    alone = genai.load(tiny_llama_dir)(
        last["inputs"]["prompt"], seed=last["seed"], **last["inputs"]["parameters"]
    )
    assert alone.text == (out / f"{last['id']}.txt").read_text()
