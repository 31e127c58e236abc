"""Making one recorded output again: the item to remake, the model to load, the call to make.

What ``genai.replay`` (reading records, writing the remade files) and ``genai.differences``
(comparing them) share, in a module of its own so that neither imports the other's half.

A picture from a batch records its batch (``num_images`` and ``image_index``, beside its
own seed): a batched pipeline call rounds differently from a single-picture one, so the
picture is made again exactly by re-running its whole batch and taking its place in it.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Models = str | os.PathLike | list[str] | None


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
    index: int | None = None  # a picture's place in its batch (the call makes the batch)

    @property
    def expected(self) -> dict[str, Any]:
        return self.record.get("output") or {}


@dataclass
class VerifyReport:
    """What ``verify`` found: ``identical``, ``differs`` or ``cannot replay``, and why.

    ``within_tolerance``: for an output remade on another device or dtype than it was made
    on (``placement`` says which), True when the differences stay within what such a change
    is expected to give (genai.differences.ACROSS_PLACEMENTS); None when not remade elsewhere.
    """

    status: str
    path: str
    model: str | None = None
    detail: str = ""
    first_difference: dict[str, Any] | None = None
    command: str | None = None  # how to get a missing model
    notes: list[str] = field(default_factory=list)
    parts: list[VerifyReport] = field(default_factory=list)
    placement: str | None = None  # "recorded on cuda:0 / bfloat16, remade on cpu / float32"
    within_tolerance: bool | None = None

    @property
    def verdict(self) -> str:
        """The status in words: "differs within tolerance" for a small change from another device."""
        return "differs within tolerance" if self.within_tolerance else self.status

    def __str__(self) -> str:
        lines = [f"{self.verdict}: {self.path}" + (f" ({self.model})" if self.model else "")]
        lines += [f"  {self.detail}"] if self.detail else []
        lines += [f"  {self.placement}"] if self.placement else []
        lines += [f"  run: {self.command}"] if self.command else []
        lines += [f"  note: {note}" for note in self.notes]
        lines += ["  " + str(part).replace("\n", "\n  ") for part in self.parts]
        return "\n".join(lines)


def load_for(
    item: Item, model: Models = None, *, device: str | None = None, dtype: str | None = None
):
    """Load the recorded model where the record ran, or one of ``model`` instead.

    ``model`` is a path, or several (a story made by local models): each is used for the
    records naming its file or folder name. ``device``/``dtype`` remake the output elsewhere
    on purpose (verify then reports how far it moved); by default the recorded device and
    dtype are used where this machine has that kind of device, else genai's default.
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
    if device is not None or dtype is not None:
        return genai.load(name, device=device or "auto", dtype=dtype or "auto")
    return genai.load(name, **recorded_placement(item.record))


def recorded_placement(record: dict[str, Any]) -> dict[str, Any]:
    """``device``/``dtype`` load options for the record's device, if this machine has one."""
    device, dtype = record.get("device"), record.get("dtype") or "auto"
    if not device:
        return {}
    if str(device).startswith("cpu"):
        return {"device": "cpu", "dtype": dtype}
    if str(device).startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            return {}  # genai's default here; verify says where it was made and where remade
        index = int(str(device).partition(":")[2] or 0)
        return {"device": device if index < torch.cuda.device_count() else "cuda", "dtype": dtype}
    return {}


def _chosen(item: Item, model: Models) -> str | None:
    if model is None or isinstance(model, (str, os.PathLike)):
        return None if model is None else str(model)
    named = [str(m) for m in model if Path(m).name == item.model]
    return named[0] if named else (str(model[0]) if len(model) == 1 else None)


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


def remake(generator: Any, item: Item):
    """The item made again: its call, and for a picture of a batch that picture alone."""
    result = call_model(generator, item)
    return result if item.index is None else picture_of(result, item.index)


def picture_of(result: Any, index: int):
    """Picture ``index`` of an image result, as a result of its own that still records its
    batch (``num_images``, ``image_index``), so its record replays the same way again."""
    return dataclasses.replace(
        result,
        images=[result.images[index]],
        seeds=[result.seeds[index]],
        seed=result.seeds[index],
        parameters={**result.parameters, "image_index": index},
    )


__all__ = ["Item", "Models", "VerifyReport", "call_model", "load_for", "remake"]
