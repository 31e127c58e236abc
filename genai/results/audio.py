"""The result of an audio generation (speech, music, sound effects), and saving it as WAV or FLAC.

The waveform is a numpy float32 array shaped (channels, samples): numpy rather than torch
so a result can be saved, played or sent anywhere without the model's device. Saved files
carry a short record in their tags (title, software, comment) and the full record in a
JSON file beside them.
"""

from __future__ import annotations

import io
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ..errors import InvalidParameterError
from ..files import (
    check_output_folder,
    check_output_path,
    is_folder,
    to_jsonable,
    write_files,
    write_numbered,
)
from .base import Result

if TYPE_CHECKING:
    from PIL import Image

FORMATS = {".wav": "WAV", ".flac": "FLAC"}
DEFAULT_SUBTYPE = "PCM_16"  # what every player reads; pass subtype="FLOAT" to keep full precision


@dataclass
class AudioResult(Result):
    """Generated audio: a float32 waveform (channels, samples) at ``sample_rate`` Hz."""

    waveform: np.ndarray = field(default_factory=lambda: np.zeros((1, 0), dtype=np.float32))
    sample_rate: int = 16_000
    prompt: str | None = None
    # Where it ran: samples can differ slightly between devices and precisions.
    device: str | None = None
    dtype: str | None = None
    # A model that writes notes (PerformanceRNN) keeps them as a Standard MIDI File, saved
    # beside the audio as .mid, and says what turned them into sound.
    midi: bytes | None = None
    renderer: str | None = None

    default_suffix: ClassVar[str] = ".wav"

    def __post_init__(self) -> None:
        from ..audio_dsp import as_waveform

        self.waveform = as_waveform(self.waveform)

    @property
    def channels(self) -> int:
        return int(self.waveform.shape[0])

    @property
    def num_samples(self) -> int:
        return int(self.waveform.shape[1])

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.num_samples / float(self.sample_rate)

    def to_numpy(self, *, mono: bool = False) -> np.ndarray:
        """The waveform as a float32 array (channels, samples), or (samples,) mixed down with ``mono``."""
        return self.waveform.mean(axis=0) if mono else self.waveform

    def to_tensor(self):
        """The waveform as a CPU torch tensor (channels, samples), the layout torchaudio uses."""
        import torch

        return torch.from_numpy(self.waveform.copy())

    def __repr__(self) -> str:
        return (
            f"AudioResult(model={self.model!r}, duration={self.duration:.2f}s, "
            f"sample_rate={self.sample_rate}, channels={self.channels}, seed={self.seed})"
        )

    def metadata(self) -> dict[str, Any]:
        own = ("prompt", "sample_rate", "channels", "num_samples", "duration", "device", "dtype")
        record = {**super().metadata(), **self.attributes(*own)}
        record["duration"] = round(self.duration, 6)
        if self.midi is not None:
            record["renderer"] = self.renderer
        record["call"] = to_jsonable(self.call_arguments())
        return record

    def call_arguments(self) -> dict[str, Any]:
        """Keyword arguments that make this audio again: ``generator(**result.call_arguments())``."""
        arguments: dict[str, Any] = {"prompt": self.prompt, "seed": self.seed}
        arguments.update({k: v for k, v in self.parameters.items() if v is not None})
        return arguments

    # --- files -----------------------------------------------------------------------------

    def to_bytes(
        self, format: str = "WAV", *, subtype: str = DEFAULT_SUBTYPE, metadata: bool = True
    ) -> bytes:
        """The audio as WAV or FLAC file bytes (for a web page, an HTTP reply, a zip)."""
        import soundfile as sf

        buffer = io.BytesIO()
        with sf.SoundFile(
            buffer,
            "w",
            samplerate=int(self.sample_rate),
            channels=self.channels,
            format=format,
            subtype=subtype,
        ) as handle:
            if metadata:
                self._write_tags(handle)
            handle.write(self.waveform.T)
        return buffer.getvalue()

    def _write_tags(self, handle) -> None:
        from .. import __version__

        short = {"model": self.model, "seed": self.seed, "parameters": self.parameters}
        handle.software = f"genai {__version__}"
        if self.prompt:
            handle.title = self.prompt[:200]
        handle.comment = json.dumps(to_jsonable(short), ensure_ascii=True)[:1000]

    def save(
        self,
        path: str | os.PathLike = ".",
        *,
        metadata: bool = True,
        subtype: str = DEFAULT_SUBTYPE,
        overwrite: bool = False,
    ) -> Path:
        """Write the audio as ``.wav`` or ``.flac`` (by suffix), a JSON record beside it (unless
        ``metadata=False``) and, when the result holds notes, the ``.mid`` file beside it.

        ``path`` may be a folder: the file is then ``00001-<seed>.wav``, numbered after those
        there (concurrent saves into one folder get numbers of their own). An existing file
        (the audio, its .json or .mid) is never replaced unless ``overwrite=True``, also one
        another save makes meanwhile: OutputPathError names it, and none of this call's
        files is left. Each write is atomic.
        """
        path = Path(path).expanduser()
        folder = path if is_folder(path) or not path.suffix else None
        if folder is not None:
            path = _numbered_path(folder, self.seed)
        format = FORMATS.get(path.suffix.lower())
        if format is None:
            raise InvalidParameterError(
                f"path={str(path)!r}: audio is saved as WAV or FLAC; give a .wav or .flac file "
                "name or a folder"
            )
        if folder is None:
            for target in self._files_for(path, metadata):
                check_output_path(target, overwrite=overwrite)
        else:  # which number is free is decided when the files are written
            check_output_folder(folder)
        audio = self.to_bytes(format, subtype=subtype, metadata=metadata)
        record = self.metadata_bytes() if metadata else None

        def files(path: Path) -> list[tuple[Path, bytes]]:
            found = [(path, audio)]
            if self.midi is not None:
                found.append((path.with_suffix(".mid"), self.midi))
            if record is not None:
                found.append((path.with_suffix(".json"), record))
            return found

        if folder is not None:  # the number is claimed under the folder's lock
            suffix = path.suffix
            [[written, *_]] = write_numbered(
                folder,
                [files],
                first_free=_first_free_number,
                name=lambda number, i: f"{number:05d}-{self.seed}{suffix}",
            )
            return written
        write_files(files(path), overwrite=overwrite)  # all of them or none
        return path

    def _files_for(self, path: Path, metadata: bool) -> list[Path]:
        files = [path]
        if self.midi is not None:
            files.append(path.with_suffix(".mid"))
        if metadata:
            files.append(path.with_suffix(".json"))
        return files

    def save_files(self, stem: str | os.PathLike, *, suffix: str | None = None) -> list[Path]:
        """``stem`` + ``.wav`` (or ``suffix``), its .json record and any .mid; every file written.

        Batch runs call this and keep their own resume logic, so it replaces what is there.
        """
        path = Path(f"{stem}{suffix or self.default_suffix}")
        self.save(path, overwrite=True)
        return self._files_for(path, True)

    def summary(self) -> dict[str, Any]:
        facts: dict[str, Any] = {
            "duration": round(self.duration, 4),
            "sample_rate": self.sample_rate,
        }
        if self.midi is not None:
            facts["notes"] = len(self.notes())
        return facts

    def notes(self) -> list:
        """The notes of ``midi`` (pitch, start, end, velocity), empty when there is none."""
        from ..backends.midi_render import notes_of

        return notes_of(self.midi) if self.midi is not None else []

    def piano_roll(self, *, width: int = 800, height: int = 264) -> Image.Image:
        """A picture of the notes over time (one row per piano key), for results with ``midi``."""
        from ..backends.midi_render import piano_roll

        if self.midi is None:
            raise InvalidParameterError(
                f"{self.model} made audio, not notes: there is no piano roll to draw"
            )
        return piano_roll(self.notes(), self.duration, width=width, height=height)

    def spectrogram(self, *, width: int | None = None, height: int | None = None) -> Image.Image:
        """A mel-spectrogram picture of the audio (PIL image), low pitches at the bottom."""
        from ..audio_dsp import mel_image

        return mel_image(self.waveform, self.sample_rate, width=width, height=height)


def _first_free_number(folder: Path) -> int:
    taken = (
        [int(m.group(1)) for f in folder.iterdir() if (m := re.match(r"(\d{5})-", f.name))]
        if folder.is_dir()
        else []
    )
    return max(taken, default=0) + 1


def _numbered_path(folder: Path, seed: int | None) -> Path:
    """The name a save into ``folder`` would take now (another save may take it first)."""
    return folder / f"{_first_free_number(folder):05d}-{seed}.wav"


def read_audio(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Read a WAV/FLAC file as float32 (channels, samples) and its sample rate."""
    import soundfile as sf

    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    return np.ascontiguousarray(data.T), int(rate)
