"""Where models run and in which precision: decided here, and only here, through accelerate.

Backends call :func:`resolve_placement` and use what it returns; they never pick a
device on their own.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .errors import GenaiMemoryError, InvalidParameterError

logger = logging.getLogger("genai.device")

DEVICE_ENV = "GENAI_DEVICE"
DTYPE_ENV = "GENAI_DTYPE"

_DTYPE_NAMES = {
    "float32": "float32",
    "fp32": "float32",
    "float16": "float16",
    "fp16": "float16",
    "half": "float16",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
}


@dataclass(frozen=True)
class Placement:
    """A device, a dtype and an optional accelerate device map, with the reason for them."""

    device: str
    dtype_name: str
    device_map: str | dict[str, Any] | None = None
    reason: str = ""

    @property
    def dtype(self):
        import torch

        return getattr(torch, self.dtype_name)

    @property
    def is_cuda(self) -> bool:
        return self.device.startswith("cuda")

    def describe(self) -> str:
        spread = f", device_map={self.device_map}" if self.device_map else ""
        return f"{self.device} / {self.dtype_name}{spread}"


def _auto_device() -> tuple[str, str]:
    """CUDA, then MPS, then CPU, as accelerate sees them (a distributed run gets its local GPU)."""
    from accelerate import PartialState

    state = PartialState()
    device = str(state.device)
    if device == "cuda":
        device = "cuda:0"
    return device, f"accelerate picked {device}"


def _auto_dtype(device: str) -> tuple[str, str]:
    import torch

    if device.startswith("cuda"):
        if torch.cuda.is_bf16_supported():
            return "bfloat16", "GPU supports bfloat16"
        return "float16", "GPU without bfloat16"
    if device.startswith("mps"):
        return "float16", "MPS works best in float16"
    # Measured on a 2-core AVX2 CPU (SmolLM2-135M, 40 new tokens): float32 0.92 s,
    # bfloat16 1.33 s. Without AMX, bfloat16 on CPU is slower, so float32 is both fastest
    # and exact.
    return "float32", "float32 is the fastest correct type on CPU"


def check_dtype(dtype: Any) -> None:
    """Refuse a dtype that is not auto, None or a known name, without importing torch."""
    if dtype not in (None, "auto"):
        _parse_dtype(str(dtype))


def _parse_dtype(name: str) -> str:
    key = str(name).lower().replace("torch.", "")
    if key not in _DTYPE_NAMES:
        raise InvalidParameterError(
            f"dtype={name!r} is not supported; use one of auto, float32, float16, bfloat16"
        )
    return _DTYPE_NAMES[key]


def _check_device(device: str) -> str:
    import torch

    kind = device.split(":")[0]
    if kind == "cpu":
        return device
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise InvalidParameterError(
                f"device={device!r} asked for, but no CUDA GPU is visible; use device='cpu' or 'auto'"
            )
        return device if ":" in device else "cuda:0"
    if kind == "mps":
        if not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise InvalidParameterError(f"device={device!r} asked for, but MPS is not available")
        return device
    raise InvalidParameterError(
        f"device={device!r} is not known; use auto, cpu, cuda, cuda:N or mps"
    )


_DEVICE_MAPS = ("auto", "balanced", "balanced_low_0", "sequential")


def _check_device_map(device_map: Any) -> None:
    if device_map is None or isinstance(device_map, dict):
        return
    if device_map not in _DEVICE_MAPS:
        raise InvalidParameterError(
            f"device_map={device_map!r} is not one of {', '.join(_DEVICE_MAPS)} (or a dict of "
            "module name -> device); leave it out to put the whole model on one device"
        )


def resolve_placement(
    device: str | None = "auto",
    dtype: Any = "auto",
    device_map: str | dict[str, Any] | None = None,
) -> Placement:
    """Turn the caller's ``device``/``dtype`` (or the GENAI_DEVICE/GENAI_DTYPE variables) into a Placement.

    ``device_map="auto"`` lets accelerate spread a model too large for one device over the
    GPUs, the CPU and the disk.
    """
    device = device or "auto"
    if not isinstance(device, str):
        raise InvalidParameterError(
            f"device={device!r} must be a string: auto, cpu, cuda, cuda:N or mps"
        )
    _check_device_map(device_map)
    if device == "auto" and os.environ.get(DEVICE_ENV):
        device = os.environ[DEVICE_ENV]
    if dtype in (None, "auto") and os.environ.get(DTYPE_ENV):
        dtype = os.environ[DTYPE_ENV]

    if device == "auto":
        chosen_device, device_reason = _auto_device()
    else:
        chosen_device, device_reason = _check_device(str(device)), "asked for"

    if dtype in (None, "auto"):
        dtype_name, dtype_reason = _auto_dtype(chosen_device)
    else:
        dtype_name, dtype_reason = _parse_dtype(str(dtype)), "asked for"
        if chosen_device == "cpu" and dtype_name == "float16":
            logger.warning("float16 on CPU is slow and some ops lack kernels; float32 is faster")

    placement = Placement(
        chosen_device, dtype_name, device_map, f"device: {device_reason}; dtype: {dtype_reason}"
    )
    logger.info("placing model on %s (%s)", placement.describe(), placement.reason)
    return placement


def free_memory(device: str) -> None:
    """Give cached accelerator memory back after a model is unloaded."""
    import gc
    import sys

    gc.collect()
    if "torch" not in sys.modules:  # a model that never imported torch (llama.cpp) holds none
        return
    from accelerate.utils import release_memory

    release_memory()


# What torch's CPU allocator says when the system refuses memory (a RuntimeError, not
# torch.OutOfMemoryError, as of torch 2.11).
_CPU_OUT_OF_MEMORY = "DefaultCPUAllocator: can't allocate memory"


@contextlib.contextmanager
def oom_guard(what: str, device: str, advice: str) -> Iterator[None]:
    """Out-of-memory on ``device`` becomes GenaiMemoryError naming ``what`` ran out and ``advice``.

    Both kinds: the accelerator's (torch.OutOfMemoryError) and the CPU allocator's refusal.
    """
    import torch

    try:
        yield
    except torch.OutOfMemoryError as error:
        raise GenaiMemoryError(f"{what} ran out of memory on {device}; {advice}") from error
    except RuntimeError as error:
        if _CPU_OUT_OF_MEMORY not in str(error):
            raise
        raise GenaiMemoryError(
            f"{what} ran out of memory on the CPU (the system refused more); {advice}"
        ) from error
