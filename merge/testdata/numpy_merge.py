#!/usr/bin/python3
"""Reference weight averaging with numpy, independent of warm's Go code.

Used by warm's tests (bit-for-bit comparison) and by bench/merge_bench.sh
(speed baseline). Reads safetensors members (a directory with
model.safetensors or a sharded index, or a single file) with np.memmap at the
offsets in their headers, averages float tensors in float64 (product rounded,
then added, members in order, starting from the first non-zero-weight term),
rounds to float32 and then to the output dtype (round to nearest even), copies
integer/bool tensors from the first member, and writes one safetensors file.

usage: numpy_merge.py --out FILE [--weights w1,w2,...] [--dtype F32|F16|BF16|F64] MEMBER...
"""
import argparse
import json
import os
import struct

import numpy as np

NP = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16, "BF16": np.uint16,
    "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8,
    "U64": np.uint64, "U32": np.uint32, "U16": np.uint16, "U8": np.uint8, "BOOL": np.bool_,
}
FLOATS = ("F64", "F32", "F16", "BF16")
CHUNK = 1 << 22  # elements per step, to bound memory


def open_set(path):
    """name -> (dtype, shape, file, absolute offset)"""
    if os.path.isdir(path):
        idx = os.path.join(path, "model.safetensors.index.json")
        if os.path.exists(idx):
            with open(idx) as f:
                wm = json.load(f)["weight_map"]
            paths = [os.path.join(path, s) for s in sorted(set(wm.values()))]
        else:
            paths = [os.path.join(path, "model.safetensors")]
    else:
        paths = [path]
    tensors = {}
    for p in paths:
        with open(p, "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            hdr = json.loads(f.read(n))
        hdr.pop("__metadata__", None)
        for name, t in hdr.items():
            tensors[name] = (t["dtype"], t["shape"], p, 8 + n + t["data_offsets"][0])
    return tensors


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def load(t):
    dt, shape, path, off = t
    n = numel(shape)
    if n == 0:
        return np.zeros(0, dtype=NP[dt])
    return np.memmap(path, dtype=NP[dt], mode="r", offset=off, shape=(n,))


def to_f64(dt, a):
    if dt == "BF16":
        return (a.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    return a.astype(np.float64)


def to_out(dt, acc):
    if dt == "F64":
        return acc
    f32 = acc.astype(np.float32)
    if dt == "F32":
        return f32
    if dt == "F16":
        return f32.astype(np.float16)
    u = f32.view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)  # BF16, ties to even


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--weights")
    ap.add_argument("--dtype")
    ap.add_argument("members", nargs="+")
    a = ap.parse_args()
    sets = [open_set(m) for m in a.members]
    w = [1.0 / len(sets)] * len(sets)
    if a.weights:
        w = [float(x) for x in a.weights.split(",")]
        s = sum(w)
        w = [x / s for x in w]
    names = sorted(sets[0])
    specs, off = {}, 0
    for name in names:
        dt, shape = sets[0][name][0], sets[0][name][1]
        odt = (a.dtype or dt) if dt in FLOATS else dt
        size = numel(shape) * np.dtype(NP[odt]).itemsize
        specs[name] = {"dtype": odt, "shape": shape, "data_offsets": [off, off + size]}
        off += size
    hdr = json.dumps(specs, separators=(",", ":")).encode()
    hdr += b" " * (-len(hdr) % 8)
    tmp = a.out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hdr)))
        f.write(hdr)
        for name in names:
            dt = sets[0][name][0]
            arrays = [load(s[name]) for s in sets]
            if dt not in FLOATS:
                f.write(np.ascontiguousarray(arrays[0]).tobytes())
                continue
            odt = specs[name]["dtype"]
            n = arrays[0].shape[0]
            for lo in range(0, n, CHUNK):
                hi = min(lo + CHUNK, n)
                acc = None
                for s, x, wm in zip(sets, arrays, w):
                    if wm == 0:
                        continue
                    term = to_f64(s[name][0], x[lo:hi]) * wm
                    if acc is None:
                        acc = term
                    else:
                        acc += term
                f.write(to_out(odt, acc).tobytes())
    os.replace(tmp, a.out)


if __name__ == "__main__":
    main()
