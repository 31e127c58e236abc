"""The provenance record: what made an output, in a form safe to share and enough to make it again.

Every output genai writes carries one record (a PNG's ``genai`` chunk, an audio or text
file's JSON sidecar, a batch manifest line, a story record) under the key ``provenance``.
Schema version 1, all keys always present (``None`` where unknown)::

    {
      "schema": 1,                       # this layout's version (SCHEMA)
      "genai": "0.1.0",                  # genai's version
      "modality": "text" | "image" | "audio",
      "model": {
        "name": "smollm2-135m",          # catalog alias, hub id or file name: never a local path
        "source": "smollm2-135m",        # generator.shared_source
        "family": "...",                 # the genai.families row that ran it
        "weights": {...}                 # fingerprint(): {"sha256", "file", "bytes"[, "package"]}
      },                                 #   or {"repo", "revision"} or {"folder", "sha256"}
      "engine": "transformers", "device": "cpu", "dtype": "float32",
      "parameters": {...},               # every call parameter, as the generator checked it;
                                         # a picture of a batch: num_images and image_index
      "seed": 42,
      "input": {"prompt": "...", "negative_prompt": null,
                "image": {"name": "in.png", "sha256": "..."} | null},  # image-to-image input
      "output": {"type": "text", "sha256": ..., "chars": n, "tokens": n}
              | {"type": "image", "sha256": ..., "width": w, "height": h, "mode": "RGB"}
              | {"type": "audio", "sha256": ..., "sample_rate": r, "channels": c, "samples": n}
              | {"type": "images", "items": [<image output>, ...]},   # several pictures at once
      "timings": {"load_s": ..., "generate_s": ..., "total_s": ...},
      "reproducible": {"exact": true, "tolerance": {...}, "note": "..."}
    }

Output digests hash the content, not the file (which cannot hold its own hash): UTF-8
text; pixels (``mode:WxH:`` then raw bytes); float32 little-endian samples, channel-major.
``reproducible``: bit-identical on the same machine and engine, or (GPU kernels) the
tolerance ``genai verify`` uses. More in docs/provenance.md.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import threading
from pathlib import Path
from typing import Any

from .errors import InvalidParameterError
from .paths import cache_dir

SCHEMA = 1
KEY = "provenance"  # the key a record sits under in every genai metadata dict
MODALITIES = ("text", "image", "audio")
_SNAPSHOT = re.compile(r"models--([^/\\]+?)--([^/\\]+)[/\\]snapshots[/\\]([0-9a-f]{40})")
_CACHE_LOCK = threading.Lock()


# --- the weights' fingerprint ---------------------------------------------------------------


def fingerprint(source: Any) -> dict[str, Any]:
    """The weights' identity, safe to share: a file's sha256, a hub snapshot's revision, a folder's digest.

    ``source`` is a genai.hub.Source or a path. A file or folder is hashed once: the digest
    is cached in the genai cache dir by path, size and modification time.
    """
    kind = getattr(source, "kind", None)
    location = str(getattr(source, "location", source))
    if kind == "hub" and ":" in location:  # a bundle its own library fetches (torchaudio)
        return {"bundle": location}
    if kind == "hub":
        return {"repo": location, "revision": hub_revision(location)}
    path = Path(location).expanduser()
    snapshot = _SNAPSHOT.search(str(path))
    if snapshot:
        owner, name, revision = snapshot.groups()
        return {"repo": f"{owner}/{name}", "revision": revision}
    if path.is_dir():
        return {"folder": path.name, "sha256": folder_sha256(path)}
    if path.is_file():
        found = {"file": path.name, "sha256": file_sha256(path), "bytes": path.stat().st_size}
        entry = getattr(source, "entry", None)
        if entry is not None and entry.embedded:
            found["package"] = _package(entry.embedded.split(":", 1)[0])
        return found
    return {}


def hub_revision(repo: str) -> str | None:
    """The commit of the cached snapshot of a hub repo (None when nothing is cached)."""
    from huggingface_hub import try_to_load_from_cache

    for filename in ("model_index.json", "config.json"):
        cached = try_to_load_from_cache(repo, filename)
        if isinstance(cached, str) and (match := _SNAPSHOT.search(cached)):
            return match.group(3)
    return None


def _package(dist_name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    with contextlib.suppress(PackageNotFoundError):
        return f"{dist_name}=={version(dist_name)}"
    return dist_name


def _cache_file() -> Path:
    return cache_dir() / "fingerprints.json"


def file_sha256(path: str | os.PathLike) -> str:
    """A file's sha256, computed once per (path, size, mtime) and kept in the genai cache."""
    from .files import atomic_write_text

    path = Path(path).resolve()
    stat = path.stat()
    key, stamp = str(path), [stat.st_size, stat.st_mtime_ns]
    with _CACHE_LOCK:
        known = _read_cache()
        if known.get(key, {}).get("stamp") == stamp:
            return known[key]["sha256"]
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    with _CACHE_LOCK:
        known = _read_cache()
        known[key] = {"stamp": stamp, "sha256": digest.hexdigest()}
        try:
            atomic_write_text(_cache_file(), json.dumps(known))
        except OSError:  # a read-only cache only costs a re-hash next time
            pass
    return digest.hexdigest()


