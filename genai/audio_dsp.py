"""Signal work on generated audio, done by torchaudio: resample, loudness, fades, trims, joins, pictures.

Waveforms here are numpy float32 arrays shaped (channels, samples), the layout
AudioResult keeps; each function converts to a torch tensor for torchaudio and back.
``postprocess`` applies the output options every audio generator takes (``sample_rate``,
``normalize``, ``fade_in``, ``fade_out``, ``trim``; checked by genai.specs.audio). Splitting
text for speech lives in genai.audio_text.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import InvalidParameterError

if TYPE_CHECKING:
    from PIL import Image

logger = logging.getLogger("genai.audio")

PEAK_LIMIT = 0.99  # normalisation never pushes a sample past this, to keep files unclipped
_LOUDNESS_BLOCK_S = (
    0.4  # BS.1770 gating block: shorter clips are looped to this length to be measured
)


def as_waveform(audio: Any) -> np.ndarray:
    """Any 1-D or 2-D array or tensor as float32 (channels, samples)."""
    if hasattr(audio, "detach"):
        audio = audio.detach().float().cpu().numpy()
    array = np.asarray(audio, dtype=np.float32)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2:
        raise InvalidParameterError(
            f"audio must be 1-D or (channels, samples), got shape {array.shape}"
        )
    return np.ascontiguousarray(array)


def _tensor(waveform: np.ndarray):
    import torch

    return torch.from_numpy(np.ascontiguousarray(waveform, dtype=np.float32))


def _numpy(tensor) -> np.ndarray:
    return np.ascontiguousarray(tensor.detach().cpu().numpy(), dtype=np.float32)


# --- the operations ----------------------------------------------------------------------


def resample(waveform: np.ndarray, orig_rate: int, new_rate: int) -> np.ndarray:
    """Change the sample rate (band-limited sinc interpolation, torchaudio.functional.resample)."""
    if orig_rate == new_rate:
        return waveform
    from .specs.audio import check_resample

    check_resample(int(orig_rate), int(new_rate))  # a filter bank that would not fit in memory
    import torchaudio.functional as F

    return _numpy(F.resample(_tensor(waveform), int(orig_rate), int(new_rate)))


def loudness(waveform: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness in LUFS (ITU-R BS.1770-4, torchaudio.functional.loudness); -inf for silence."""
    import torchaudio.functional as F

    block = int(_LOUDNESS_BLOCK_S * sample_rate) + 1
    if waveform.shape[-1] < block:
        # BS.1770 measures 400 ms blocks; a shorter clip is looped, which keeps its mean power.
        waveform = np.tile(waveform, (1, -(-block // max(waveform.shape[-1], 1))))
    peak = float(np.max(np.abs(waveform))) if waveform.size else 0.0
    if peak == 0.0:
        return float("-inf")
    # torchaudio's K-weighting filters clamp to [-1, 1], which would under-read loud audio;
    # loudness scales with gain exactly, so measure a quiet copy and add the gain back.
    scale = 0.25 / peak
    value = float(F.loudness(_tensor(waveform * scale), int(sample_rate))) - 20.0 * np.log10(scale)
    return value if np.isfinite(value) else float("-inf")


def normalize_loudness(waveform: np.ndarray, sample_rate: int, target_lufs: float) -> np.ndarray:
    """Scale to ``target_lufs`` integrated loudness; peaks are kept under PEAK_LIMIT (then it ends quieter)."""
    measured = loudness(waveform, sample_rate)
    if not np.isfinite(measured):
        logger.warning("the audio is silent: loudness normalisation left it as it is")
        return waveform
    gain = 10.0 ** ((target_lufs - measured) / 20.0)
    peak = float(np.max(np.abs(waveform))) * gain
    if peak > PEAK_LIMIT:
        gain *= PEAK_LIMIT / peak
        logger.warning(
            "normalize=%.1f LUFS would clip; limited to peak %.2f, so the audio is about %.1f LU quieter",
            target_lufs,
            PEAK_LIMIT,
            20.0 * np.log10(peak / PEAK_LIMIT),
        )
    return (waveform * gain).astype(np.float32)


def fade(
    waveform: np.ndarray,
    sample_rate: int,
    fade_in: float = 0.0,
    fade_out: float = 0.0,
    shape: str = "half_sine",
) -> np.ndarray:
    """Fade in and out over the given seconds (torchaudio.transforms.Fade)."""
    fade_in_len = int(round(fade_in * sample_rate))
    fade_out_len = int(round(fade_out * sample_rate))
    if not fade_in_len and not fade_out_len:
        return waveform
    samples = waveform.shape[-1]
    if fade_in_len + fade_out_len > samples:
        raise InvalidParameterError(
            f"fade_in={fade_in} s + fade_out={fade_out} s is longer than the audio "
            f"({samples / sample_rate:.2f} s); use shorter fades"
        )
    from torchaudio.transforms import Fade

    return _numpy(Fade(fade_in_len, fade_out_len, fade_shape=shape)(_tensor(waveform)))


def trim_silence(
    waveform: np.ndarray, sample_rate: int, *, threshold_db: float = -45.0, keep: float = 0.05
) -> np.ndarray:
    """Cut leading and trailing stretches quieter than ``threshold_db`` below the peak, keeping ``keep`` s."""
    import torch

    frame = max(1, int(0.01 * sample_rate))
    mono = _tensor(waveform).abs().amax(dim=0)
    if mono.numel() < frame or float(mono.max()) == 0.0:
        return waveform
    peak = float(mono.max())
    frames = torch.nn.functional.max_pool1d(mono[None, None, :], frame, frame, ceil_mode=True)[0, 0]
    loud = torch.nonzero(frames > peak * 10.0 ** (threshold_db / 20.0)).flatten()
    margin = int(keep * sample_rate)
    start = max(0, int(loud[0]) * frame - margin)
    end = min(waveform.shape[-1], (int(loud[-1]) + 1) * frame + margin)
    return np.ascontiguousarray(waveform[:, start:end])


def join(clips: Iterable[np.ndarray], sample_rate: int, pause: float = 0.25) -> np.ndarray:
    """Put clips one after another with ``pause`` seconds of silence between them."""
    clips = [as_waveform(clip) for clip in clips]
    if not clips:
        return np.zeros((1, 0), dtype=np.float32)
    channels = max(clip.shape[0] for clip in clips)
    gap = np.zeros((channels, int(round(pause * sample_rate))), dtype=np.float32)
    parts: list[np.ndarray] = []
    for index, clip in enumerate(clips):
        if clip.shape[0] != channels:
            clip = np.broadcast_to(clip, (channels, clip.shape[1]))
        if index and gap.shape[1]:
            parts.append(gap)
        parts.append(clip)
    return np.ascontiguousarray(np.concatenate(parts, axis=1), dtype=np.float32)


# A dark-to-bright palette (black, purple, red, orange, pale yellow) for spectrogram pictures.
_PALETTE = np.array(
    [[0, 0, 4], [60, 15, 110], [150, 40, 100], [230, 90, 45], [252, 255, 164]], dtype=np.float32
)


def mel_image(
    waveform: np.ndarray,
    sample_rate: int,
    *,
    n_mels: int = 80,
    width: int | None = None,
    height: int | None = None,
    top_db: float = 80.0,
) -> Image.Image:
    """A mel-spectrogram picture (low pitches at the bottom) of the mixed-down audio."""
    import torch
    from PIL import Image
    from torchaudio.transforms import AmplitudeToDB, MelSpectrogram

    n_fft = 2048 if sample_rate > 32_000 else 1024
    hop = max(1, n_fft // 4)
    mono = _tensor(waveform).mean(dim=0)
    if mono.numel() < n_fft:
        mono = torch.nn.functional.pad(mono, (0, n_fft - mono.numel()))
    mel = MelSpectrogram(
        sample_rate, n_fft=n_fft, hop_length=hop, n_mels=n_mels, f_max=sample_rate / 2
    )(mono)
    db = AmplitudeToDB("power", top_db=top_db)(mel)
    low, high = float(db.min()), float(db.max())
    level = ((db - low) / (high - low) if high > low else torch.zeros_like(db)).flip(0).numpy()
    stops = np.linspace(0.0, 1.0, len(_PALETTE))
    rgb = np.stack([np.interp(level, stops, _PALETTE[:, c]) for c in range(3)], axis=-1)
    image = Image.fromarray(rgb.astype(np.uint8), "RGB")
    if width or height:
        image = image.resize(
            (width or image.width, height or image.height), Image.Resampling.BILINEAR
        )
    return image


# --- post-processing ------------------------------------------------------------------------


def postprocess(
    waveform: np.ndarray, sample_rate: int, options: dict[str, Any]
) -> tuple[np.ndarray, int]:
    """Apply checked post-processing options in order: trim, resample, fades, loudness."""
    if options.get("trim"):
        waveform = trim_silence(waveform, sample_rate)
    target_rate = options.get("sample_rate")
    if target_rate and target_rate != sample_rate:
        waveform, sample_rate = resample(waveform, sample_rate, target_rate), target_rate
    if options.get("fade_in") or options.get("fade_out"):
        waveform = fade(
            waveform, sample_rate, options.get("fade_in", 0.0), options.get("fade_out", 0.0)
        )
    if options.get("normalize") is not None:
        waveform = normalize_loudness(waveform, sample_rate, options["normalize"])
    return waveform, sample_rate
