"""safetensors.numpy for the stand-in: load_file, save_file."""

import os

import numpy as np

from . import SafetensorError, _parse_header, serialize

_TO_NP = {"BOOL": np.bool_, "U8": np.uint8, "I8": np.int8, "I16": np.int16, "U16": np.uint16,
          "F16": np.float16, "I32": np.int32, "U32": np.uint32, "F32": np.float32,
          "F64": np.float64, "I64": np.int64, "U64": np.uint64}
_FROM_NP = {np.dtype(v): k for k, v in _TO_NP.items()}


def _array_from_bytes(raw, dtype, shape):
    if dtype not in _TO_NP:
        raise SafetensorError(f"dtype {dtype} has no numpy counterpart")
    return np.frombuffer(bytes(raw), dtype=np.dtype(_TO_NP[dtype]).newbyteorder("<")).reshape(shape).copy()


def save_file(tensors, filename, metadata=None):
    flat = {n: {"dtype": _FROM_NP[a.dtype], "shape": list(a.shape), "data": np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes()}
            for n, a in tensors.items()}
    with open(os.fspath(filename), "wb") as f:
        f.write(serialize(flat, metadata))


def load_file(filename):
    with open(os.fspath(filename), "rb") as f:
        data = f.read()
    start, header, _ = _parse_header(data, len(data), os.fspath(filename))
    return {n: _array_from_bytes(data[start + i["data_offsets"][0]:start + i["data_offsets"][1]], i["dtype"], i["shape"])
            for n, i in sorted(header.items())}