def _read_cache() -> dict[str, Any]:
    try:
        known = json.loads(_cache_file().read_text())
    except (OSError, ValueError):
        return {}
    return known if isinstance(known, dict) else {}


def folder_sha256(folder: str | os.PathLike) -> str:
    """One digest for a model folder: every file's relative path and sha256, in order."""
    folder = Path(folder)
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        if any(part.startswith(".") for part in relative.split("/")):
            continue
        digest.update(f"{relative}\0{file_sha256(path)}\n".encode())
    return digest.hexdigest()


# --- output digests ---------------------------------------------------------------------------


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def image_digest(image: Any) -> str:
    """The pixels' sha256 (mode and size first), whatever file format holds them."""
    head = f"{image.mode}:{image.width}x{image.height}:".encode()
    return hashlib.sha256(head + image.tobytes()).hexdigest()


def audio_digest(waveform: Any) -> str:
    import numpy as np

    samples = np.ascontiguousarray(np.atleast_2d(waveform), dtype="<f4")
    return hashlib.sha256(samples.tobytes()).hexdigest()


def image_output(image: Any) -> dict[str, Any]:
    size = {"width": image.width, "height": image.height, "mode": image.mode}
    return {"type": "image", "sha256": image_digest(image), **size}


def modality_of(result: Any) -> str:
    """text, image or audio, from what the result holds."""
    if hasattr(result, "images"):
        return "image"
    if hasattr(result, "waveform"):
        return "audio"
    if isinstance(getattr(result, "text", None), str):
        return "text"
    raise InvalidParameterError(f"cannot record a {type(result).__name__}: not a genai result")


def output_of(result: Any, index: int | None = None) -> dict[str, Any]:
    """The output's digest and shape (one picture with ``index``, else all of them)."""
    modality = modality_of(result)
    if modality == "text":
        digest, tokens = text_digest(result.text), getattr(result, "completion_tokens", None)
        return {"type": "text", "sha256": digest, "chars": len(result.text), "tokens": tokens}
    if modality == "audio":
        channels, samples = result.waveform.shape
        return {
            "type": "audio",
            "sha256": audio_digest(result.waveform),
            "sample_rate": int(result.sample_rate),
            "channels": int(channels),
            "samples": int(samples),
        }
    if index is None and len(result.images) == 1:
        index = 0
    if index is not None:
        return image_output(result.images[index])
    return {"type": "images", "items": [image_output(image) for image in result.images]}


# --- the record -------------------------------------------------------------------------------


def is_local_path(name: Any) -> bool:
    """A string that names a place on this machine (kept out of shared records)."""
    if not isinstance(name, str) or not name:
        return False
    return (
        os.path.isabs(name)
        or name.startswith(("./", "../", "~"))
        or bool(re.match(r"^[A-Za-z]:[\\/]", name))
    )


def shared_model_name(model: str, source: str = "") -> str:
    """The name to put in a shared file: ``model`` unless it is a local path, then ``source``
    (alias, hub id or file name) or the path's last part."""
    return (source or Path(str(model)).name) if is_local_path(model) else model


def reproducibility(modality: str, device: str | None) -> dict[str, Any]:
    """Bit-exact on CPU; GPU kernels (cuDNN, atomics) may differ slightly: a stated tolerance."""
    exact = device is None or str(device).startswith("cpu")
    tolerance = {
        "text": {"tokens": 0},
        "image": {"pixel_levels": 0 if exact else 2},
        "audio": {"sample_abs": 0.0 if exact else 1e-3},
    }[modality]
    note = (
        "bit-identical on the same machine, engine and versions"
        if exact
        else f"{device} kernels are not bit-reproducible: compared within the tolerance"
    )
    return {"exact": exact, "tolerance": tolerance, "note": note}


def _input_image(value: Any) -> dict[str, Any] | None:
    """An image-to-image input as its name and pixel digest (never its local path)."""
    if value is None:
        return None
    if hasattr(value, "tobytes"):
        return {"name": None, "sha256": image_digest(value)}
    path = Path(str(value)).expanduser()
    if path.is_file():
        from PIL import Image

        with Image.open(path) as image:
            return {"name": path.name, "sha256": image_digest(image.convert("RGB"))}
    return {"name": path.name, "sha256": None}


