"""Device and dtype are decided in genai.device, overridable per call and by environment."""

from __future__ import annotations

import pytest

from genai import InvalidParameterError
from genai.device import resolve_placement


def test_cpu_is_float32():
    placement = resolve_placement("cpu")
    assert placement.device == "cpu" and placement.dtype_name == "float32"
    assert "float32 is the fastest correct type on CPU" in placement.reason


def test_auto_picks_what_accelerate_sees_and_its_dtype(monkeypatch):
    """Holds on any machine: a GPU box gets cuda:0 in bfloat16 (float16 without bf16), a laptop the CPU."""
    import torch

    monkeypatch.delenv("GENAI_DEVICE", raising=False)
    monkeypatch.delenv("GENAI_DTYPE", raising=False)
    placement = resolve_placement()
    assert "accelerate picked" in placement.reason
    if torch.cuda.is_available():
        wanted = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
        assert (placement.device, placement.dtype_name) == ("cuda:0", wanted)
    elif placement.device == "cpu":
        assert placement.dtype_name == "float32"
    else:  # Apple's MPS
        assert placement.device.startswith("mps") and placement.dtype_name == "float16"


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
