#!/usr/bin/env bash
# Compares warm's Go GEMM with OpenBLAS (through PyTorch and NumPy from
# /usr/bin/python3) on warm's shapes, both on 2 threads, in one invocation.
# A second table compares them on 1 thread by the CPU time of that thread,
# which is much less disturbed by other processes sharing the machine.
#
#   bench/gemm_compare.sh [ROUNDS] [BENCHTIME] [FILTER]
#
# ROUNDS (default 3): the Go benchmark and the Python timings alternate this
# many times, so that load from other processes on the machine hits both
# sides alike; the table shows the best and the median of the rounds.
# BENCHTIME (default 300ms) is go test's -benchtime. FILTER (default ./.)
# selects shapes as go test -bench does, one regular expression per level of
# names like d128/fwd_qkv: d128/. for the d=128 shapes, ./attn for attention.
# Outputs go to bench/out/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${1:-3}
benchtime=${2:-300ms}
filter=${3:-./.}
py=/usr/bin/python3
out=bench/out/gemm_compare
mkdir -p "$out"
rm -f "$out"/go.*.txt "$out"/py.*.txt

if ! "$py" -c 'import torch' 2>/dev/null && ! "$py" -c 'import numpy' 2>/dev/null; then
	echo "gemm_compare.sh: $py has neither torch nor numpy (apt install python3-torch python3-numpy)" >&2
	exit 1
fi

# OpenBLAS tuning variables would make the library side run a different
# configuration from its default: drop them for Python only, and say so.
pyenv=(env)
for v in OPENBLAS_CORETYPE OPENBLAS_L2_SIZE; do
	if [[ -n "${!v+set}" ]]; then
		echo "note: $v=${!v} is set; unsetting it for the numpy/torch side only"
		pyenv+=(-u "$v")
	else
		echo "note: $v is not set"
	fi
done

go test -c -o "$out/kernels.test" ./kernels
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs; load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "go: $(go version | cut -d' ' -f3)"
echo "python: $("${pyenv[@]}" "$py" -c 'import sys; print(sys.version.split()[0])'); 2 threads: OPENBLAS_NUM_THREADS=2, torch.set_num_threads(2); 1 thread: 1 and 1"

for r in $(seq 1 "$rounds"); do
	echo "round $r/$rounds: go..." >&2
	"$out/kernels.test" -test.run '^$' -test.bench "^BenchmarkGemm\$/${filter}/./simd/" \
		-test.benchtime "$benchtime" >"$out/go.$r.txt"
	echo "round $r/$rounds: python..." >&2
	for t in 2 1; do
		"${pyenv[@]}" OPENBLAS_NUM_THREADS=$t OMP_NUM_THREADS=$t MKL_NUM_THREADS=$t \
			"$py" bench/gemm_compare.py time $t "$out/go.1.txt" >>"$out/py.$r.txt"
	done
done
grep -m1 'GEMM kernel' "$out/go.1.txt" | sed 's/^ *//' || true
"$py" bench/gemm_compare.py report "$out"/go.*.txt -- "$out"/py.*.txt | tee "$out/report.txt"
