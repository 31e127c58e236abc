"""`genai text` on a tiny GGUF: flags from the spec, -o checked before generating, stdin."""

from __future__ import annotations

import subprocess
import sys

from genai.cli import main


def test_text_command_prints_and_saves(tiny_gguf, tmp_path, capsys):
    out = tmp_path / "a.txt"
    code = main(
        [
            "text",
            "the red fox",
            "-m",
            tiny_gguf,
            "--temperature",
            "0",
            "--max-new-tokens",
            "4",
            "-o",
            str(out),
            "--stats",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0 and out.read_text() in captured.out
    assert "llama.cpp" in captured.err and (tmp_path / "a.json").is_file()


def test_existing_output_is_refused_before_generating(tiny_gguf, tmp_path, capsys):
    out = tmp_path / "a.txt"
    out.write_text("keep me")
    code = main(["text", "the red fox", "-m", tiny_gguf, "--max-new-tokens", "4", "-o", str(out)])
    captured = capsys.readouterr()
    assert code == 2 and "exists" in captured.err and captured.out == ""  # nothing generated
    assert out.read_text() == "keep me"
    assert (
        main(
            [
                "text",
                "the red fox",
                "-m",
                tiny_gguf,
                "--max-new-tokens",
                "2",
                "-o",
                str(out),
                "--overwrite",
            ]
        )
        == 0
    )
    assert out.read_text() != "keep me"


def test_wrong_suffix_and_bad_values_are_one_line_errors(tiny_gguf, tmp_path, capsys):
    assert main(["text", "hi", "-m", tiny_gguf, "-o", str(tmp_path / "x.wav")]) == 2
    assert main(["text", "hi", "-m", tiny_gguf, "--temperature", "inf"]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 2 and all(line.startswith("genai: error:") for line in errors)


def test_invalid_utf8_on_stdin_is_a_typed_error(tiny_gguf):
    done = subprocess.run(
        [sys.executable, "-m", "genai", "text", "-", "-m", tiny_gguf],
        input=b"caf\xe9 \xff",
        capture_output=True,
    )
    assert done.returncode == 2
    assert done.stderr.decode().strip().splitlines() == [
        "genai: error: stdin is not valid UTF-8 (byte 0xe9 at offset 3); convert it, e.g. with iconv -t UTF-8"
    ]
