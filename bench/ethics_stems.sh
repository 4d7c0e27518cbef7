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
# 40 tokens, seed 1 (`warm generate`), and prints for each step `warm data
# repetition` of the samples: the mean share of a response's content words
# that repeat an earlier one exactly (data.Repetition, what RL records and
# penalises) and that share their first five letters with an earlier one
# (data.StemRepetition), ± standard errors. Model-free; SFT's samples are the
# reference.
set -euo pipefail
E=${1:?usage: ethics_stems.sh E RUN [STEP ...]}
RUN=${2:?usage: ethics_stems.sh E RUN [STEP ...]}
shift 2
STEPS=("$@")
[ ${#STEPS[@]} -gt 0 ] || STEPS=(250 1000 3000)
W=${WARM:-warm}
P=$E/policy
prompts=$(mktemp)
samples=$(mktemp)
trap 'rm -f "$prompts" "$samples"' EXIT
head -128 "$P/prompts.jsonl" >"$prompts"
# stems MODEL LABEL samples MODEL and prints LABEL's shares.
stems() {
	$W generate --model "$1" --prompts "$prompts" --n 2 --max-tokens 40 --seed 1 --json 2>/dev/null >"$samples"
	printf '%s\t%s\n' "$2" "$($W data repetition "$samples" | tail -1 | awk '{print "words=" $3 " ±" $4 "\tstems=" $5 " ±" $6}')"
}
if [ "$RUN" = sft ]; then
	stems "$E/sft" sft
	exit
fi
for s in "${STEPS[@]}"; do
	stems "$(printf '%s/%s/checkpoints/step-%06d' "$P" "$RUN" "$s")" "$RUN step $s"
done
