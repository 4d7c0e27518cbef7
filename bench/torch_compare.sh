#!/bin/sh
# torch_compare.sh: warm's engine against PyTorch, both on 2 threads, in one
# invocation. Runs ROUNDS rounds, each the Go benchmarks (model/bench_test.go:
# BenchmarkRewardForward, BenchmarkBTTrainStep) then bench/torch_bench.py
# (the same model, configurations and batches in plain PyTorch with
# AdamW + clip_grad_norm_), and reports the median of each timing over the
# rounds, per configuration. Interleaving the rounds spreads the load of a
# shared machine over both engines.
#
# The last line is exactly
#   train_step_ratio=X forward_ratio=Y
# for the reference configuration (d=128, 2 layers, 4 heads, vocabulary 4096,
# T=64): warm speed / torch speed, so > 1 means warm is faster.
#
# torch runs with 2 threads (torch.set_num_threads(2), OPENBLAS_NUM_THREADS=2,
# OMP_NUM_THREADS=2) and, in the same rounds, with 1 thread: on a machine
# that other jobs load, OpenMP/OpenBLAS worker threads that spin-wait can make
# 2 threads several times slower than 1. The ratios use torch's faster
# setting, so they never flatter warm; the table shows both.
#
# Environment: ROUNDS (default 3), BENCHTIME (go -benchtime, default 5x),
# ITERS (torch timed iterations, default 10), CONFIGS (default d128L2,d256L4).
set -eu
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
ROUNDS=${ROUNDS:-3}
BENCHTIME=${BENCHTIME:-5x}
ITERS=${ITERS:-10}
CONFIGS=${CONFIGS:-d128L2,d256L4}
export GOMAXPROCS=2 OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2 MKL_NUM_THREADS=2

if [ ! -x "$PY" ] || ! "$PY" -c "import torch" 2>/dev/null; then
	echo "torch_compare.sh: $PY with torch is required (apt install python3-torch)" >&2
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
benchre="^Benchmark(RewardForward|BTTrainStep)\$/^($(echo "$CONFIGS" | tr , '|'))\$"
go test -c -o "$tmp/model.test" ./model
i=1
while [ "$i" -le "$ROUNDS" ]; do
	echo "round $i/$ROUNDS: warm" >&2
	"$tmp/model.test" -test.run '^$' -test.bench "$benchre" -test.benchtime "$BENCHTIME" >>"$tmp/go.txt"
	echo "round $i/$ROUNDS: torch" >&2
	"$PY" bench/torch_bench.py --threads 2 --iters "$ITERS" --configs "$CONFIGS" >>"$tmp/torch.txt"
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
		"$PY" bench/torch_bench.py --threads 1 --iters "$ITERS" --configs "$CONFIGS" >>"$tmp/torch.txt"
	i=$((i + 1))
done

"$PY" - "$tmp/go.txt" "$tmp/torch.txt" "$CONFIGS" <<'PYEOF'
import json, re, statistics, sys
go = {}
for line in open(sys.argv[1]):
    m = re.match(r"Benchmark(\w+)/(\w+)-\d+\s+\d+\s+([\d.]+) ns/op", line)
    if m:
        go.setdefault((m.group(1), m.group(2)), []).append(float(m.group(3)) / 1e6)
torch = {}
for line in open(sys.argv[2]):
    r = json.loads(line)
    torch.setdefault((r["config"], "forward", r["threads"]), []).append(r["forward_ms"])
    torch.setdefault((r["config"], "train", r["threads"]), []).append(r["train_step_ms"])
med = statistics.median
print("%-8s %-11s %9s %12s %12s %7s" % ("config", "measure", "warm ms", "torch-2t ms", "torch-1t ms", "ratio"))
ratios = {}
for cfg in sys.argv[3].split(","):
    for key, gname, tname in (("forward", "RewardForward", "forward"), ("train_step", "BTTrainStep", "train")):
        w = med(go[(gname, cfg)])
        t2, t1 = med(torch[(cfg, tname, 2)]), med(torch[(cfg, tname, 1)])
        ratios[(cfg, key)] = min(t1, t2) / w
        print("%-8s %-11s %9.1f %12.1f %12.1f %7.2f" % (cfg, key, w, t2, t1, min(t1, t2) / w))
print("medians over rounds; warm on 2 threads (GOMAXPROCS=2); ratio = min(torch-2t, torch-1t) / warm, > 1: warm faster")
print("train_step_ratio=%.2f forward_ratio=%.2f" % (ratios[("d128L2", "train_step")], ratios[("d128L2", "forward")]))
PYEOF
