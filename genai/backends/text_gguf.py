"""GGUF files for the text backends: read the header fast, make cached copies.

- :func:`read_metadata` reads a GGUF's key/value header without numpy (gguf's GGUFReader
  parses every tensor and token list: about 5 s for SmolLM2 on a 2-core CPU; this takes ms).
- :func:`dequantized_copy` writes, once, an F16 GGUF of a quantized file's exactly
  dequantized weights into the genai cache, for llama.cpp where a model's own quantization
  hurts its answers (see the catalog's ``dequantize`` load option).
- :func:`transformers_folder` converts a GGUF into a safetensors folder once, for
  ``engine="transformers"`` (transformers would dequantize it on every load).
"""

from __future__ import annotations

import hashlib
import logging
import struct
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import UnsupportedModelError
from ..paths import cache_dir

logger = logging.getLogger("genai.text")

_SCALARS = {  # GGUF value type -> struct format
    0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d",
}  # fmt: skip
_STRING, _ARRAY = 8, 9


def _damaged(path: Path, why: str) -> UnsupportedModelError:
    return UnsupportedModelError(
        f"{path}: not a readable GGUF file ({why}); the file is damaged or incomplete: "
        "download it again (or `genai pull` its model)"
    )


def _read(handle: BinaryIO, size: int) -> bytes:
    data = handle.read(size)
    if len(data) != size:
        raise EOFError("the file ends inside its header")
    return data


def _value(handle: BinaryIO, kind: int, keep_arrays: bool) -> Any:
    if kind in _SCALARS:
        fmt = _SCALARS[kind]
        return struct.unpack(fmt, _read(handle, struct.calcsize(fmt)))[0]
    if kind == _STRING:
        (length,) = struct.unpack("<Q", _read(handle, 8))
        return _read(handle, length).decode("utf-8", errors="replace")
    if kind == _ARRAY:
        item_kind, count = struct.unpack("<IQ", _read(handle, 12))
        if item_kind in _SCALARS and not keep_arrays:  # skip fixed-size items in one seek
            handle.seek(count * struct.calcsize(_SCALARS[item_kind]), 1)
            return count
        items = [_value(handle, item_kind, keep_arrays) for _ in range(count)]
        return items if keep_arrays else count
    raise ValueError(f"unknown value type {kind}")


def read_metadata(path: str | Path, *, keep_arrays: bool = False) -> dict[str, Any]:
    """The header's key/values; arrays (token lists, merges) become their length unless kept."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            if _read(handle, 4) != b"GGUF":
                raise ValueError("no GGUF magic at its start")
            version, _tensors, count = struct.unpack("<IQQ", _read(handle, 20))
            if version not in (2, 3):
                raise ValueError(f"GGUF version {version}, genai reads 2 and 3")
            found: dict[str, Any] = {}
            for _ in range(count):
                (length,) = struct.unpack("<Q", _read(handle, 8))
                key = _read(handle, length).decode("utf-8", errors="replace")
                (kind,) = struct.unpack("<I", _read(handle, 4))
                found[key] = _value(handle, kind, keep_arrays)
            return found
    except (OSError, ValueError, EOFError, OverflowError, struct.error, MemoryError) as error:
        raise _damaged(path, str(error)) from error


def model_facts(metadata: dict[str, Any]) -> dict[str, Any]:
    """What genai needs from a header: architecture, context length, vocabulary, chat template."""
    arch = str(metadata.get("general.architecture", ""))
    vocab = metadata.get(f"{arch}.vocab_size") or metadata.get("tokenizer.ggml.tokens")
    return {
        "architecture": arch,
        "context_length": metadata.get(f"{arch}.context_length"),
        "vocab_size": vocab if isinstance(vocab, int) else None,
        "chat_template": metadata.get("tokenizer.chat_template") or None,
        "file_type": metadata.get("general.file_type"),
    }


def file_key(path: Path) -> str:
    """A short key for a file's identity: its path, size and modification time."""
    stat = path.stat()
    text = f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# --- an F16 copy for llama.cpp ---------------------------------------------------------------

_F16 = 1  # general.file_type "mostly F16"


def dequantized_copy(path: Path) -> Path:
    """An F16 GGUF of ``path``'s dequantized weights, written once into the genai cache."""
    target = cache_dir() / "gguf-f16" / f"{path.stem}-{file_key(path)}.f16.gguf"
    if target.is_file():
        return target
    import numpy as np
    from gguf import GGMLQuantizationType, GGUFReader, GGUFValueType, GGUFWriter
    from gguf.quants import dequantize

    logger.warning(
        "writing an F16 copy of %s for llama.cpp (once; cached in %s)", path.name, target
    )
    reader = GGUFReader(str(path))
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    writer = GGUFWriter(str(partial), str(reader.fields["general.architecture"].contents()))
    for name, field in reader.fields.items():
        if name.startswith("GGUF.") or name in ("general.architecture", "general.file_type"):
            continue
        kind = field.types[0]
        sub_kind = field.types[-1] if kind == GGUFValueType.ARRAY else None
        writer.add_key_value(name, field.contents(), kind, sub_type=sub_kind)
    writer.add_file_type(_F16)
    plain = (GGMLQuantizationType.F32, GGMLQuantizationType.F16)
    for tensor in reader.tensors:
        data = (
            tensor.data
            if tensor.tensor_type in plain
            else dequantize(tensor.data, tensor.tensor_type)
        )
        # 1-D tensors (norms, biases) stay F32, as llama.cpp's own converter keeps them.
        data = np.asarray(data, dtype=np.float32 if data.ndim == 1 else np.float16)
        writer.add_tensor(tensor.name, data)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    partial.replace(target)  # the copy appears whole or not at all
    return target


# --- a safetensors folder for transformers ---------------------------------------------------


def transformers_folder(path: Path, model_class: Any) -> Path:
    """Convert a GGUF file once and keep the result: transformers de-quantizes it on every load."""
    folder = cache_dir() / "gguf" / f"{path.stem}-{file_key(path)}"
    if (folder / "config.json").is_file():
        return folder
    from transformers import AutoTokenizer

    logger.warning("converting %s for transformers (once; cached in %s)", path.name, folder)
    tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    model = model_class.from_pretrained(str(path.parent), gguf_file=path.name)
    # The weights are de-quantized by now; drop the GGUF quantizer so they save as plain safetensors.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    partial = folder.with_name(folder.name + ".partial")
    model.save_pretrained(partial, safe_serialization=True)
    tokenizer.save_pretrained(partial)
    partial.replace(folder)  # a folder appears whole or not at all
    return folder
