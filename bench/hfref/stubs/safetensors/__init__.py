"""A pure-Python stand-in for the safetensors package (the real one is Rust).

warm's parity harness (bench/hfref) runs Hugging Face transformers offline
with Debian's torch and no PyPI, so the Rust wheel is not at hand. This
implements the part of safetensors' public API that transformers (and
huggingface_hub) call when loading and saving PyTorch checkpoints:
safe_open (keys, metadata, get_tensor, get_slice), and safetensors.torch's
load_file, save_file, load, save, storage_ptr, storage_size. The file
format is the documented one: an 8-byte little-endian header length, a
JSON header (tensor name -> dtype, shape, data_offsets; optional
__metadata__ of strings), padded with spaces to 8 bytes, then the data.
It is our code, not a copy of safetensors.
"""

import json
import os
import struct

__version__ = "0.4.5+warm.standin"

__all__ = ["safe_open", "SafetensorError", "deserialize", "serialize", "serialize_file"]


class SafetensorError(Exception):
    """What safetensors raises for a malformed file."""


# dtype name -> (numpy-free) element size in bytes.
DTYPE_SIZES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1,
    "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
    "I32": 4, "U32": 4, "F32": 4,
    "F64": 8, "I64": 8, "U64": 8,
}

# The order of the Rust Dtype enum: save_file lays tensors out by
# descending dtype, then by name, as the Rust serializer does.
DTYPE_ORDER = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16",
               "I32", "U32", "F32", "F64", "I64", "U64"]

_MAX_HEADER = 100_000_000


def _parse_header(buf, n_total, name):
    if len(buf) < 8:
        raise SafetensorError(f"{name}: file is too small for a header")
    (n,) = struct.unpack("<Q", buf[:8])
    if n > _MAX_HEADER or 8 + n > n_total:
        raise SafetensorError(f"{name}: header length {n} is out of range")
    header = json.loads(bytes(buf[8:8 + n]).decode("utf-8"))
    if not isinstance(header, dict):
        raise SafetensorError(f"{name}: header is not a JSON object")
    metadata = header.pop("__metadata__", None)
    if metadata is not None and not (isinstance(metadata, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())):
        raise SafetensorError(f"{name}: __metadata__ must map strings to strings")
    data_len = n_total - 8 - n
    spans = []
    for tname, info in header.items():
        dtype, shape, (b, e) = info["dtype"], info["shape"], info["data_offsets"]
        if dtype not in DTYPE_SIZES:
            raise SafetensorError(f"{name}: tensor {tname}: unknown dtype {dtype}")
        count = 1
        for d in shape:
            count *= d
        if not (0 <= b <= e <= data_len) or e - b != count * DTYPE_SIZES[dtype]:
            raise SafetensorError(f"{name}: tensor {tname}: data_offsets {b},{e} do not fit dtype {dtype} shape {shape}")
        spans.append((b, e, tname))
    spans.sort()
    pos = 0
    for b, e, tname in spans:
        if b != pos:
            raise SafetensorError(f"{name}: tensor {tname}: data is not contiguous with the one before")
        pos = e
    if pos != data_len:
        raise SafetensorError(f"{name}: {data_len - pos} bytes after the last tensor")
    return 8 + n, header, metadata


def deserialize(data):
    """[(name, {"dtype", "shape", "data"})] from the bytes of a file."""
    start, header, _ = _parse_header(data, len(data), "<bytes>")
    out = []
    for tname, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        b, e = info["data_offsets"]
        out.append((tname, {"dtype": info["dtype"], "shape": info["shape"], "data": bytes(data[start + b:start + e])}))
    return out


def serialize(tensors, metadata=None):
    """The bytes of a file from {name: {"dtype", "shape", "data"}}.

    Tensors are laid out by descending dtype (Rust enum order), then by
    name; the header lists __metadata__ first, then tensors in data order;
    the header is compact JSON padded with spaces to a multiple of 8.
    """
    items = sorted(tensors.items(), key=lambda kv: (-DTYPE_ORDER.index(kv[1]["dtype"]), kv[0]))
    header = {}
    if metadata is not None:
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise SafetensorError("metadata must map strings to strings")
        header["__metadata__"] = dict(metadata)
    pos = 0
    chunks = []
    for tname, t in items:
        data = bytes(t["data"])
        count = 1
        for d in t["shape"]:
            count *= d
        if len(data) != count * DTYPE_SIZES[t["dtype"]]:
            raise SafetensorError(f"tensor {tname}: {len(data)} bytes do not fit dtype {t['dtype']} shape {t['shape']}")
        header[tname] = {"dtype": t["dtype"], "shape": list(t["shape"]), "data_offsets": [pos, pos + len(data)]}
        pos += len(data)
        chunks.append(data)
    h = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(chunks)


def serialize_file(tensors, filename, metadata=None):
    with open(filename, "wb") as f:
        f.write(serialize(tensors, metadata))


class _Slice:
    """What get_slice returns: shape and dtype now, data on indexing."""

    def __init__(self, f, name):
        self._f, self._name = f, name
        info = f._header[name]
        self._dtype, self._shape = info["dtype"], list(info["shape"])

    def get_shape(self):
        return list(self._shape)

    def get_dtype(self):
        return self._dtype

    def __getitem__(self, idx):
        return self._f.get_tensor(self._name)[idx]


class safe_open:
    """safe_open(filename, framework, device="cpu"): a safetensors file read lazily.

    framework "pt" (or "torch") gives torch tensors, "np"/"numpy" numpy arrays.
    """

    def __init__(self, filename, framework, device="cpu"):
        if framework not in ("pt", "torch", "np", "numpy"):
            raise SafetensorError(f"framework {framework!r} is not supported by this stand-in (pt, np)")
        if str(device) != "cpu":
            raise SafetensorError(f"device {device!r}: this stand-in reads to the CPU only")
        self._framework = framework
        self._path = os.fspath(filename)
        with open(self._path, "rb") as f:
            self._data = f.read()
        self._start, self._header, self._metadata = _parse_header(self._data, len(self._data), self._path)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._data = None
        return False

    def metadata(self):
        return None if self._metadata is None else dict(self._metadata)

    def keys(self):
        return sorted(self._header)

    def offset_keys(self):
        return [k for k, _ in sorted(self._header.items(), key=lambda kv: kv[1]["data_offsets"][0])]

    def get_slice(self, name):
        if name not in self._header:
            raise SafetensorError(f"File does not contain tensor {name}")
        return _Slice(self, name)

    def get_tensor(self, name):
        if name not in self._header:
            raise SafetensorError(f"File does not contain tensor {name}")
        info = self._header[name]
        b, e = info["data_offsets"]
        raw = self._data[self._start + b:self._start + e]
        if self._framework in ("pt", "torch"):
            from .torch import _tensor_from_bytes
            return _tensor_from_bytes(raw, info["dtype"], info["shape"])
        from .numpy import _array_from_bytes
        return _array_from_bytes(raw, info["dtype"], info["shape"])
