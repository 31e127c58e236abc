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
    torchaudio). Python's ``random`` and numpy are not touched. Takes turns with other
    seeded blocks through GLOBAL_RNG_LOCK, so keep the block short.
    """
    import torch

    devices = [device] if str(device).startswith("cuda") else []
    with GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def numpy_generator(seed: int):
    """A numpy Generator of its own for code that draws with numpy (never the global state)."""
    import numpy as np

    return np.random.default_rng(seed)
