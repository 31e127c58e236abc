"""Figures for this machine: the meter, genai bench, estimates, and `genai models --fits`."""

from __future__ import annotations

import json

import pytest

from genai import machine_bench
from genai.catalog import get_entry
from genai.cli import main as cli
from genai.device import resolve_placement


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GENAI_CACHE", str(tmp_path / "cache"))


MEASURE = """
import json, numpy as np
from genai.machine_bench import measure
with measure() as usage:
    block = np.ones(64 * 1024 * 1024 // 8)  # 64 MB, touched
    del block
with measure() as quiet:  # the peak is reset: the last block does not count
    pass
print(json.dumps([usage.seconds, usage.added_mb, quiet.added_mb]))
"""


def test_measure_sees_the_memory_a_block_takes_and_its_time():
    # In a fresh process: a test session's allocator may hand back memory it already holds.
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", MEASURE], capture_output=True, text=True, check=True
    )
    seconds, added, quiet = json.loads(done.stdout)
    assert seconds > 0 and added >= 50 and quiet < 50, done.stdout


def test_bench_keeps_the_figures_with_the_hardware(tiny_llama_dir, tmp_path):
    figures = machine_bench.bench(tiny_llama_dir)
    assert figures["modality"] == "text" and figures["unit"] == "64 tokens"
    assert figures["load_s"] > 0 and figures["per_output_s"] > 0 and figures["memory_mb"] >= 0
    # bench() loads with the default placement: whatever this machine's is.
    default = resolve_placement()
    assert (figures["device"], figures["dtype"]) == (default.device, default.dtype_name)
    store = json.loads((tmp_path / "cache" / "bench.json").read_text())
    machine = store["machines"][machine_bench.machine_key()]
    assert machine["hardware"]["cores"] >= 1 and machine["hardware"]["ram_gb"] > 0
    assert machine["models"][tiny_llama_dir] == figures == machine_bench.measured(tiny_llama_dir)
    assert machine_bench.describe(figures).startswith("~")
    assert "estimate" not in machine_bench.describe(figures)


def test_an_unmeasured_model_gets_an_estimate_scaled_from_a_measured_one():
    small, large = get_entry("smollm2-135m"), get_entry("smollm2-360m")
    alone = machine_bench.estimate(large)
    assert (
        alone["estimate"] is True
        and alone["memory_mb"] > machine_bench.estimate(small)["memory_mb"]
    )
    assert machine_bench.describe(alone).endswith("(estimate)")
    machine_bench.record(
        "smollm2-135m",
        {"modality": "text", "per_output_s": 1.35, "unit": "64 tokens", "memory_mb": 300},
    )
    scaled = machine_bench.figures_for(large)
    assert scaled["scaled_from"] == "smollm2-135m"
    assert scaled["per_output_s"] == pytest.approx(1.35 * 360 / 135, rel=0.01)
    assert machine_bench.figures_for(small)["memory_mb"] == 300  # measured beats estimated
    assert machine_bench.describe(machine_bench.figures_for(small)) == "~1.35 s / 64 tokens, 300 MB"


def test_image_estimates_count_steps_and_pixels():
    machine_bench.record(
        "sd-turbo", {"modality": "image", "per_output_s": 10.0, "unit": "image", "memory_mb": 3000}
    )
    # tiny-sd: 0.5B of 1.3B parameters, 25 steps instead of 1, same size.
    assert machine_bench.figures_for(get_entry("tiny-sd"))["per_output_s"] == pytest.approx(
        10.0 * 0.5 / 1.3 * 25, rel=0.01
    )


def test_parameter_counts_are_read_from_the_catalog_text():
    assert machine_bench.parameter_count("135M") == 135e6
    assert machine_bench.parameter_count("1.3B") == 1.3e9
    assert machine_bench.parameter_count("see card") is None


def test_models_shows_figures_and_fits_hides_what_does_not_fit(capsys):
    free = machine_bench.free_memory_mb()
    machine_bench.record(
        "distilgpt2",
        {"modality": "text", "per_output_s": 0.5, "unit": "64 tokens", "memory_mb": free * 4},
    )
    machine_bench.record(
        "flan-t5-small",
        {"modality": "text", "per_output_s": 0.4, "unit": "64 tokens", "memory_mb": 10},
    )
    assert cli(["models", "--task", "text"]) == 0
    table = capsys.readouterr().out
    assert "~0.4 s / 64 tokens, 10 MB" in table and "(estimate)" in table
    assert cli(["models", "--task", "text", "--fits", "--json"]) == 0
    names = [row["alias"] for row in json.loads(capsys.readouterr().out)]
    assert "flan-t5-small" in names and "distilgpt2" not in names


def test_the_bench_command_measures_a_model(tiny_llama_dir, capsys):
    assert cli(["bench", tiny_llama_dir]) == 0
    out = capsys.readouterr().out
    assert "s / 64 tokens" in out and "bench.json" in out
    assert cli(["bench", "smollm2-360m"]) == 1  # not on disk: said, not measured


@pytest.mark.real_weights
@pytest.mark.slow
def test_bench_measures_the_real_smollm2(smollm2_gguf):
    figures = machine_bench.bench("smollm2-135m-gguf")
    assert figures["per_output_s"] > 0 and figures["memory_mb"] > 50
