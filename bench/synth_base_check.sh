#!/usr/bin/env bash
# synth_base_check.sh: does the pre-trained base matter on the synthetic task?
# (issue 4: "first make the base matter"). After `warm experiment --task
# synthetic -o X`, it trains:
#   - a linear probe on frozen features of the base and of a random init;
#   - member-00's exact reward model (its lr, init snapshot, seeds, the same
#     25% flipped labels, 2,000 steps, the shared head) and the same from a
#     random init (with its own probed head: the shared head was fitted on
#     the SFT features),
# and evaluates all four on the ID test and OOD test sets with paired
# differences (warm eval: first model minus each other).
#
# Usage: bench/synth_base_check.sh [X]   (default runs/synth)
set -euo pipefail
cd "$(dirname "$0")/.."
X=${1:-runs/synth}
for f in "$X/base/config.json" "$X/sweep/head/config.json" "$X/sft.steps/step-001000/config.json"; do
	[ -e "$f" ] || { echo "synth_base_check.sh: $f not found: run warm experiment --task synthetic -o $X first" >&2; exit 1; }
done
B=$X/basecheck
mkdir -p "$B"
go build -o "$B/warm" ./cmd/warm
W="$B/warm"
D=$X/data
evals=(--eval "$D/test.jsonl" --eval "$D/ood_test.jsonl")

# A random init with the base's shape and tokenizer (0 steps: weights as initialised).
shape=$(python3 -c "import json;c=json.load(open('$X/base/config.json'));print(c['n_embd'],c['n_layer'],c['n_head'],c['n_positions'])")
read -r d l h ctx <<<"$shape"
[ -d "$B/random" ] || $W pretrain -o "$B/random" --tokenizer "$X/base/tokenizer.json" --d "$d" --layers "$l" --heads "$h" \
	--ctx "$ctx" --steps 0 --val-frac 0 --init-seed 1 "$D/corpus.txt"
for init in base random; do
	src=$X/$init; [ "$init" = random ] && src=$B/random
	[ -d "$B/probe-$init" ] || $W train -o "$B/probe-$init" --init "$src" --probe-only "${evals[@]}" "$D/train.jsonl" >"$B/probe-$init.txt"
done
rm_args=(--steps 2000 --batch 32 --lr 1e-4 --min-lr 0 --warmup 100 --dropout 0 --seed 1001 --data-seed 1001
	--corrupt 0.25 --corrupt-seed 1 "${evals[@]}")
[ -d "$B/rm-sft" ] || $W train -o "$B/rm-sft" --init "$X/sft.steps/step-001000" --head "$X/sweep/head" "${rm_args[@]}" "$D/train.jsonl" >"$B/rm-sft.txt"
[ -d "$B/rm-random" ] || $W train -o "$B/rm-random" --init "$B/random" "${rm_args[@]}" "$D/train.jsonl" >"$B/rm-random.txt"
$W eval --json "$B/eval.json" --model "$B/rm-sft" --model "$B/rm-random" --model "$B/probe-base" --model "$B/probe-random" \
	"$D/test.jsonl" "$D/ood_test.jsonl" | tee "$B/eval.txt"
