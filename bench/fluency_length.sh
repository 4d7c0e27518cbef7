#!/bin/bash
# fluency_length.sh: does a judge prefer short or long responses, other
# things equal? The likelihood judge (fluency:DIR) scores the mean
# log-probability per response token, EOS included, which is not
# length-neutral; this measures by how much, beside the learned controls.
#
# Usage: bench/fluency_length.sh E [CKPT]
#   E: runs/ethics; CKPT: the policy to sample (default E/sft). WARM: the
#   warm binary (default: warm on PATH; e.g. WARM=runs/ethics/policy/warm).
# Samples the first 128 prompts of E/policy/prompts.jsonl, 8 samples each,
# at most 40 tokens, seed 5 (`warm generate`), scores every sample with
# `warm score` by the likelihood judge (fluency:E/control/base) and by each
# control reward model under E/control (rm, rm-*), and prints for each
# judge the Spearman correlation of score and length and, over pairs of
# samples of one prompt with different lengths, how often the longer one
# scores higher (0.5: length-neutral), then the likelihood judge's mean by
# length.
set -euo pipefail
E=${1:?usage: fluency_length.sh E [CKPT]}
CKPT=${2:-$E/sft}
W=${WARM:-warm}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
head -128 "$E/policy/prompts.jsonl" >"$tmp/prompts.jsonl"
"$W" generate --model "$CKPT" --prompts "$tmp/prompts.jsonl" --n 8 --max-tokens 40 --seed 5 --json >"$tmp/samples.jsonl" 2>/dev/null
judges=("fluency:$E/control/base")
for d in "$E"/control/rm "$E"/control/rm-*; do
	[ -f "$d/config.json" ] && judges+=("$d")
done
args=()
for j in "${judges[@]}"; do
	n=$(basename "${j#fluency:}")
	[[ $j == fluency:* ]] && n=fluency
	"$W" score --model "$j" "$tmp/samples.jsonl" --batch 32 -o "$tmp/$n.jsonl" 2>/dev/null
	args+=("$n=$tmp/$n.jsonl")
done
python3 "$(dirname "$0")/fluency_length.py" "$tmp/samples.jsonl" "${args[@]}"
