#!/usr/bin/env bash
# reproduce_results.sh: every run behind docs/RESULTS.md, in order, on 2 cores.
# Stages whose outputs exist are reused, so it can be interrupted and rerun.
#
# Usage: bench/reproduce_results.sh [RUNS_DIR]   (default runs)
# Environment: SHARED (default ../shared/data), STAGES (default: all of
# "demo synth policy seeds federated ethics ethics-seeds ethics-m10").
set -euo pipefail
cd "$(dirname "$0")/.."
R=${1:-runs}
SHARED=${SHARED:-../shared/data}
STAGES=${STAGES:-demo synth policy seeds federated ethics ethics-seeds ethics-m10}
mkdir -p "$R"
# Build beside and rename: replacing a binary that another stage is running.
go build -o "$R/warm.new" ./cmd/warm && mv "$R/warm.new" "$R/warm"
W="$R/warm"
has() { [[ " $STAGES " == *" $1 "* ]]; }
stamp() { echo "== $(date -u +%FT%TZ) $*"; }

if has demo; then
	stamp demo
	[ -d "$R/demo" ] || /usr/bin/time -f "demo wall %e s, max RSS %M KiB" $W demo -o "$R/demo"
fi

X=$R/synth
if has synth; then
	stamp synthetic experiment
	$W experiment --task synthetic -o "$X"
fi

if has policy; then
	stamp best-of-N and RL
	P=$X/policy
	mkdir -p "$P"
	[ -d "$P/bon" ] || $W bon --policy "$X/sft" --sweep "$X/sweep/manifest.json" --prompts "$X/data/prompts.jsonl" \
		--max-prompts 128 --max-n 256 --rewards best,member:1,ens:6,warm:6,ens:2,warm:2,gold -o "$P/bon"
	for r in best ens:6 warm:6 gold; do
		o=$P/rl-$(echo $r | tr -d :)
		[ -f "$o/rl.json" ] || $W rl --policy "$X/sft" --sweep "$X/sweep/manifest.json" --reward "$r" --prompts "$X/data/prompts.jsonl" \
			--eval-prompts 128 --steps 200 --save-every 20 --lr 3e-5 --kl 0.1 --resume -o "$o"
	done
	[ -d "$P/rl" ] || $W rl compare -o "$P/rl" "$P/rl-best" "$P/rl-ens6" "$P/rl-warm6" "$P/rl-gold"
	[ -d "$P/winrate-warm6-best" ] || $W winrate "$P/rl-warm6" "$P/rl-best" --sft "$X/sft" --prompts "$X/data/prompts.jsonl" \
		--max-prompts 128 --n 4 -o "$P/winrate-warm6-best"
fi

if has seeds; then
	stamp sweep seeds 2 and 3
	for s in 2 3; do
		$W experiment --task synthetic -o "$X" --sweep-seed $s --greedy-soup=false
	done
	$W report --aggregate --force -o "$X/aggregate" "$X/report" "$X/report-s2" "$X/report-s3"
fi

if has federated; then
	stamp federated
	$W experiment --task synthetic -o "$X" --federated 4
	$W experiment --task synthetic -o "$X" --federated 4 --non-iid
fi

if has ethics; then
	stamp ETHICS experiment
	E=$R/ethics
	$W experiment --task ethics --data "$SHARED" -o "$E" --cross-data "hh=$SHARED/hh-rlhf/harmless-base-test.jsonl.gz"
fi
if has ethics-seeds; then
	stamp ETHICS sweep seeds 2 and 3
	E=$R/ethics
	for s in 2 3; do
		$W experiment --task ethics --data "$SHARED" -o "$E" --sweep-seed $s --greedy-soup=false
	done
	$W report --aggregate --force -o "$E/aggregate" "$E/report" "$E/report-s2" "$E/report-s3"
fi
if has ethics-m10; then
	stamp ETHICS with M=10 members
	E=$R/ethics
	M10=$R/ethics-m10
	mkdir -p "$M10"
	for d in base sft sft.steps data; do # the same as the M=6 run's (same seed)
		[ -e "$M10/$d" ] || cp -r "$E/$d" "$M10/"
	done
	$W experiment --task ethics --data "$SHARED" -o "$M10" --members 10
fi
stamp done
