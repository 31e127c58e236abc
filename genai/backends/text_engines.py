"""Which engine runs a text model: the text families' entry in the registry.

``engine="auto"`` runs GGUF files on llama.cpp and everything else on transformers, except on a
CUDA machine: there a GGUF runs on transformers on the GPU (converted once and dequantized,
bf16) unless the installed llama.cpp is a GPU build, because transformers on the GPU is far
faster than llama.cpp on the CPU. ``engine="transformers"`` converts a GGUF once and runs it
there. The registry's text rows name :class:`TextModel`, which hands each load to the engine's
class and records why that engine was chosen (``engine_reason`` in ``info()``).
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

from ..device import DEVICE_ENV, Placement, check_dtype, resolve_placement
from .text import TextGenerator, choose_engine, entry_options


@lru_cache(maxsize=1)
def llamacpp_gpu() -> tuple[bool, str]:
    """Whether the installed llama.cpp can run on a GPU: a CUDA (or other GPU) build of
    xllamacpp lists a GPU device among its backends; its CPU wheel lists only the CPU."""
    try:
        import xllamacpp
    except ImportError:
        return False, "xllamacpp is not installed"
    try:
        devices = xllamacpp.get_device_info()
    except Exception as error:  # an old or unusual build: say so, assume the CPU
        return False, f"xllamacpp could not list its devices ({error})"
    gpus = [d for d in devices if "GPU" in str(d.get("type", ""))]
    if gpus:
        return True, f"the installed llama.cpp is a GPU build ({gpus[0].get('name', 'GPU')})"
    names = ", ".join(str(d.get("name", "?")) for d in devices) or "none"
    return False, f"the installed llama.cpp is a CPU build (its devices: {names})"


def _maybe_cuda() -> bool:
    """A cheap first look (no torch import) for an NVIDIA driver; torch confirms afterwards."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    return os.path.exists("/proc/driver/nvidia/version") or os.path.exists("/dev/nvidiactl")


def _is_gguf(source) -> bool:
    return source.kind == "file" and source.location.lower().endswith(".gguf")


def engine_for(source, options: dict[str, Any], placement: Placement | None) -> tuple[str, str]:
    """(engine name, why) for ``source`` loaded with these options at this placement."""
    wanted = options.get("engine") or entry_options(source).get("engine")
    chosen = choose_engine(source, wanted)
    if wanted not in (None, "auto"):
        return chosen, "asked for"
    if not _is_gguf(source):
        return chosen, "transformers runs every model that is not a GGUF file"
    if placement is not None and placement.is_cuda:
        gpu, why = llamacpp_gpu()
        if gpu:
            return "llama.cpp", f"GGUF on a CUDA machine: {why}"
        return "transformers", (
            f"GGUF on a CUDA machine: {why}, so transformers runs it on the GPU "
            f"({placement.dtype_name}, dequantized once)"
        )
    return "llama.cpp", "GGUF file on the CPU: llama.cpp runs its own types fastest there"


def engine_class(source, options: dict[str, Any], placement: Placement | None = None):
    """The generator class of the engine that runs ``source`` with these load options."""
    if engine_for(source, options, placement)[0] == "llama.cpp":
        from .llamacpp import LlamaCppGenerator

        return LlamaCppGenerator
    from .text_transformers import TransformersTextGenerator

    return TransformersTextGenerator


class TextModel:
    """The text families' backend: ``TextModel(source, ...)`` returns the chosen engine's
    generator (a TextGenerator)."""

    modality = TextGenerator.modality
    call_spec = TextGenerator.call_spec
    load_option_names = (*TextGenerator.load_option_names, "cache")

    @classmethod
    def placement_for(cls, source, device, dtype, device_map, options: dict[str, Any]):
        """Where the model runs. llama.cpp on the CPU needs no torch (so none is imported:
        start-up stays short) unless the machine may have a CUDA GPU; everything else asks
        genai.device."""
        if dtype != "gguf":  # what a llama.cpp result records (replay passes it back)
            check_dtype(dtype)  # a GGUF keeps its own types; a misspelt dtype is still refused
        engine = options.get("engine") or entry_options(source).get("engine")
        cpu = device in (None, "auto", "cpu") and device_map is None
        if cpu and choose_engine(source, engine) == "llama.cpp" and not os.environ.get(DEVICE_ENV):
            if device == "cpu" or engine == "llama.cpp" or not _maybe_cuda():
                return Placement(
                    "cpu", "gguf", None, "llama.cpp runs the GGUF's own types on the CPU"
                )
            placement = resolve_placement(device, dtype, device_map)
            if engine_for(source, options, placement)[0] == "llama.cpp" and not placement.is_cuda:
                return Placement(
                    "cpu", "gguf", None, "llama.cpp runs the GGUF's own types on the CPU"
                )
            return placement
        return resolve_placement(device, dtype, device_map)

    def __new__(cls, source, family, task, placement, **options: Any) -> TextGenerator:  # type: ignore[misc]
        engine, why = engine_for(source, options, placement)
        if engine == "transformers" and choose_engine(source, options.get("engine")) == "llama.cpp":
            options = {**options, "engine": "transformers"}  # the GGUF goes to transformers
        generator = engine_class(source, options, placement)(
            source, family, task, placement, **options
        )
        generator.engine_reason = why
        return generator
