"""Seeds: every output records the seed that made it, so it can be made again."""

from __future__ import annotations

import hashlib
import random
import threading

from .errors import InvalidParameterError

MAX_SEED = 2**32 - 1

# Held while a seeded generation draws from torch's process-wide generator, so that two
# threads (text and audio in the web app, say) cannot disturb each other's seeds.
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
