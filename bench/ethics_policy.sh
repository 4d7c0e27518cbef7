#!/usr/bin/env bash
# ethics_policy.sh: the best-of-N track of issue 5 on ETHICS, after
# `warm experiment --task ethics -o E` (bench/reproduce_results.sh runs it).
#
# ETHICS utilitarianism pairs have no prompt, so the prompts are the natural
# branching points of the test pairs: the longest common word prefix of the
# two scenarios of a pair ("My elder brother and I played cribbage and I"),
# kept when it is at least 4 words and shorter than both scenarios. The SFT
# policy (E/sft, fine-tuned on the train scenarios) completes it.
#
# The control reward is an RM the proxies never see: trained on ALL train
# labels clean (the members saw 25% of them flipped), with another seed and
# data order and twice the steps of a member. It has the members' size (the
# paper's control RM is larger; pre-training a larger base here costs over
# 30 minutes, so that part is not reproduced).
#
# Usage: bench/ethics_policy.sh [E]   (default runs/ethics)
# Then RL (RLOO, α = 0.1, lr 3e-5) against the best member, ENS(6) and
# WARM(6), and the win rate of WARM(6)'s policy against the best member's.
# Environment: N (largest N, default 64), PROMPTS (default 128), RL_STEPS
# (default 200).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=ethics_common.sh
. bench/ethics_common.sh
E=${1:-runs/ethics}
N=${N:-64}
PROMPTS=${PROMPTS:-128}
RL_STEPS=${RL_STEPS:-200}
for f in "$E/sft/config.json" "$E/sweep/manifest.json" "$E/data/train.jsonl" "$E/data/test.jsonl"; do
	[ -e "$f" ] || { echo "ethics_policy.sh: $f not found: run warm experiment --task ethics -o $E first" >&2; exit 1; }
done
mkdir -p "$E/policy"
go build -o "$E/policy/warm" ./cmd/warm
W="$E/policy/warm"
P=$E/policy

[ -f "$P/prompts.jsonl" ] || /usr/bin/env python3 bench/ethics_prompts.py "$E/data/test.jsonl" "$P/prompts.jsonl"

ethics_old_control "$W" "$E" "$P"

[ -d "$P/samples" ] || { mkdir -p "$P/samples.tmp" && head -8 "$P/prompts.jsonl" > "$P/samples.tmp/prompts.jsonl" &&
	$W generate --model "$E/sft" --prompts "$P/samples.tmp/prompts.jsonl" --n 2 --max-tokens 40 --seed 1 > "$P/samples.tmp/samples.txt" &&
	mv "$P/samples.tmp" "$P/samples"; }

[ -d "$P/bon" ] || $W bon --policy "$E/sft" --sweep "$E/sweep/manifest.json" --prompts "$P/prompts.jsonl" \
	--max-prompts "$PROMPTS" --max-n "$N" --max-tokens 40 --rewards best,member:1,ens:6,warm:6,ens:2,warm:2 \
	--control "rm:$P/control" -o "$P/bon"

# RL against the best member, ENS(6) and WARM(6), judged by the control RM;
# the first 128 prompts are held out for evaluation.
for r in best ens:6 warm:6; do
	o=$P/rl-$(echo $r | tr -d :)
	[ -f "$o/rl.json" ] || $W rl --policy "$E/sft" --sweep "$E/sweep/manifest.json" --reward "$r" --control "rm:$P/control" \
		--prompts "$P/prompts.jsonl" --eval-prompts 128 --steps "$RL_STEPS" --save-every 20 --lr 3e-5 --kl 0.1 --resume -o "$o"
done
[ -d "$P/rl" ] || $W rl compare -o "$P/rl" "$P/rl-best" "$P/rl-ens6" "$P/rl-warm6"
[ -d "$P/winrate-warm6-best" ] || $W winrate "$P/rl-warm6" "$P/rl-best" --sft "$E/sft" --control "rm:$P/control" \
	--prompts "$P/prompts.jsonl" --max-prompts 128 --n 4 -o "$P/winrate-warm6-best"
echo "ethics_policy.sh: done; see $P/bon/bon.md, $P/rl/rl.md, $P/winrate-warm6-best/winrate.md and $P/samples/samples.txt"
