#!/usr/bin/env bash
# ethics_rl.sh: RL on ETHICS to the paper's horizon (issue 12, item 1).
# Run after `warm experiment --task ethics -o E` and bench/ethics_control.sh.
#
# For each KL weight α in ALPHAS: RLOO (lr 3e-5, 16 prompts × 4 samples a
# step) of the SFT policy for RL_STEPS steps against each proxy in REWARDS,
# evaluated every SAVE_EVERY steps by the control of bench/ethics_control.sh
# (its own larger base; trained to rank degenerate text low); then the win
# rate of the WARM(6) policy against the best member's at matched steps
# (and each against the SFT policy), under that control and, beside it,
# under the old control that shares the members' base; and samples of each
# policy at a few steps. Runs resume where they stopped (--resume).
#
# Usage: bench/ethics_rl.sh [E]   (default runs/ethics)
# Environment: ALPHAS (default "0.01 0.03 0.1"), REWARDS (default
# "best warm:6 ens:6"), RL_STEPS (3000), SAVE_EVERY (250), WIN_PROMPTS (128),
# WIN_N (4 samples a prompt), PARALLEL (1: the runs of one α at once, one
# thread each; the engine gives the same bits whatever the thread count, and
# on these small models two one-thread runs use two cores better than one
# two-thread run after the other), RL_SEED (1: the seed of RL's sampling and
# prompt order; any other seed writes its runs to rl<steps>-a<α>-s<seed>-*),
# JUDGE (more controls to judge the win rates with as well, space-separated:
# a control reward model's directory, or any control spec such as
# fluency:DIR; each one's in <warm6 run>-vs-best-<its directory's name>, with
# -fluency for a fluency: spec; e.g. the control bench/ethics_control.sh
# trains with RM_KINDS=...,theme, and fluency:E/control/base),
# VS_ENS (1: also the WARM(6) policy against ENS(6)'s, and ENS(6)'s against
# the best member's, in <run>-vs-ens6* and <ens6 run>-vs-best*, when the runs
# are there),
# REP_PENALTY (0: off; else `warm rl --repetition-penalty`, a model-free
# penalty on repeated content words in the objective, and the runs are named
# rl<steps>-a<α>-rp<weight>-*), REP_STEMS (1: the penalty counts repeated
# stems, `--repetition-stems`; runs named rl<steps>-a<α>-rps<weight>-*).
set -euo pipefail
cd "$(dirname "$0")/.."
E=${1:-runs/ethics}
ALPHAS=${ALPHAS:-0.01 0.03 0.1}
REWARDS=${REWARDS:-best warm:6 ens:6}
RL_STEPS=${RL_STEPS:-3000}
SAVE_EVERY=${SAVE_EVERY:-250}
WIN_PROMPTS=${WIN_PROMPTS:-128}
WIN_N=${WIN_N:-4}
PARALLEL=${PARALLEL:-0}
RL_SEED=${RL_SEED:-1}
JUDGE=${JUDGE:-}
VS_ENS=${VS_ENS:-0}
REP_PENALTY=${REP_PENALTY:-0}
REP_STEMS=${REP_STEMS:-0}
# Seed 1 and no penalty keep the run names the documented figures use.
tag="" pen=()
[ "$RL_SEED" = 1 ] || tag="-s$RL_SEED"
if [ "$REP_PENALTY" != 0 ]; then
	pen=(--repetition-penalty "$REP_PENALTY")
	kind=rp
	[ "$REP_STEMS" = 1 ] && kind=rps pen+=(--repetition-stems)
	tag="$tag-$kind$REP_PENALTY"
elif [ "$REP_STEMS" = 1 ]; then
	echo "ethics_rl.sh: REP_STEMS=1 needs REP_PENALTY > 0" >&2
	exit 2
fi
P=$E/policy
C=$E/control
for f in "$E/sft/config.json" "$E/sweep/manifest.json" "$P/prompts.jsonl" "$C/rm/config.json" "$P/control/config.json"; do
	[ -e "$f" ] || { echo "ethics_rl.sh: $f not found: run bench/ethics_control.sh $E first" >&2; exit 1; }
