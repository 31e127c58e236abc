"""Device and dtype are decided in genai.device, overridable per call and by environment."""

from __future__ import annotations

import pytest

from genai import InvalidParameterError
from genai.device import resolve_placement


def test_auto_on_cpu_is_float32():
    placement = resolve_placement()
    assert placement.device == "cpu" and placement.dtype_name == "float32"
    assert "accelerate" in placement.reason and "float32" in placement.reason


def test_explicit_dtype_names():
    assert resolve_placement("cpu", "bf16").dtype_name == "bfloat16"
    assert str(resolve_placement("cpu", "bfloat16").dtype) == "torch.bfloat16"
    assert resolve_placement("cpu", "float32").dtype_name == "float32"


def test_environment_overrides(monkeypatch):
    monkeypatch.setenv("GENAI_DEVICE", "cpu")
    monkeypatch.setenv("GENAI_DTYPE", "bfloat16")
    placement = resolve_placement()
    assert placement.device == "cpu" and placement.dtype_name == "bfloat16"
    # An explicit argument beats the environment.
    assert resolve_placement("cpu", "float32").dtype_name == "float32"


def test_device_map_is_kept():
    assert resolve_placement("cpu", "auto", "auto").device_map == "auto"


@pytest.mark.parametrize("device", ["tpu", "gpu0"])
def test_unknown_device(device):
    with pytest.raises(InvalidParameterError, match="device"):
        resolve_placement(device)


def test_cuda_without_gpu():
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(InvalidParameterError, match="no CUDA GPU"):
        resolve_placement("cuda")


def test_bad_dtype():
    with pytest.raises(InvalidParameterError, match="dtype"):
        resolve_placement("cpu", "int3")
