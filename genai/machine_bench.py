"""How long and how much memory each model takes on this machine: measured, or estimated.

``genai bench [MODEL ...]`` loads each model on disk with the default device, times one
standard call and keeps the figures in the genai cache (``bench.json``) with the hardware
they were measured on. ``describe(alias)`` gives the line ``genai models`` and the app's
pickers show ("~1.2 s / 64 tokens, 300 MB"); a model not yet measured gets an estimate
from its parameter count and dtype, marked as one. ``measure()`` is the meter that
``genai compare`` uses too: wall time, peak RSS (reset per block on Linux) and CUDA peak.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .paths import cache_dir

MB = 1024 * 1024
# One standard call per task; "per" is the unit the time is given for.
STANDARD = {
    "text-generation": (
        "Write a few sentences about the sea.",
        {"max_new_tokens": 64, "temperature": 0},
    ),
    "text-to-image": ("a lighthouse on a cliff at sunset", {}),
    "image-to-image": ("a lighthouse on a cliff at sunset", {}),
    "unconditional-image-generation": (None, {}),
    "text-to-speech": ("The quick brown fox jumps over the lazy dog.", {}),
    "text-to-audio": ("calm piano melody", {"duration": 2.0}),
}
UNITS = {"text": "64 tokens", "image": "image", "audio": "s of audio"}


# --- measuring --------------------------------------------------------------------------------


@dataclass
class Usage:
    """What one measured block took: seconds, peak process memory, CUDA peak (MB)."""

    seconds: float = 0.0
    rss_before_mb: float = 0.0
    peak_rss_mb: float = 0.0
    cuda_peak_mb: float | None = None

    @property
    def added_mb(self) -> float:
        """Peak memory above what the process held before the block: the block's own cost."""
        return max(0.0, self.peak_rss_mb - self.rss_before_mb)


def _status_mb(field: str) -> float | None:
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) / 1024 if match else None


def _rss_mb() -> float:
    found = _status_mb("VmRSS")
    if found is not None:
        return found
    try:
        import psutil

        return psutil.Process().memory_info().rss / MB
    except ImportError:
        return 0.0


def _reset_peak() -> bool:
    """Reset the kernel's RSS high-water mark (Linux); False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return _status_mb("VmHWM") is not None
    except OSError:
        return False


def _cuda():
    """torch.cuda when torch is already in use and a GPU is visible (measuring never imports torch)."""
    torch = __import__("sys").modules.get("torch")
    return torch.cuda if torch is not None and torch.cuda.is_available() else None


@contextlib.contextmanager
def measure() -> Iterator[Usage]:
    """Time a block and find its peak memory: the kernel's high-water mark, else a sampler."""
    usage = Usage(rss_before_mb=_rss_mb())
    cuda = _cuda()
    if cuda is not None:
        cuda.reset_peak_memory_stats()
    exact = _reset_peak()
    peak = [usage.rss_before_mb]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            peak[0] = max(peak[0], _rss_mb())

    sampler = None if exact else threading.Thread(target=sample, daemon=True)
    if sampler is not None:
        sampler.start()
    started = time.perf_counter()
    try:
        yield usage
    finally:
        usage.seconds = time.perf_counter() - started
        done.set()
        if sampler is not None:
            sampler.join()
        high = _status_mb("VmHWM") if exact else None
        usage.peak_rss_mb = max(peak[0], high or 0.0, _rss_mb())
        cuda = cuda or _cuda()
        if cuda is not None:
            usage.cuda_peak_mb = cuda.max_memory_allocated() / MB


# --- this machine -----------------------------------------------------------------------------


def free_memory_mb() -> float | None:
    """Memory a new model could use now: MemAvailable (Linux) or psutil's available."""
    return _meminfo("MemAvailable")


def _meminfo(field: str) -> float | None:
    try:
        match = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/meminfo").read_text(), re.MULTILINE)
        if match:
            return int(match.group(1)) / 1024
    except OSError:
        pass
    try:
        import psutil

        memory = psutil.virtual_memory()
        return (memory.total if field == "MemTotal" else memory.available) / MB
    except ImportError:
        return None


def hardware() -> dict[str, Any]:
    """What the figures were measured on (no torch import: `genai models` stays fast)."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        match = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        cpu = match.group(1).strip() if match else cpu
    total = _meminfo("MemTotal")
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": round(total / 1024, 1) if total else None,
        "system": platform.system(),
    }


def machine_key(found: dict[str, Any] | None = None) -> str:
    found = found or hardware()
    text = json.dumps([found["cpu"], found["cores"], found["ram_gb"], found["system"]])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# --- stored figures ---------------------------------------------------------------------------


def store_path() -> Path:
    return cache_dir() / "bench.json"


def _load_store() -> dict[str, Any]:
    try:
        store = json.loads(store_path().read_text())
    except (OSError, ValueError):
        return {"machines": {}}
    return store if isinstance(store.get("machines"), dict) else {"machines": {}}


def measured(name: str | None = None) -> dict[str, Any]:
    """This machine's figures: all models, or one (empty when it was never measured)."""
    models = _load_store()["machines"].get(machine_key(), {}).get("models", {})
    return models.get(name, {}) if name is not None else models


def record(name: str, figures: dict[str, Any]) -> None:
    """Keep one model's figures for this machine, with the hardware."""
    from .files import atomic_write_text

    store, found = _load_store(), hardware()
    machine = store["machines"].setdefault(machine_key(found), {"hardware": found, "models": {}})
    machine["hardware"] = found
    machine["models"][name] = figures
    atomic_write_text(store_path(), json.dumps(store, indent=2) + "\n")