done
go build -o "$P/warm" ./cmd/warm
W="$P/warm"
head -4 "$P/prompts.jsonl" > "$P/sample_prompts.jsonl"

# winrates A B: A's policy against B's at matched steps under the control
# RM, the old control and each JUDGE, each written once to its own
# directory (A-vs-<B's reward>[-judge]); the policies are sampled once for
# all the controls still to judge (--also-control). Nothing when a run is
# missing.
winrates() {
	local pa=$1 pb=$2 todo=() j spec name
	[ -d "$pa" ] && [ -d "$pb" ] || return 0
	local out=$pa-vs-${pb##*-}
	[ -d "$out" ] || todo+=("rm:$C/rm=$out")
	[ -d "$out-oldcontrol" ] || todo+=("rm:$P/control=$out-oldcontrol")
	for j in $JUDGE; do
		case $j in
		fluency:*) spec=$j name=fluency ;;
		*:*) spec=$j name=$(basename "${j#*:}") ;;
		*) spec=rm:$j name=$(basename "$j") ;;
		esac
		[ -d "$out-$name" ] || todo+=("$spec=$out-$name")
	done
	[ ${#todo[@]} -gt 0 ] || return 0
	local first=${todo[0]} also=() t
	for t in "${todo[@]:1}"; do also+=(--also-control "$t"); done
	"$W" winrate "$pa" "$pb" --sft "$E/sft" --control "${first%=*}" -o "${first##*=}" "${also[@]}" \
		--prompts "$P/prompts.jsonl" --max-prompts "$WIN_PROMPTS" --n "$WIN_N"
}

for a in $ALPHAS; do
	runs=() pids=()
	for r in $REWARDS; do
		o=$P/rl${RL_STEPS}-a$a$tag-$(echo "$r" | tr -d :)
		runs+=("$o")
		[ -f "$o/done" ] && continue
		rl=($W rl --policy "$E/sft" --sweep "$E/sweep/manifest.json" --reward "$r" --control "rm:$C/rm"
			--prompts "$P/prompts.jsonl" --eval-prompts 128 --steps "$RL_STEPS" --save-every "$SAVE_EVERY"
			--lr 3e-5 --kl "$a" --seed "$RL_SEED" --data-seed "$RL_SEED" "${pen[@]}" --resume -o "$o")
		if [ "$PARALLEL" = 1 ]; then
			{ "${rl[@]}" --threads 1 >"$o.log" 2>&1 && touch "$o/done"; } &
			pids+=($!)
		else
			"${rl[@]}" && touch "$o/done"
		fi
	done
	for pid in "${pids[@]}"; do
		wait "$pid" || { echo "ethics_rl.sh: an RL run at alpha $a failed (see $P/rl${RL_STEPS}-a$a-*.log)" >&2; exit 1; }
	done
	for o in "${runs[@]}"; do
		if [ ! -f "$o/samples.txt" ]; then
			for ck in "$o"/checkpoints/step-*; do
				echo "== $(basename "$ck")"
				$W generate --model "$ck" --prompts "$P/sample_prompts.jsonl" --n 1 --max-tokens 40 --seed 1 2>/dev/null
			done > "$o/samples.txt.tmp" && mv "$o/samples.txt.tmp" "$o/samples.txt"
		fi
	done
	best=$P/rl${RL_STEPS}-a$a$tag-best
	warm6=$P/rl${RL_STEPS}-a$a$tag-warm6
	ens6=$P/rl${RL_STEPS}-a$a$tag-ens6
	[ -d "$P/rl${RL_STEPS}-a$a$tag" ] || $W rl compare -o "$P/rl${RL_STEPS}-a$a$tag" "${runs[@]}"
	winrates "$warm6" "$best"
	if [ "$VS_ENS" = 1 ]; then
		winrates "$warm6" "$ens6"
		winrates "$ens6" "$best"
	fi
done
echo "ethics_rl.sh: done; see $P/rl${RL_STEPS}-a*/rl.md, $P/rl${RL_STEPS}-a*-warm6-vs-best*/winrate.md and each run's samples.txt"
