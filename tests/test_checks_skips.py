"""The skip report (genai.testing.skips): a pytest run lists its skips with their markers and
reasons, and the check fails on any skip the allow-list does not name."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from genai.testing.skips import allowed_patterns, main, unexpected

ROOT = Path(__file__).resolve().parent.parent

SAMPLE = """
import pytest

def test_runs():
    assert True

@pytest.mark.gpu
def test_on_a_gpu():
    pytest.skip("needs a CUDA GPU")

@pytest.mark.slow
def test_left_out():
    pytest.skip("real weights absent: pip install something")

@pytest.mark.skipif(True, reason="never here")
def test_never():
    pass
"""


def test_a_run_reports_each_skip_with_markers_and_reason(tmp_path):
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    gpu: x\n    slow: y\n")
    report = tmp_path / "skips.txt"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "genai.testing.skips",
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "GENAI_SKIP_REPORT": str(report), "PYTHONPATH": str(ROOT)},
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(report.read_text().splitlines()) == [
        "test_sample.py::test_left_out [slow] real weights absent: pip install something",
        "test_sample.py::test_never [] never here",
        "test_sample.py::test_on_a_gpu [gpu] needs a CUDA GPU",
    ]
    assert "skips: 3" in done.stdout and "   1  never here" in done.stdout

    allowed = tmp_path / "allowed.txt"
    allowed.write_text("# GPU tests without CUDA\n\\[[^\\]]*\\bgpu\\b[^\\]]*\\] .*(?i:cuda)\n")
    assert main([str(report), str(allowed)]) == 1  # two skips are not on the list
    allowed.write_text(allowed.read_text() + "never here  # a reason pattern, a comment\nabsent\n")
    assert main([str(report), str(allowed)]) == 0


def test_the_projects_allow_list_takes_gpu_skips_only_where_cuda_is_missing():
    patterns = allowed_patterns(ROOT / "tests" / "skips-allowed.txt")
    assert len(patterns) <= 5  # short, or it hides tests that never run
    fine = [
        "tests/test_gpu_image.py::test_fp16 [gpu,slow] needs a CUDA GPU (torch.cuda.is_available() is False)",
        "tests/test_device.py::test_auto_is_cpu_without_a_gpu [] a GPU is present",
    ]
    wrong = [
        "tests/test_text_real.py::test_gemma_continues_a_fact [real_weights,slow] Gemma 3 270M not assembled",
        "tests/test_gpu_image.py::test_fp16 [gpu] a file is missing",
        "tests/test_app.py::test_x [] needs a CUDA GPU",  # not marked gpu: a mistake, not expected
        "tests/test_app.py [] could not import 'gradio'",
    ]
    assert unexpected(fine + wrong, patterns) == wrong
