#!/bin/bash
# ethics_stems.sh: how much of a policy's text repeats a word, and how much
# repeats only the start of one ("librarian ... libration ... librara"), the
# kind that data.Repetition (whole content words) and so
# `warm rl --repetition-penalty` cannot see.
#
# Usage: bench/ethics_stems.sh E RUN [STEP ...]
#   E: runs/ethics; RUN: a run under E/policy (rl3000-a0.03-rp30-warm6) or
#   "sft"; STEP: checkpoint steps (default 250 1000 3000). WARM: the warm
#   binary (default: warm on PATH; e.g. WARM=runs/ethics/policy/warm, which
#   bench/ethics_rl.sh builds).
# Samples the first 128 prompts of E/policy/prompts.jsonl, 2 samples each,
# 40 tokens, seed 1 (`warm generate`), and prints for each step the share of
# words of five letters or more that repeat an earlier one of the same
# response exactly (word) and that share a five-letter start with an earlier
# one (stem). Model-free; SFT's samples are the reference.
set -euo pipefail
E=${1:?usage: ethics_stems.sh E RUN [STEP ...]}
RUN=${2:?usage: ethics_stems.sh E RUN [STEP ...]}
shift 2
STEPS=("$@")
[ ${#STEPS[@]} -gt 0 ] || STEPS=(250 1000 3000)
W=${WARM:-warm}
P=$E/policy
prompts=$(mktemp)
trap 'rm -f "$prompts"' EXIT
head -128 "$P/prompts.jsonl" >"$prompts"
measure() {
	python3 -c '
import json, re, sys
n = word = stem = 0
for line in sys.stdin:
    words = [w for w in re.findall(r"[a-z]+", json.loads(line)["response"].lower()) if len(w) >= 5]
    seen, starts = set(), set()
    for w in words:
        n += 1
        word += w in seen
        stem += w[:5] in starts
        seen.add(w)
        starts.add(w[:5])
print(f"{sys.argv[1]}\twords={n}\tword={word / max(n, 1):.3f}\tstem={stem / max(n, 1):.3f}")
' "$1"
}
# stems MODEL LABEL samples MODEL and prints LABEL's shares.
stems() {
	$W generate --model "$1" --prompts "$prompts" --n 2 --max-tokens 40 --seed 1 --json 2>/dev/null | measure "$2"
}
if [ "$RUN" = sft ]; then
	stems "$E/sft" sft
	exit
fi
for s in "${STEPS[@]}"; do
	stems "$(printf '%s/%s/checkpoints/step-%06d' "$P" "$RUN" "$s")" "$RUN step $s"
done
