#!/usr/bin/env bash
# same_results.sh: do two builds of warm compute the same results? Runs a
# small synthetic experiment (M = 3, scale 0.03), best-of-N and 6 RL steps
# with each binary in the same directory, then compares results.json,
# bon.json and rl.json with the fields that hold dates and measured times
# removed (date, wall, seconds, ms_per_1000_pairs, steps_per_sec,
# generate_seconds, samples_per_sec, score_seconds, the stage wall-time
# note). Everything else must be identical. For refactors: build the old
# commit and the new one, and run
#
#   git worktree add /tmp/warm-old OLD && (cd /tmp/warm-old && go build -o /tmp/warm-a ./cmd/warm)
#   go build -o /tmp/warm-b ./cmd/warm
#   bench/same_results.sh /tmp/warm-a /tmp/warm-b [WORKDIR]
#
# About 45 s a binary on 2 cores. Needs jq. Last line: same_results=true|false.
set -euo pipefail
A=${1:?usage: same_results.sh BINARY_A BINARY_B [WORKDIR]}
B=${2:?usage: same_results.sh BINARY_A BINARY_B [WORKDIR]}
W=${3:-$(mktemp -d)}
run() { # binary, final directory; the run itself is always in $W/run so paths match
	local bin=$1 out=$2 o=$W/run
	rm -rf "$o" "$out"
	mkdir -p "$o"
	"$bin" experiment --task synthetic --scale 0.03 --members 3 --max-pairs 200 --lmc-pairs 100 -o "$o/exp" >"$o/exp.log" 2>&1
	"$bin" bon --policy "$o/exp/sft" --sweep "$o/exp/sweep/manifest.json" --prompts "$o/exp/data/prompts.jsonl" \
		--max-prompts 16 --max-n 8 --rewards best,ens:3,warm:3 --ref-samples 4 -o "$o/bon" >"$o/bon.log" 2>&1
	"$bin" rl --policy "$o/exp/sft" --sweep "$o/exp/sweep/manifest.json" --reward warm:3 --prompts "$o/exp/data/prompts.jsonl" \
		--max-prompts 64 --eval-prompts 16 --prompts-per-step 8 --steps 6 --save-every 3 -o "$o/rl" >"$o/rl.log" 2>&1
	mv "$o" "$out"
}
run "$A" "$W/a"
run "$B" "$W/b"
strip='walk(if type == "object" then del(.date, .wall, .seconds, .ms_per_1000_pairs, .steps_per_sec, .generate_seconds, .samples_per_sec, .score_seconds) else . end)
	| walk(if type == "string" and test("wall times") then "(stage wall times)" else . end)'
same=true
for j in exp/report/results.json bon/bon.json rl/rl.json; do
	if cmp -s <(jq "$strip" "$W/a/$j") <(jq "$strip" "$W/b/$j"); then
		echo "same: $j"
	else
		echo "DIFFERENT: $j (diff <(jq '$strip' $W/a/$j) <(jq '$strip' $W/b/$j))"
		same=false
	fi
done
echo "outputs in $W"
echo "same_results=$same"
