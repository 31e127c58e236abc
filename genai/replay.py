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

import inspect
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import provenance
from .errors import GenaiError, InvalidParameterError

AUDIO_SUFFIXES = (".wav", ".flac")
OUTPUT_SUFFIXES = (".png", ".txt", *AUDIO_SUFFIXES)


@dataclass
class Item:
    """One output to make again: the model, the call, and where the original output is."""

    modality: str
    model: str
    call: dict[str, Any]
    record: dict[str, Any]  # the provenance record (empty for an older file)
    original: Path | None = None  # the file holding the output
    text: str | None = None  # the original text, when a record holds it (a story)
    label: str = ""

    @property
    def expected(self) -> dict[str, Any]:
        return self.record.get("output") or {}


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
        return Item(found["modality"], found["model"]["name"], call, found, original)
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


def _find_input_image(wanted: dict[str, Any], original: Path | None) -> str:
    folder = original.parent if original else Path.cwd()
    if wanted.get("name") and (folder / wanted["name"]).is_file():
        return str(folder / wanted["name"])
    raise InvalidParameterError(
        f"the input image {wanted.get('name') or ''} (pixels sha256 {str(wanted.get('sha256'))[:12]}…) "
        f"is needed; put it in {folder} under that name"
    )


# --- making it again --------------------------------------------------------------------------


Models = str | list[str] | None


def load_for(item: Item, model: Models = None):
    """Load the recorded model where the record ran, or one of ``model`` instead.

    ``model`` is a path, or several (a story made by local models): each is used for the
    records naming its file or folder name.
    """
    import genai

    model = _chosen(item, model)
    name = model or item.model
    if model is None and not _loadable(item):
        weights = item.record.get("model", {}).get("weights", {})
        raise genai.ModelNotAvailableError(
            f"the output was made by the local model {item.model!r} "
            f"({_short(weights)}); pass model= (--model PATH) with that file or folder"
        )
    device = item.record.get("device")
    options = {}
    if device and str(device).startswith("cpu"):
        options = {"device": "cpu", "dtype": item.record.get("dtype") or "auto"}
    return genai.load(name, **options)


def _chosen(item: Item, model: Models) -> str | None:
    if model is None or isinstance(model, str):
        return model
    named = [m for m in model if Path(m).name == item.model]
    return named[0] if named else (model[0] if len(model) == 1 else None)


def _loadable(item: Item) -> bool:
    """A catalog alias, a hub id or an existing path (an older record's model)."""
    from .catalog import find_entry

    name = item.model
    weights = item.record.get("model", {}).get("weights", {})
    if find_entry(name) is not None or Path(name).expanduser().exists():
        return True
    return name.count("/") == 1 and not ("file" in weights or "folder" in weights)


def _short(weights: dict[str, Any]) -> str:
    if weights.get("sha256"):
        return f"sha256 {weights['sha256'][:12]}…"
    return f"revision {weights.get('revision')}" if weights.get("revision") else "no fingerprint"


def call_model(generator: Any, item: Item):
    """Call ``generator`` with the item's recorded prompt, parameters and seed."""
    call = {k: v for k, v in item.call.items() if v is not None}
    prompt = call.pop("prompt", None)
    spec = getattr(generator, "call_spec", None)
    if spec is not None and spec.params:
        accepted = set(spec.names) | {"seed", "negative_prompt", "init_image", "num_images"}
    else:
        signature = inspect.signature(generator.__call__).parameters.values()
        takes_any = any(p.kind is p.VAR_KEYWORD for p in signature)
        accepted = None if takes_any else {p.name for p in signature}
    if accepted is not None:
        call = {k: v for k, v in call.items() if k in accepted}
    if item.modality == "text" and call.get("stop") == []:
        call.pop("stop")
    return generator(prompt, **call) if prompt is not None else generator(**call)


def replay(
    path: str | os.PathLike,
    out: str | os.PathLike | None = None,
    *,
    job: str | None = None,
    model: Models = None,
    overwrite: bool = False,
) -> list[Any]:
    """Make the outputs ``path`` records again; return the results (saved to ``out`` if given).

    ``out`` is a file for one output, a folder for several (a story gets its own story
    record there). ``model`` replaces the recorded model (needed for a local file or folder):
    a path, or several matched to the records by file or folder name.
    """
    from .results.base import check_output_path

    items = read_items(path, job=job)
    targets = _targets(items, out) if out is not None else [None] * len(items)
    for target in targets:
        if target is not None:
            check_output_path(target, overwrite=overwrite)
    results = [call_model(load_for(item, model), item) for item in items]
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
        from .results.base import atomic_write_text

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


@dataclass
class VerifyReport:
    """What ``verify`` found: ``identical``, ``differs`` or ``cannot replay``, and why."""

    status: str
    path: str
    model: str | None = None
    detail: str = ""
    first_difference: dict[str, Any] | None = None
    command: str | None = None  # how to get a missing model
    notes: list[str] = field(default_factory=list)
    parts: list[VerifyReport] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"{self.status}: {self.path}" + (f" ({self.model})" if self.model else "")]
        lines += [f"  {self.detail}"] if self.detail else []
        lines += [f"  run: {self.command}"] if self.command else []
        lines += [f"  note: {note}" for note in self.notes]
        lines += ["  " + str(part).replace("\n", "\n  ") for part in self.parts]
        return "\n".join(lines)


def verify(
    path: str | os.PathLike, *, job: str | None = None, model: Models = None
) -> VerifyReport:
    """Make the output again and compare it with the file: identical, differs or cannot replay."""
    from .differences import compare_item

    try:
        items = read_items(path, job=job)
    except GenaiError as error:
        return VerifyReport("cannot replay", str(path), detail=str(error))
    reports = [compare_item(item, model) for item in items]
    if len(reports) == 1:
        return reports[0]
    worst = next(
        (s for s in ("cannot replay", "differs") if any(r.status == s for r in reports)),
        "identical",
    )
    return VerifyReport(worst, str(path), detail=f"{len(reports)} outputs", parts=reports)
