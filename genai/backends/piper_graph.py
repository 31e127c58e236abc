"""Editing a Piper voice's ONNX graph so that its noise can be seeded (see genai.backends.piper).

Each ``RandomNormalLike`` node is replaced by a slice of a graph input
(``Shape -> ReduceProd -> Slice -> Reshape``, same shape and dtype as before), and each
noise size becomes a graph output. The edit is made on the serialized protobuf (a few dozen
lines below), so the ``onnx`` package is not needed.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterator
from typing import Any

logger = logging.getLogger("genai.audio")

_RANDOM_OPS = {"RandomNormalLike"}
_UNSEEDABLE_OPS = {"RandomNormal", "RandomUniform", "RandomUniformLike", "Multinomial", "Bernoulli"}
NOISE_INPUT = "genai_noise_{}"
SIZE_OUTPUT = "genai_noise_{}_size"
_ZERO = "genai_zero_i64"


# --- editing the ONNX protobuf -------------------------------------------------------------------
# Wire format: each field is a varint key (number << 3 | wire type) and a value; type 2 is
# length-delimited (strings, bytes, nested messages). Fields used: ModelProto.graph = 7;
# GraphProto.node = 1, .initializer = 5, .input = 11, .output = 12; NodeProto.input = 1, .output = 2,
# .name = 3, .op_type = 4, .attribute = 5; AttributeProto.name = 1, .f = 2, .i = 3, .type = 20.


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, pos


def _fields(data: bytes) -> Iterator[tuple[int, int, Any, bytes]]:
    """(field number, wire type, value, raw bytes of the whole field) for each field of a message."""
    pos = 0
    while pos < len(data):
        start = pos
        key, pos = _read_varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(data, pos)
        elif wire == 1:
            value, pos = data[pos : pos + 8], pos + 8
        elif wire == 5:
            value, pos = data[pos : pos + 4], pos + 4
        elif wire == 2:
            length, pos = _read_varint(data, pos)
            value, pos = data[pos : pos + length], pos + length
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield number, wire, value, data[start:pos]


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _ld(number: int, payload: bytes | str) -> bytes:
    payload = payload.encode() if isinstance(payload, str) else payload
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _node(
    op_type: str, inputs: list[str], outputs: list[str], name: str, attributes: bytes = b""
) -> bytes:
    body = b"".join(_ld(1, i) for i in inputs) + b"".join(_ld(2, o) for o in outputs)
    return _ld(1, body + _ld(3, name) + _ld(4, op_type) + attributes)


def _int_attribute(name: str, value: int) -> bytes:
    return _ld(5, _ld(1, name) + _varint(3 << 3) + _varint(value) + _varint(20 << 3) + _varint(2))


def _noise_input(name: str) -> bytes:
    """ValueInfoProto: a float tensor of one dimension of any length."""
    dimension = _ld(1, _ld(2, "n"))  # TensorShapeProto.dim { dim_param: "n" }
    tensor_type = _varint(1 << 3) + _varint(1) + _ld(2, dimension)  # elem_type FLOAT, shape
    return _ld(11, _ld(1, name) + _ld(2, _ld(1, tensor_type)))


def _size_output(name: str) -> bytes:
    """ValueInfoProto in GraphProto.output: an int64 tensor of shape [1]."""
    dimension = _ld(1, _varint(1 << 3) + _varint(1))  # TensorShapeProto.dim { dim_value: 1 }
    tensor_type = _varint(1 << 3) + _varint(7) + _ld(2, dimension)  # elem_type INT64, shape
    return _ld(12, _ld(1, name) + _ld(2, _ld(1, tensor_type)))


def _zero_initializer() -> bytes:
    """TensorProto: int64 [0]."""
    return _ld(
        5,
        _varint(1 << 3)
        + _varint(1)
        + _varint(2 << 3)
        + _varint(7)
        + _ld(7, _varint(0))
        + _ld(8, _ZERO),
    )


def _random_node(body: bytes) -> tuple[str, str, float, float, int] | None:
    """(input, output, mean, scale, dtype) of a RandomNormalLike node, else None."""
    inputs, outputs, op_type, mean, scale, dtype = [], [], "", 0.0, 1.0, 1
    for number, _, value, _ in _fields(body):
        if number == 1:
            inputs.append(value.decode())
        elif number == 2:
            outputs.append(value.decode())
        elif number == 4:
            op_type = value.decode()
        elif number == 5:
            attribute = {n: v for n, _, v, _ in _fields(value)}
            key = attribute.get(1, b"").decode()
            if key == "mean":
                mean = struct.unpack("<f", attribute[2])[0]
            elif key == "scale":
                scale = struct.unpack("<f", attribute[2])[0]
            elif key == "dtype":
                dtype = attribute.get(3, 1)
    if op_type in _UNSEEDABLE_OPS:
        raise _Unseedable(op_type)
    if op_type not in _RANDOM_OPS:
        return None
    if dtype != 1:  # only float noise is fed
        raise _Unseedable(f"{op_type} of dtype {dtype}")
    return inputs[0], outputs[0], mean, scale, dtype


class _Unseedable(Exception):
    pass


def seedable_graph(model: bytes) -> tuple[bytes, list[tuple[float, float]]]:
    """The model with each RandomNormalLike fed from an input ``genai_noise_<k>``; and (mean, scale) per k.

    A graph with other random ops comes back unchanged, with an empty list.
    """
    try:
        return _rewrite(model)
    except _Unseedable as reason:
        logger.info("voice graph has %s: left as it is", reason)
        return model, []


def _rewrite(model: bytes) -> tuple[bytes, list[tuple[float, float]]]:
    out = bytearray()
    noise: list[tuple[float, float]] = []
    for number, _, value, raw in _fields(model):
        if number != 7:
            out += raw
            continue
        graph = bytearray()
        for g_number, _, g_value, g_raw in _fields(value):
            found = _random_node(g_value) if g_number == 1 else None
            if found is None:
                graph += g_raw
                continue
            source, target, mean, scale, _ = found
            k = len(noise)
            shape, flat = f"genai_noise_{k}_shape", f"genai_noise_{k}_flat"
            size = SIZE_OUTPUT.format(k)
            graph += _node("Shape", [source], [shape], f"genai_noise_{k}/Shape")
            graph += _node(
                "ReduceProd",
                [shape],
                [size],
                f"genai_noise_{k}/ReduceProd",
                _int_attribute("keepdims", 1),
            )
            graph += _node(
                "Slice", [NOISE_INPUT.format(k), _ZERO, size], [flat], f"genai_noise_{k}/Slice"
            )
            graph += _node("Reshape", [flat, shape], [target], f"genai_noise_{k}/Reshape")
            noise.append((mean, scale))
        if noise:
            graph += _zero_initializer()
            graph += b"".join(_noise_input(NOISE_INPUT.format(k)) for k in range(len(noise)))
            graph += b"".join(_size_output(SIZE_OUTPUT.format(k)) for k in range(len(noise)))
        out += _ld(7, bytes(graph))
    return bytes(out), noise
