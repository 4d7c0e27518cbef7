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
    torch.setdefault((r["config"], "forward"), []).append(r["forward_ms"])
    torch.setdefault((r["config"], "train"), []).append(r["train_step_ms"])
med = statistics.median
print("%-8s %-11s %10s %10s %8s" % ("config", "measure", "warm ms", "torch ms", "ratio"))
ratios = {}
for cfg in sys.argv[3].split(","):
    for key, gname, tname in (("forward", "RewardForward", "forward"), ("train_step", "BTTrainStep", "train")):
        w, t = med(go[(gname, cfg)]), med(torch[(cfg, tname)])
        ratios[(cfg, key)] = t / w
        print("%-8s %-11s %10.1f %10.1f %8.2f" % (cfg, key, w, t, t / w))
print("(medians over rounds; ratio = torch time / warm time, > 1: warm faster; 2 threads each)")
print("train_step_ratio=%.2f forward_ratio=%.2f" % (ratios[("d128L2", "train_step")], ratios[("d128L2", "forward")]))
PYEOF
