"""Bad input to text generation is a typed error before any model work (issue 13), the
caller's random state is left alone, and results refuse to overwrite files."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

import genai
from genai.errors import InvalidParameterError, OutputPathError
from genai.specs.text import TEXT_SPEC


@pytest.fixture(scope="module")
def gen(tiny_gguf):
    return genai.load(tiny_gguf)


@pytest.mark.parametrize(
    ("parameters", "fragment"),
    [
        ({"temperature": float("inf")}, "finite"),
        ({"temperature": 1e308}, "temperature"),
        ({"temperature": float("nan")}, "finite"),
        ({"repetition_penalty": float("inf")}, "finite"),
        ({"repetition_penalty": 11}, "repetition_penalty"),
        ({"top_k": 10**12}, "top_k"),
        ({"top_k": 100_000}, "top_k"),  # above the tiny model's vocabulary
        ({"stop": ""}, "empty string"),
        ({"stop": 5}, "stop=5"),
        ({"stop": ["ok", None]}, "stop"),
        ({"stop": ["x"] * 17}, "at most 16"),
        ({"max_new_tokens": 2.5}, "whole number"),
        ({"system_prompt": 3}, "system_prompt"),
        ({"system_prompt": "a\ud800b"}, "surrogate"),
        ({"seed": 2**40}, "seed"),
        ({"temprature": 0.5}, "did you mean temperature"),
    ],
)
def test_nonsense_parameters_are_refused(gen, parameters, fragment):
    with pytest.raises(InvalidParameterError, match=fragment):
        gen("the red fox", **parameters)
    with pytest.raises(InvalidParameterError, match=fragment):
        gen.stream("the red fox", **parameters)


@pytest.mark.parametrize(
    ("prompt", "fragment"),
    [
        ([{"role": "banana", "content": "hi"}], "role='banana'"),
        ([{"role": "user", "content": None}], "must be a string"),
        ([{"role": "user", "content": "hi", "name": "x"}], "exactly 'role' and 'content'"),
        ("x\ud800y", "surrogate"),
        ("a\x00b", "NUL"),
        (["the red fox", 3], "prompt must be"),
    ],
)
def test_bad_prompts_are_refused(gen, prompt, fragment):
    with pytest.raises(InvalidParameterError, match=fragment):
        gen(prompt)


def test_unknown_load_option_suggests_the_right_one(tiny_llama_dir):
    with pytest.raises(InvalidParameterError, match="did you mean trust_remote_code"):
        genai.load(tiny_llama_dir, trust_remote_cod=True)


def test_seeded_call_leaves_the_callers_random_state_alone(tiny_llama_dir):
    import torch

    gen = genai.load(tiny_llama_dir)
    random.seed(5)
    np.random.seed(5)
    torch.manual_seed(5)
    states = random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state().clone()
    gen("the red fox", max_new_tokens=4, temperature=1.0, seed=123)
    assert random.getstate() == states[0]
    assert (np.random.get_state()[1] == states[1]).all()
    assert torch.equal(torch.get_rng_state(), states[2])


def test_spec_gives_the_cli_its_flags():
    import argparse

    parser = argparse.ArgumentParser()
    TEXT_SPEC.add_arguments(parser)
    args = parser.parse_args(["--temperature", "0", "--stop", "a", "--stop", "b", "--system", "hi"])
    assert TEXT_SPEC.from_arguments(args) == {
        "temperature": 0.0,
        "stop": ["a", "b"],
        "system_prompt": "hi",
    }


def test_result_records_the_spec_parameters(gen):
    result = gen("the red fox", max_new_tokens=3, temperature=0, stop=["zzz"], seed=4)
    assert result.parameters == {
        "max_new_tokens": 3, "temperature": 0.0, "top_p": 0.95, "top_k": 50,
        "repetition_penalty": 1.0, "stop": ["zzz"], "seed": 4,
    }  # fmt: skip
    assert result.summary()["completion_tokens"] == 3


def test_save_refuses_to_overwrite(gen, tmp_path):
    result = gen("the red fox", max_new_tokens=3, temperature=0)
    target = tmp_path / "out.txt"
    result.save(target)
    with pytest.raises(OutputPathError, match="exists"):
        result.save(target)
    (tmp_path / "data.json").write_text("{}")
    with pytest.raises(OutputPathError, match="data.json exists"):
        result.save(tmp_path / "data.txt")  # never replaces an unrelated sidecar
    assert (tmp_path / "data.json").read_text() == "{}" and not (tmp_path / "data.txt").exists()
    result.save(target, overwrite=True)
    assert json.loads((tmp_path / "out.json").read_text())["engine"] == "llama.cpp"


def test_save_refuses_a_non_text_suffix(gen, tmp_path):
    result = gen("the red fox", max_new_tokens=2, temperature=0)
    with pytest.raises(OutputPathError, match=r"\.wav"):
        result.save(tmp_path / "x.wav")
    assert not list(tmp_path.iterdir())


def test_save_files_for_batch(gen, tmp_path):
    result = gen("the red fox", max_new_tokens=2, temperature=0)
    files = result.save_files(tmp_path / "job-1")
    assert [f.name for f in files] == ["job-1.txt", "job-1.json"]
    assert files[0].read_text() == result.text
