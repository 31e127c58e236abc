"""scripts/gpu_smoke.py --device cpu --quick: the GPU session's one command, kept from rotting on
the CPU (issue 17). Every row of its table must say ok."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "gpu_smoke.py"
FAMILIES = [
    "causal-lm",
    "seq2seq-lm",
    "diffusion-image",
    "amused",
    "diffusion-unconditional",
    "gan",
    "vits",
    "speecht5",
    "bark",
    "tacotron2",
    "musicgen",
    "audioldm",
    "performance-rnn",
]
IMAGE_RATIOS = [f"raw vs genai, {n} x 32², {s} steps" for n in (1, 8) for s in (1, 4)]
TEXT = [
    f"{n}, {side}" for n in ("1 prompt", "8 prompts") for side in ("dynamic", "static", "genai")
]


@pytest.mark.slow
def test_the_quick_cpu_run_prints_one_table_of_ok_rows(tmp_path):
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--device", "cpu", "--quick", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((tmp_path / "gpu_smoke.json").read_text())
    rows = {(r["section"], r["check"]): r for r in report["rows"]}
    wanted = [("family", name) for name in FAMILIES]
    wanted += [("image", check) for check in IMAGE_RATIOS]
    wanted += [("image", "peak memory, genai 8 x 32², 4 steps")]
    wanted += [("image", "leak check, 20 genai calls")]
    wanted += [("text", check) for check in TEXT]
    wanted += [("text", "8 concurrent callers through genai vs 1")]
    wanted += [("imports", "only torch, transformers, diffusers, accelerate, genai")]
    assert [key for key in wanted if key not in rows] == []
    assert [(k, r["result"]) for k, r in rows.items() if r["status"] != "ok"] == []
    for name in FAMILIES:
        assert rows[("family", name)]["result"].endswith("same seed twice: identical")
    for check in IMAGE_RATIOS:
        assert rows[("image", check)]["result"].endswith("same pixels: True")
        assert rows[("image", check)]["ratio"] > 0
    assert rows[("text", "8 prompts, genai")]["ratio"] > 0
    # One table, headed by the machine: load average, device, versions.
    table = done.stdout[done.stdout.index("| section | check |") :].splitlines()
    lines = [line for line in table if line.startswith("|")]
    assert len(lines) == len(report["rows"]) + 2  # the head, its rule and one line per check
    for key in ("load average:", "device: cpu", "versions: torch"):
        assert key in done.stdout
    assert report["device"].startswith("cpu") and "transformers" in report["versions"]
