#!/usr/bin/env bash
# regime_rl.sh: RL to the paper's horizon (3,000 steps) in one regime of
# bench/regime_map.sh (default `none`, the demo's: no length shortcut, 30%
# flipped labels), against the best member and against WA(4), sweep seed 1,
# judged by the gold reward: the WARM(4) policy's win rate against the
# best-member policy at matched steps every 250 (and each against SFT).
# Resumable (warm rl --resume). About 15-20 minutes a run on 2 cores.
#
#   bench/regime_rl.sh [WORKDIR] [REGIME]   # after bench/regime_map.sh
set -euo pipefail
cd "$(dirname "$0")/.."
W=${1:-bench/out/regimes}
R=${2:-none}
STEPS=${STEPS:-3000}
KL=${KL:-0.05}
d=$W/$R
warm=$W/warm
[ -f "$d/report/results.json" ] || { echo "regime_rl: run bench/regime_map.sh first ($d/report/results.json missing)" >&2; exit 1; }
for rw in best warm:4; do
	out=$d/rl-${rw/:/}-kl$KL
	resume=()
	[ -d "$out" ] && resume=(--resume)
	[ -f "$out/rl.json" ] && [ "$(python3 -c "import json,sys; print(json.load(open(sys.argv[1])).get('done'))" "$out/rl.json" 2>/dev/null)" = True ] && continue
	echo "regime_rl: $R, reward $rw, $STEPS steps, kl $KL" >&2
	"$warm" rl --policy "$d/sft" --sweep "$d/sweep/manifest.json" --results "$d/report/results.json" --reward "$rw" \
		--prompts "$d/data/prompts.jsonl" --steps "$STEPS" --save-every 250 --kl "$KL" -o "$out" "${resume[@]}" >"$out.log" 2>&1
done
"$warm" winrate "$d/rl-warm4-kl$KL" "$d/rl-best-kl$KL" --sft "$d/sft" --prompts "$d/data/prompts.jsonl" --max-prompts 128 \
	--name-a "WARM(4)" --name-b best -o "$d/winrate-kl$KL" --force
