"""Make an output again from its file, and check that it comes out the same.

``replay(path)`` reads the record a genai file carries (a PNG's ``genai`` chunk, the JSON
sidecar of a WAV/FLAC or text file, the tags of an audio file without one, a batch manifest
line with ``job=``, a story record), loads the model and calls it with the recorded
prompt, parameters and seed. ``verify(path)`` does the same and compares: ``identical``,
``differs`` (with the first difference: pixels, samples or the token index) or ``cannot
replay`` (the model is missing: the command that gets it). Records from before the
provenance schema (model, seed, parameters, call) replay too.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from . import provenance
from .differences import compare_item
from .errors import GenaiError, InvalidParameterError
from .remake import Item, Models, VerifyReport, call_model, load_for, remake
from .seeding import MAX_SEED

AUDIO_SUFFIXES = (".wav", ".flac")
OUTPUT_SUFFIXES = (".png", ".txt", *AUDIO_SUFFIXES)


# --- reading records --------------------------------------------------------------------------


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InvalidParameterError(f"{path}: not a readable JSON record ({error})") from error


def read_items(path: str | os.PathLike, *, job: str | None = None) -> list[Item]:
    """The outputs a genai file records, ready to make again."""
    path = Path(path).expanduser()
    if job is not None:
        return _job_items(path / "manifest.jsonl" if path.is_dir() else path, job)
    if not path.is_file():
        raise InvalidParameterError(f"path={str(path)!r}: no such file; give a file genai saved")
    suffix = path.suffix.lower()
    if suffix == ".png":
        import genai

        return [_item(genai.read_image_parameters(path), "image", path)]
    if suffix == ".jsonl":
        raise InvalidParameterError(f"{path} is a batch manifest: name the job with --job ID")
    if suffix in (".txt", *AUDIO_SUFFIXES):
        sidecar = path.with_suffix(".json")
        modality = "text" if suffix == ".txt" else "audio"
        if sidecar.is_file():
            return [_item(_read_json(sidecar), modality, path)]
        if modality == "audio":
            return [_item(_audio_tags(path), "audio", path)]
        raise InvalidParameterError(f"{path}: no record beside it ({sidecar.name} is missing)")
    if suffix == ".json":
        record = _read_json(path)
        if isinstance(record, dict) and record.get("kind") == provenance.STORY_KIND:
            return _story_items(record, path.parent)
        beside = [path.with_suffix(s) for s in OUTPUT_SUFFIXES if path.with_suffix(s).is_file()]
        if beside:
            return read_items(beside[0])
        return [_item(record, None, None)]
    raise InvalidParameterError(
        f"{path}: genai replays .png, .wav, .flac, .txt (with its .json), story .json "
        "and batch manifest.jsonl (with --job ID) files"
    )


def _audio_tags(path: Path) -> dict[str, Any]:
    """The short record in an audio file's tags (the prompt may be cut at 200 characters)."""
    import soundfile as sf

    with sf.SoundFile(str(path)) as handle:
        comment, title = handle.comment, handle.title
    try:
        record = json.loads(comment) if comment else {}
    except ValueError:
        record = {}
    if not record.get("model"):
        raise InvalidParameterError(f"{path} holds no genai record (no JSON beside it, no tags)")
    return {**record, "prompt": title or None}


def _job_items(manifest: Path, job: str) -> list[Item]:
    from .batch.manifest import read_lines

    lines = [r for r in read_lines(manifest) if str(r.get("id")) == str(job)]
    if not lines:
        known = [str(r.get("id")) for r in read_lines(manifest)][:5]
        raise InvalidParameterError(
            f"job {job!r} is not in {manifest}"
            + (f"; jobs there: {', '.join(known)}" if known else "")
        )
    line = lines[-1]
    if line.get("status") != "done":
        raise InvalidParameterError(
            f"job {job!r} did not finish ({line.get('error')}); nothing to replay"
        )
    files = [manifest.parent / o["path"] for o in line.get("outputs", [])]
    outputs = [f for f in files if f.suffix.lower() in OUTPUT_SUFFIXES and f.is_file()]
    try:
        return [item for f in outputs for item in read_items(f)]
    except InvalidParameterError:  # outputs saved without their records: use the job's inputs
        inputs = line.get("inputs", {})
        legacy = {**inputs, "seed": line.get("seed")}
        return [_item(legacy, None, outputs[0] if outputs else None)]


def _story_items(story: dict[str, Any], folder: Path) -> list[Item]:
    items = []
    for part in story.get("parts", []):
        original = folder / part["file"] if part.get("file") else None
        item = _item(part, None, original if original and original.is_file() else None)
        item.text, item.label = part.get("text"), part.get("name", "")
        items.append(item)
    return items


