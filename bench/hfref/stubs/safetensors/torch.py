"""safetensors.torch for the stand-in: load_file, save_file, load, save,
storage_ptr, storage_size (see safetensors/__init__.py)."""

import os

import torch

from . import SafetensorError, _parse_header, serialize

_TO_TORCH = {
    "BOOL": torch.bool, "U8": torch.uint8, "I8": torch.int8, "I16": torch.int16,
    "F16": torch.float16, "BF16": torch.bfloat16, "I32": torch.int32, "F32": torch.float32,
    "F64": torch.float64, "I64": torch.int64,
}
_FROM_TORCH = {v: k for k, v in _TO_TORCH.items()}

_SIZE = {
    torch.int64: 8, torch.float32: 4, torch.int32: 4, torch.bfloat16: 2, torch.float16: 2,
    torch.int16: 2, torch.uint8: 1, torch.int8: 1, torch.bool: 1, torch.float64: 8,
}


def storage_ptr(tensor):
    """The address of the storage under tensor (shared tensors share it)."""
    try:
        return tensor.untyped_storage().data_ptr()
    except Exception:
        try:
            return tensor.storage().data_ptr()
        except NotImplementedError:
            return 0  # meta tensors


def storage_size(tensor):
    """The size in bytes of the storage under tensor."""
    try:
        return tensor.untyped_storage().nbytes()
    except AttributeError:
        try:
            return tensor.storage().size() * _SIZE[tensor.dtype]
        except NotImplementedError:
            return tensor.nelement() * _SIZE[tensor.dtype]


def _tensor_from_bytes(raw, dtype, shape):
    if dtype not in _TO_TORCH:
        raise SafetensorError(f"dtype {dtype} has no torch counterpart here")
    if len(raw) == 0:
        return torch.empty(shape, dtype=_TO_TORCH[dtype])
    t = torch.frombuffer(bytearray(raw), dtype=_TO_TORCH[dtype])
    return t.reshape(shape)


def _tensor_bytes(t):
    if t.layout != torch.strided:
        raise SafetensorError("only dense tensors can be saved")
    t = t.detach().to("cpu").contiguous()
    if t.dtype == torch.bool:
        return t.to(torch.uint8).numpy().tobytes()
    if t.dtype in (torch.bfloat16, torch.float16):
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def _flatten(tensors):
    if not isinstance(tensors, dict):
        raise ValueError(f"Expected a dict of [str, torch.Tensor] but received {type(tensors)}")
    seen = {}
    for name, t in tensors.items():
        if not isinstance(t, torch.Tensor):
            raise ValueError(f"Key `{name}` is invalid, expected torch.Tensor but received {type(t)}")
        if t.dtype not in _FROM_TORCH:
            raise SafetensorError(f"tensor {name}: dtype {t.dtype} is not supported by this stand-in")
        if t.numel() > 0:
            key = (t.device, storage_ptr(t))
            if key in seen:
                raise RuntimeError(
                    f"Some tensors share memory, this will lead to duplicate memory on disk and potential "
                    f"differences when loading them again: [{seen[key]!r}, {name!r}].")
            seen[key] = name
    return {name: {"dtype": _FROM_TORCH[t.dtype], "shape": list(t.shape), "data": _tensor_bytes(t)}
            for name, t in tensors.items()}


def save(tensors, metadata=None):
    return serialize(_flatten(tensors), metadata)


def save_file(tensors, filename, metadata=None):
    data = save(tensors, metadata)
    with open(os.fspath(filename), "wb") as f:
        f.write(data)


def load(data):
    start, header, _ = _parse_header(data, len(data), "<bytes>")
    return {name: _tensor_from_bytes(data[start + i["data_offsets"][0]:start + i["data_offsets"][1]], i["dtype"], i["shape"])
            for name, i in sorted(header.items())}


def load_file(filename, device="cpu"):
    if str(device) != "cpu":
        raise SafetensorError(f"device {device!r}: this stand-in reads to the CPU only")
    with open(os.fspath(filename), "rb") as f:
        return load(f.read())
