"""The `genai` command: text, models, info, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from genai.cli import main


def run_cli(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_text_command(capsys, tiny_gpt2_dir, tmp_path):
    out_file = tmp_path / "answer.txt"
    code, out, err = run_cli(
        capsys,
        "text",
        "the red fox",
        "--model",
        tiny_gpt2_dir,
        "--max-new-tokens",
        "4",
        "--temperature",
        "0",
        "--seed",
        "3",
        "-o",
        str(out_file),
        "--stats",
    )
    assert code == 0
    assert out.strip() == out_file.read_text().strip() != ""
    assert json.loads(out_file.with_suffix(".json").read_text())["seed"] == 3
    assert "4 tokens" in err and "finish: length" in err


def test_text_stream(capsys, tiny_gpt2_dir):
    code, streamed, _ = run_cli(
        capsys,
        "text",
        "the red fox",
        "-m",
        tiny_gpt2_dir,
        "--max-new-tokens",
        "5",
        "--temperature",
        "0",
        "--stream",
    )
    code2, plain, _ = run_cli(
        capsys,
        "text",
        "the red fox",
        "-m",
        tiny_gpt2_dir,
        "--max-new-tokens",
        "5",
        "--temperature",
        "0",
    )
    assert code == code2 == 0 and streamed == plain


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["text", ""], "prompt is empty"),
        (["text", "hi", "--model", "no-such-model"], "unknown model"),
        (["text", "hi", "--model", "./missing/folder"], "no file or folder"),
        (["text", "hi", "--temperature", "-1"], "temperature"),
        (["info", "no-such-model"], "unknown model"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, tiny_gpt2_dir, argv, fragment):
    if "--temperature" in argv:
        argv = [*argv, "--model", tiny_gpt2_dir]
    code, _, err = run_cli(capsys, *argv)
    assert code == 2
    error_lines = [line for line in err.splitlines() if line.startswith("genai: error:")]
    assert len(error_lines) == 1 and fragment in error_lines[0]
    assert "Traceback" not in err


def test_models_table(capsys):
    code, out, _ = run_cli(capsys, "models", "--task", "text")
    assert code == 0 and "smollm2-135m" in out and "on disk" in out


def test_models_json(capsys):
    code, out, _ = run_cli(capsys, "models", "--json")
    rows = json.loads(out)
    assert code == 0 and {"alias", "on_disk", "license", "params"} <= set(rows[0])


def test_info_on_a_folder(capsys, tiny_t5_dir):
    code, out, _ = run_cli(capsys, "info", tiny_t5_dir)
    record = json.loads(out)
    assert code == 0 and record["family"] == "seq2seq-lm" and record["kind"] == "folder"


def test_pull_offline_is_a_clear_error(capsys):
    code, _, err = run_cli(capsys, "pull", "smollm2-360m")
    assert code == 2 and "cannot be downloaded" in err


def test_entry_point_runs_as_a_program():
    done = subprocess.run(
        [sys.executable, "-m", "genai", "models"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and "flan-t5-small" in done.stdout


def test_import_is_light():
    code = "import sys, genai; print(sorted(m for m in ('torch', 'transformers', 'diffusers') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]"
