"""Seeds: every output records the seed that made it, so it can be made again.

Backends seed through :func:`seeded` (or an explicit :func:`torch_generator`), never through
``torch.manual_seed``/``set_seed`` on the caller's global state: the caller's ``random``,
``numpy`` and ``torch`` states are the same after a seeded call as before it.
"""

from __future__ import annotations

import contextlib
import hashlib
import random
import threading
from collections.abc import Iterator
from typing import Any

from .errors import InvalidParameterError

MAX_SEED = 2**32 - 1

# Held while a seeded generation draws from torch's process-wide generator (transformers'
# generate() samples from it and takes no generator), so that two threads cannot draw from
# each other's stream. Hold it for one short unit of work (one generate call, one sentence),
# never across a long job: other callers wait on it.
GLOBAL_RNG_LOCK = threading.RLock()


def resolve_seed(seed: int | None) -> int:
    """The seed to use: the caller's, checked, or a fresh random one (then recorded)."""
    if seed is None:
        return random.SystemRandom().randint(0, MAX_SEED)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise InvalidParameterError(f"seed={seed!r} must be a whole number from 0 to {MAX_SEED}")
    return seed


def derive_seed(base_seed: int, key: str) -> int:
    """A seed of its own for one item (a batch job id, the n-th image) from a run seed."""
    digest = hashlib.sha256(f"{base_seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def torch_generator(seed: int, device: str = "cpu"):
    """A torch.Generator seeded with ``seed``; CPU generators give the same numbers on every machine."""
    import torch

    return torch.Generator(device=device).manual_seed(seed)


@contextlib.contextmanager
def seeded(seed: int, device: str = "cpu") -> Iterator[None]:
    """Run the block with torch's global generator(s) seeded, then restore the caller's state.

    For libraries that draw from torch's global generator (transformers' ``generate``,
    torchaudio). The CPU generator is always seeded (libraries draw some noise on the CPU and
    move it); on a CUDA device, that device's generator too. Nothing else is touched: not the
    other GPUs (``torch.manual_seed`` would seed them all), not Python's ``random`` nor numpy.
    Takes turns with other seeded blocks through GLOBAL_RNG_LOCK, so keep the block short.
    """
    import torch

    cuda = _cuda_index(device)
    devices = [] if cuda is None else [cuda]
    with GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=devices, device_type="cuda"):
        torch.default_generator.manual_seed(seed)
        if cuda is not None:
            torch.cuda.default_generators[cuda].manual_seed(seed)
        yield


def _cuda_index(device: Any) -> int | None:
    """The CUDA device number of ``device`` ("cuda", "cuda:1", torch.device), None if not CUDA."""
    import torch

    device = torch.device(device) if not isinstance(device, torch.device) else device
    if device.type != "cuda":
        return None
    return torch.cuda.current_device() if device.index is None else device.index


class _DeterministicKernels:
    """cuDNN's deterministic algorithms while any block asks for them (a count, so that
    overlapping blocks on several threads switch them on once and off after the last)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.users = 0
        self.saved: tuple[bool, bool] | None = None

    @contextlib.contextmanager
    def __call__(self, device: Any) -> Iterator[None]:
        if _cuda_index(device) is None:  # CPU kernels are deterministic already
            yield
            return
        import torch

        cudnn = torch.backends.cudnn
        with self.lock:
            if self.users == 0:
                self.saved = cudnn.deterministic, cudnn.benchmark
                cudnn.deterministic, cudnn.benchmark = True, False
            self.users += 1
        try:
            yield
        finally:
            with self.lock:
                self.users -= 1
                if self.users == 0 and self.saved is not None:
                    cudnn.deterministic, cudnn.benchmark = self.saved


# On CUDA, transposed convolutions (the upsampling of every vocoder and of the DCGAN) run as
# cuDNN's backward-data kernels, some of which add with atomics: the same seed could give
# other samples on every call. Blocks of audio and GAN work run under this.
deterministic_kernels = _DeterministicKernels()


def numpy_generator(seed: int):
    """A numpy Generator of its own for code that draws with numpy (never the global state)."""
    import numpy as np

    return np.random.default_rng(seed)
