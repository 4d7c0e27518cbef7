#!/usr/bin/python3
"""Time warm's GEMM shapes with PyTorch and NumPy (OpenBLAS) and compare them
with the Go benchmark results. Used by bench/gemm_compare.sh; see there.

  gemm_compare.py time THREADS GO_BENCH_OUTPUT...   > python_results.txt
  gemm_compare.py report GO_BENCH_OUTPUT... -- PYTHON_RESULTS...

`time 2` measures wall time with 2 threads (set OPENBLAS_NUM_THREADS=2 in the
environment too: Debian's torch does not pass its thread count to OpenBLAS).
`time 1` measures the CPU time of the calling thread with 1 thread (set
OPENBLAS_NUM_THREADS=1), which, like the Go benchmark's GFLOP/s-cpu metric,
other processes on the machine disturb far less than wall time.

The shapes come from the Go sub-benchmark names, e.g.
  BenchmarkGemm/d128/fwd_qkv/NN_4096x384x128/simd/t2-2
  BenchmarkGemm/d128/attn_qk/NT_64x64x32_b256/simd/t2-2      (256 problems)
  BenchmarkGemm/d128/bwd_dw_qkv/TN_128x384x4096_beta1/simd/t2-2  (C += ...)
"""
import collections
import re
import statistics
import sys
import time

NAME = re.compile(
    r"^BenchmarkGemm/(?P<shape>[^/]+/[^/]+/(?P<lay>[NT]{2})_(?P<m>\d+)x(?P<n>\d+)x(?P<k>\d+)"
    r"(?:_b(?P<batch>\d+))?(?:_beta(?P<beta>[-0-9.e]+))?)/(?P<path>[^/]+)/t(?P<t>\d+)(?:-\d+)?$")


def go_results(paths):
    """{(shape, path, metric): [value, ...]} from `go test -bench` output, with
    metric "t2" (GFLOP/s on 2 threads) or "cpu1" (GFLOP/s-cpu on 1 thread)."""
    res = collections.defaultdict(list)
    for p in paths:
        for line in open(p):
            f = line.split()
            m = NAME.match(f[0]) if f else None
            if not m:
                continue
            if m["t"] == "2" and "GFLOP/s" in f:
                res[(m["shape"], m["path"], "t2")].append(float(f[f.index("GFLOP/s") - 1]))
            if m["t"] == "1" and "GFLOP/s-cpu" in f:
                res[(m["shape"], m["path"], "cpu1")].append(float(f[f.index("GFLOP/s-cpu") - 1]))
    return res


def shapes(paths):
    seen = {}
    for p in paths:
        for line in open(p):
            f = line.split()
            m = NAME.match(f[0]) if f else None
            if m and m["shape"] not in seen:
                seen[m["shape"]] = dict(
                    lay=m["lay"], m=int(m["m"]), n=int(m["n"]), k=int(m["k"]),
                    batch=int(m["batch"] or 0), beta=float(m["beta"] or 0))
    return seen


def bench(fn, clock, min_time=0.3):
    """Seconds per call, averaged over enough calls to last min_time."""
    fn()
    fn()
    n = 1
    while True:
        t0 = clock()
        for _ in range(n):
            fn()
        dt = clock() - t0
        if dt >= min_time:
            return dt / n
        n = max(2 * n, int(n * min_time / max(dt, 1e-9) * 1.2))


def operands(lib, s):
    """A, B (stored as the Go benchmark stores them) and C, for lib."""
    b = max(s["batch"], 1)
    am, ak = (s["k"], s["m"]) if s["lay"][0] == "T" else (s["m"], s["k"])
    bk, bn = (s["n"], s["k"]) if s["lay"][1] == "T" else (s["k"], s["n"])
    shp = (lambda r, c: (b, r, c)) if s["batch"] else (lambda r, c: (r, c))
    if lib == "torch":
        import torch
        mk = lambda r, c: torch.rand(*shp(r, c), dtype=torch.float32) * 2 - 1
    else:
        import numpy
        rng = numpy.random.default_rng(1)
        mk = lambda r, c: (rng.random(shp(r, c), dtype=numpy.float32) * 2 - 1)
    return mk(am, ak), mk(bk, bn), mk(s["m"], s["n"])


