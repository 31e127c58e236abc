"""Steps the tiny-model factories share: a folder to write into, saving, a tiny HiFi-GAN; and
a free port for the servers tests and benches start."""

from __future__ import annotations

import socket
from pathlib import Path


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def new_folder(folder: str | Path) -> Path:
    """``folder`` as a Path, created with its parents if missing."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save_to(pretrained, folder: str | Path) -> Path:
    """``pretrained.save_pretrained(folder)`` (a model, pipeline or processor); returns the folder."""
    folder = Path(folder)
    pretrained.save_pretrained(folder)
    return folder


def tiny_hifigan(sampling_rate: int, *, channels: int, **config):
    """A SpeechT5 HiFi-GAN vocoder over 8 mel bins, 16 samples a frame, ``channels`` wide."""
    from transformers import SpeechT5HifiGan, SpeechT5HifiGanConfig

    return SpeechT5HifiGan(
        SpeechT5HifiGanConfig(
            model_in_dim=8,
            sampling_rate=sampling_rate,
            upsample_initial_channel=channels,
            upsample_rates=[4, 4],
            upsample_kernel_sizes=[8, 8],
            resblock_kernel_sizes=[3],
            resblock_dilation_sizes=[[1]],
            **config,
        )
    )