def bench(name: str) -> dict[str, Any]:
    """Load ``name`` fresh with the default device, time one standard call, keep the figures."""
    import genai

    from . import __version__
    from .resolve import resolve

    resolved = resolve(name).check()
    prompt, call = STANDARD[resolved.task]
    genai.unload(name)
    with measure() as loading:
        generator = genai.load(name)
    call = {
        k: v for k, v in call.items() if not generator.call_spec.params or k in generator.call_spec
    }
    try:
        with measure() as running:
            result = generator(prompt, seed=0, **call) if prompt else generator(seed=0, **call)
    finally:
        generator.unload()
    modality = generator.modality
    if modality == "text":
        per = running.seconds / max(1, result.completion_tokens) * 64
    elif modality == "image":
        per = running.seconds / max(1, len(result.images))
    else:
        per = running.seconds / max(result.duration, 1e-6)
    figures = {
        "modality": modality,
        "load_s": round(loading.seconds, 3),
        "per_output_s": round(per, 3),
        "unit": UNITS[modality],
        "memory_mb": round(max(loading.peak_rss_mb, running.peak_rss_mb) - loading.rss_before_mb),
        "cuda_peak_mb": round(max(loading.cuda_peak_mb or 0, running.cuda_peak_mb or 0)) or None,
        "device": generator.placement.device,
        "dtype": generator.placement.dtype_name,
        "load_average": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "genai": __version__,
    }
    record(name, figures)
    return figures


# --- estimates --------------------------------------------------------------------------------

_BYTES_PER_PARAM = {"float32": 4, "float16": 2, "bfloat16": 2}
_CPU_BANDWIDTH_GBS = (
    10.0  # what a laptop's memory reads per second, roughly: decoding is bound by it
)


def parameter_count(params: str) -> float | None:
    """'135M' -> 135e6, '1.3B' -> 1.3e9 (None when the catalog gives no number)."""
    match = re.fullmatch(r"\s*([\d.]+)\s*([KMB])\s*", params or "", re.IGNORECASE)
    if not match:
        return None
    return float(match.group(1)) * {"K": 1e3, "M": 1e6, "B": 1e9}[match.group(2).upper()]


def estimate(entry: Any, dtype: str = "float32") -> dict[str, Any]:
    """Memory from the weights' size (the file's, for a shipped file), time scaled from a
    measured model of the same modality on this machine (text: memory bandwidth otherwise)."""
    from .hub import embedded_path

    count = parameter_count(entry.params)
    path = embedded_path(entry) if entry.embedded else None
    weights_mb = path.stat().st_size / MB if path else (count or 0) * _BYTES_PER_PARAM[dtype] / MB
    if not weights_mb:
        return {}
    figures: dict[str, Any] = {
        "estimate": True,
        "modality": entry.modality,
        "unit": UNITS[entry.modality],
        "memory_mb": round(weights_mb * 1.2 + 100),
        "per_output_s": None,
    }
    references = [
        (name, f) for name, f in measured().items() if f.get("modality") == entry.modality
    ]
    from .catalog import find_entry

    for name, found in references:
        reference = find_entry(name)
        ratio = (count or 0) / (parameter_count(reference.params) or 0) if reference else 0
        if ratio and entry.modality == "image":  # steps and pixels count as much as size
            ratio *= _image_work(entry) / _image_work(reference)
        if ratio:
            figures["per_output_s"] = round(found["per_output_s"] * ratio, 2)
            figures["scaled_from"] = name
            return figures
    if entry.modality == "text":
        figures["per_output_s"] = round(64 * weights_mb / 1024 / _CPU_BANDWIDTH_GBS, 2)
    return figures


def _image_work(entry: Any) -> float:
    defaults = entry.defaults
    return (
        defaults.get("num_inference_steps", 1)
        * defaults.get("width", 512)
        * defaults.get("height", 512)
    )


def fits(figures: dict[str, Any]) -> bool:
    """Whether a model's memory fits in what is free now (GPU memory if it was measured there)."""
    if figures.get("cuda_peak_mb"):
        cuda = _cuda() or __import__("torch").cuda
        if cuda.is_available():
            return figures["cuda_peak_mb"] * MB < cuda.mem_get_info()[0]
    free = free_memory_mb()
    return free is None or not figures.get("memory_mb") or figures["memory_mb"] < free


def figures_for(entry: Any) -> dict[str, Any]:
    """Measured figures for a catalog entry on this machine, else an estimate."""
    return measured(entry.alias) or estimate(entry)


def describe(figures: dict[str, Any]) -> str:
    """'~1.2 s / 64 tokens, 300 MB' (measured) or '≈ 2 s / 64 tokens, 650 MB (estimate)'."""
    if not figures:
        return ""
    mark = "≈" if figures.get("estimate") else "~"
    parts = []
    if figures.get("per_output_s") is not None:
        parts.append(f"{mark}{figures['per_output_s']:.3g} s / {figures['unit']}")
    memory = figures.get("cuda_peak_mb") or figures.get("memory_mb")
    if memory:
        parts.append(f"{memory / 1024:.1f} GB" if memory >= 1024 else f"{memory:.0f} MB")
    return ", ".join(parts) + (" (estimate)" if figures.get("estimate") else "")