def time_shape(lib, s, clock):
    a, b, c = operands(lib, s)
    tr = lambda x: x.transpose(-1, -2) if lib == "torch" else x.swapaxes(-1, -2)
    oa = tr(a) if s["lay"][0] == "T" else a
    ob = tr(b) if s["lay"][1] == "T" else b
    if lib == "torch":
        import torch
        if s["beta"] == 1:
            f = (lambda: c.baddbmm_(oa, ob)) if s["batch"] else (lambda: c.addmm_(oa, ob))
        else:
            f = (lambda: torch.bmm(oa, ob, out=c)) if s["batch"] else (lambda: torch.mm(oa, ob, out=c))
    else:
        import numpy
        if s["beta"] == 1:
            def f():
                c[...] += numpy.matmul(oa, ob)
        else:
            f = lambda: numpy.matmul(oa, ob, out=c)
    sec = bench(f, clock)
    return 2 * s["m"] * s["n"] * s["k"] * max(s["batch"], 1) / sec / 1e9


def cmd_time(threads, paths):
    # 2 threads: wall time; 1 thread: CPU time of this thread, where
    # OpenBLAS (OPENBLAS_NUM_THREADS=1) runs.
    clock, metric = (time.perf_counter, "t2") if threads == 2 else (time.thread_time, "cpu1")
    libs = []
    try:
        import torch
        torch.set_num_threads(threads)
        libs.append("torch")
        print("# torch", torch.__version__, "threads", torch.get_num_threads(), file=sys.stderr)
    except ImportError:
        print("# torch not available", file=sys.stderr)
    try:
        import numpy
        libs.append("numpy")
        print("# numpy", numpy.__version__, file=sys.stderr)
    except ImportError:
        print("# numpy not available", file=sys.stderr)
    if not libs:
        sys.exit("gemm_compare.py: neither torch nor numpy is importable by " + sys.executable)
    for name, s in shapes(paths).items():
        for lib in libs:
            print(f"{lib} {metric} {name} {time_shape(lib, s, clock):.2f}", flush=True)


def cmd_report(go_paths, py_paths):
    go = go_results(go_paths)
    py = collections.defaultdict(list)
    for p in py_paths:
        for line in open(p):
            f = line.split()
            if len(f) == 4 and not line.startswith("#"):
                py[(f[0], f[1], f[2])].append(float(f[3]))
    libs = [l for l in ("torch", "numpy") if any(k[0] == l for k in py)]
    best = lambda v: max(v) if v else float("nan")
    med = lambda v: statistics.median(v) if v else float("nan")
    for metric, title in (("t2", "2 threads, GFLOP/s of wall time"),
                          ("cpu1", "1 thread, GFLOP/s per second of the thread's CPU time")):
        runs = max((len(v) for k, v in go.items() if k[2] == metric), default=0)
        if not runs:
            continue
        print(f"\n{title}: best (median) of {runs} rounds; ratio = Go / library")
        cols = [("go", lambda s: go.get((s, "simd", metric), []))]
        cols += [(l, (lambda l: lambda s: py.get((l, metric, s), []))(l)) for l in libs]
        print(f"{'shape':44s}" + "".join(f"{c:>16s}" for c, _ in cols)
              + "".join(f"{'Go/' + l:>15s}" for l in libs))
        ratios = collections.defaultdict(list)
        for s in shapes(go_paths):
            vals = [f(s) for _, f in cols]
            row = f"{s:44s}" + "".join(f"{best(v):7.1f} ({med(v):5.1f})" for v in vals)
            for i, l in enumerate(libs):
                rb, rm = best(vals[0]) / best(vals[i + 1]), med(vals[0]) / med(vals[i + 1])
                ratios[l].append(rb)
                row += f"{rb:8.2f} ({rm:4.2f})"
            print(row)
        for l in libs:
            r = [x for x in ratios[l] if x == x]
            g = 1.0
            for x in r:
                g *= x
            print(f"geometric mean Go/{l} (best): {g ** (1 / max(len(r), 1)):.2f} over {len(r)} shapes; "
                  f"Go faster on {sum(x >= 1 for x in r)}")


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("time", "report"):
        sys.exit(__doc__)
    if sys.argv[1] == "time":
        cmd_time(int(sys.argv[2]), sys.argv[3:])
    else:
        i = sys.argv.index("--")
        cmd_report(sys.argv[2:i], sys.argv[i + 1:])