def build_record(
    result: Any, *, index: int | None = None, outputs: list[str] | None = None
) -> dict[str, Any]:
    """The provenance record of ``result`` (of picture ``index`` alone, for a PNG).

    ``outputs``: the names of the files written, if known (listed as ``files``).
    """
    from . import __version__
    from .files import to_jsonable

    modality = modality_of(result)
    origin = dict(getattr(result, "origin", None) or {})
    source = origin.get("source") or getattr(result, "source", "") or ""
    name = shared_model_name(origin.get("model") or result.model, source)
    parameters = dict(result.parameters or {})
    init_image = _input_image(parameters.pop("init_image", None))
    if init_image is not None:
        parameters["init_image"] = init_image["name"]
    seed = result.seed
    if modality == "image" and index is not None:
        seed = result.seeds[index]
        # A batch rounds differently from a single picture: one of a batch records its place
        # there (replay re-runs the batch); one already taken from its batch keeps it.
        if (parameters.get("num_images") or 1) > 1:
            parameters.setdefault("image_index", index)
        else:
            parameters["num_images"] = 1
    device = origin.get("device") or getattr(result, "device", None)
    record = {
        "schema": SCHEMA,
        "genai": __version__,
        "modality": modality,
        "model": {
            "name": name,
            "source": source or name,
            "family": origin.get("family"),
            "weights": origin.get("weights") or {},
        },
        "engine": origin.get("engine") or getattr(result, "engine", "") or None,
        "device": device,
        "dtype": origin.get("dtype") or getattr(result, "dtype", None),
        "parameters": parameters,
        "seed": seed,
        "input": {
            "prompt": getattr(result, "prompt", None),
            "negative_prompt": getattr(result, "negative_prompt", None),
            "image": init_image,
        },
        "output": output_of(result, index),
        "timings": dict(result.timings or {}),
        "reproducible": reproducibility(modality, device),
    }
    if outputs:
        record["files"] = [Path(str(o)).name for o in outputs]
    return to_jsonable(record)


# Every key a record must hold, and its JSON type.
_REQUIRED = dict(schema=int, genai=str, modality=str, model=dict, parameters=dict, input=dict)
_REQUIRED.update(output=dict, timings=dict, reproducible=dict)


def problems(record: Any) -> list[str]:
    """What is wrong with a provenance record (an empty list: it is valid)."""
    if not isinstance(record, dict):
        return [f"a record is a JSON object, not {type(record).__name__}"]
    found = [
        f"{key!r} is missing or not a {kind.__name__}"
        for key, kind in _REQUIRED.items()
        if not isinstance(record.get(key), kind)
    ]
    if found:
        return found
    if record["schema"] > SCHEMA:
        found.append(f"schema {record['schema']} is newer than this genai reads ({SCHEMA})")
    if record["modality"] not in MODALITIES:
        found.append(f"modality {record['modality']!r} is not one of {', '.join(MODALITIES)}")
    if not record["model"].get("name"):
        found.append("model.name is empty")
    if record.get("seed") is not None and not isinstance(record["seed"], int):
        found.append(f"seed {record['seed']!r} is not an integer")
    output_type = record["output"].get("type")
    if output_type not in ("text", "image", "audio", "images"):
        found.append(f"output.type {output_type!r} is not text, image, images or audio")
    shared = [record["model"].get("name"), record["model"].get("source")]
    shared += list(record["model"].get("weights", {}).values())
    shared += [v for v in record["parameters"].values() if isinstance(v, str)]
    found += [
        f"{value!r} is a local path: shared records name models by alias, hub id or file name"
        for value in shared
        if is_local_path(value)
    ]
    return found


def validate_record(record: Any) -> dict[str, Any]:
    """Return ``record`` if it follows the schema, else raise InvalidParameterError listing why."""
    found = problems(record)
    if found:
        raise InvalidParameterError("not a valid provenance record: " + "; ".join(found))
    return record


# --- a story: several outputs made together ---------------------------------------------------

STORY_KIND = "genai.story"


def story_record(parts: dict[str, Any], *, files: dict[str, str] | None = None) -> dict[str, Any]:
    """One record for outputs made together (the app's story: text, picture prompt, picture,
    narration), in order. ``parts`` maps a part's name to its result; ``files`` a part's name
    to the file it was saved as (kept as a name, relative to the story record's folder).
    Text parts carry their text, so the record alone holds the story.
    """
    from . import __version__

    files = files or {}
    return {
        "kind": STORY_KIND,
        "schema": SCHEMA,
        "genai": __version__,
        "parts": [
            {
                "name": name,
                "file": Path(files[name]).name if files.get(name) else None,
                **({"text": result.text} if modality_of(result) == "text" else {}),
                KEY: build_record(result),
            }
            for name, result in parts.items()
        ],
    }