def _item(record: Any, modality: str | None, original: Path | None) -> Item:
    """An Item from a provenance record, or from an older record (model, seed, parameters, call)."""
    if not isinstance(record, dict):
        raise InvalidParameterError("a genai record is a JSON object")
    found = record.get(provenance.KEY)
    if found is None and "schema" in record and "output" in record:
        found = record
    if found is not None:
        provenance.validate_record(found)
        inputs = found["input"]
        call = {**found["parameters"], "prompt": inputs.get("prompt"), "seed": found["seed"]}
        if inputs.get("negative_prompt") is not None:
            call["negative_prompt"] = inputs["negative_prompt"]
        if inputs.get("image"):
            call["init_image"] = _find_input_image(inputs["image"], original)
        index = _batch_index(found)
        if index is not None:  # re-run the picture's batch: its seed is the batch's first + index
            call["seed"] = (found["seed"] - index) % (MAX_SEED + 1)
        return Item(found["modality"], found["model"]["name"], call, found, original, index=index)
    if not record.get("model"):
        raise InvalidParameterError("the record names no model; it was not written by genai")
    call = dict(record.get("call") or {})
    if not call:
        call = {
            **(record.get("parameters") or {}),
            "prompt": record.get("prompt"),
            "seed": record.get("seed"),
        }
    modality = modality or (
        "image" if "seeds" in record else "audio" if "sample_rate" in record else "text"
    )
    return Item(modality, str(record["model"]), call, {}, original)


def _batch_index(record: dict[str, Any]) -> int | None:
    """A picture's place in the batch that made it (None for a picture made alone)."""
    parameters = record["parameters"]
    index, count = parameters.get("image_index"), parameters.get("num_images")
    if record["modality"] != "image" or not isinstance(index, int) or not isinstance(count, int):
        return None
    if not 0 <= index < count:
        raise InvalidParameterError(
            f"the record says picture {index} of a batch of {count}: not a valid place"
        )
    return index if count > 1 else None


def _find_input_image(wanted: dict[str, Any], original: Path | None) -> str:
    folder = original.parent if original else Path.cwd()
    if wanted.get("name") and (folder / wanted["name"]).is_file():
        return str(folder / wanted["name"])
    raise InvalidParameterError(
        f"the input image {wanted.get('name') or ''} (pixels sha256 {str(wanted.get('sha256'))[:12]}…) "
        f"is needed; put it in {folder} under that name"
    )


# --- making it again --------------------------------------------------------------------------


def replay(
    path: str | os.PathLike,
    out: str | os.PathLike | None = None,
    *,
    job: str | None = None,
    model: Models = None,
    overwrite: bool = False,
    device: str | None = None,
    dtype: str | None = None,
) -> list[Any]:
    """Make the outputs ``path`` records again; return the results (saved to ``out`` if given).

    ``out`` is a file for one output, a folder for several (a story gets its own story
    record there). ``model`` replaces the recorded model (needed for a local file or folder):
    a path, or several matched to the records by file or folder name. ``device``/``dtype``
    remake elsewhere than recorded (by default: where the record says it was made).
    """
    from .files import check_output_path

    items = read_items(path, job=job)
    targets = _targets(items, out) if out is not None else [None] * len(items)
    for target in targets:
        if target is not None:
            check_output_path(target, overwrite=overwrite)
    results = [remake(load_for(item, model, device=device, dtype=dtype), item) for item in items]
    for result, target in zip(results, targets, strict=True):
        if target is not None:
            result.save(target)
    if out is not None and len(items) > 1 and any(i.label for i in items):
        story = provenance.story_record(
            {i.label: r for i, r in zip(items, results, strict=True)},
            files={
                i.label: str(t) for i, t in zip(items, targets, strict=True) if i.modality != "text"
            },
        )
        from .files import atomic_write_text

        atomic_write_text(Path(out) / "story.json", json.dumps(story, indent=2, ensure_ascii=False))
    return results


_SUFFIX = {"text": ".txt", "image": ".png", "audio": ".wav"}


def _targets(items: list[Item], out: str | os.PathLike) -> list[Path]:
    out = Path(out).expanduser()
    suffixes = [i.original.suffix if i.original else _SUFFIX[i.modality] for i in items]
    if len(items) == 1 and out.suffix:
        return [out]
    names = [
        i.label or (i.original.stem if i.original else f"output-{n}") for n, i in enumerate(items)
    ]
    return [out / f"{name}{suffix}" for name, suffix in zip(names, suffixes, strict=True)]


# --- verifying --------------------------------------------------------------------------------


def verify(
    path: str | os.PathLike,
    *,
    job: str | None = None,
    model: Models = None,
    device: str | None = None,
    dtype: str | None = None,
) -> VerifyReport:
    """Make the output again and compare it with the file: identical, differs or cannot replay.

    ``device``/``dtype`` remake it elsewhere than recorded on purpose; the report then says
    where it was made and where remade, and whether the differences stay within what that
    change is expected to give (``within_tolerance``, shown as "differs within tolerance").
    """
    try:
        items = read_items(path, job=job)
    except GenaiError as error:
        return VerifyReport("cannot replay", str(path), detail=str(error))
    reports = [compare_item(item, model, device=device, dtype=dtype) for item in items]
    if len(reports) == 1:
        return reports[0]
    worst = next(
        (s for s in ("cannot replay", "differs") if any(r.status == s for r in reports)),
        "identical",
    )
    within = [r.within_tolerance for r in reports if r.status == "differs"]
    return VerifyReport(
        worst,
        str(path),
        detail=f"{len(reports)} outputs",
        parts=reports,
        within_tolerance=all(within) if worst == "differs" and within else None,
    )


__all__ = ["Item", "VerifyReport", "call_model", "load_for", "read_items", "replay", "verify"]
