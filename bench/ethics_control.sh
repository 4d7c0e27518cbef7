#!/usr/bin/env bash
# ethics_control.sh: a control reward for ETHICS that the proxies cannot
# share mistakes with, and that sees degenerate text (issue 12, item 2).
# Run after `warm experiment --task ethics -o E`.
#
# The control of bench/ethics_policy.sh (E/policy/control) is fine-tuned
# from the members' own SFT model: it shares their base, so it rewards the
# repeated words the proxies reward (docs/POLICY.md). This control:
#   1. pre-trains its own base: another init, data order and dropout seed,
#      and larger (d=192, 6 layers, 6 heads: 3.47M parameters against the
#      members' 1.33M), on the same corpus and tokenizer;
#   2. fine-tunes it on the train scenarios (SFT, as the members' base was);
#   3. trains the reward model on ALL train labels clean plus pairs of
#      (fluent train scenario, degenerate version of it): stutter, loop and
#      babble (`warm data degenerate`), about one for every two labels;
#   4. tests both controls on fluent SFT samples of the RL evaluation prompts
#      against degenerate versions of those samples, each kind apart, salad
#      (shuffled words) being a kind the new control never trained on, and on
#      the ETHICS test sets; agreement with the best member.
#
# Usage: bench/ethics_control.sh [E]   (default runs/ethics)
# Environment: D, LAYERS, HEADS, PRETRAIN_STEPS (default 192, 6, 6, 6000),
# RM_STEPS (1500, as a member: 2.8 epochs of labels and degenerate pairs; 3m40s here), DEGENERATE (pairs of degenerate text, default 6000).
# Every stage is skipped when its output exists; pre-training resumes.
# Prints the last line `control_fluency=X old_control_fluency=Y control_test=Z`
# (accuracy of fluent over degenerate on the SFT samples, all kinds).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=ethics_common.sh
. bench/ethics_common.sh
E=${1:-runs/ethics}
D=${D:-192}
LAYERS=${LAYERS:-6}
HEADS=${HEADS:-6}
PRETRAIN_STEPS=${PRETRAIN_STEPS:-6000}
RM_STEPS=${RM_STEPS:-1500}
DEGENERATE=${DEGENERATE:-6000}
for f in "$E/base/tokenizer.json" "$E/sft/config.json" "$E/sweep/manifest.json" "$E/data/train.jsonl"; do
	[ -e "$f" ] || { echo "ethics_control.sh: $f not found: run warm experiment --task ethics -o $E first" >&2; exit 1; }
done
C=$E/control
P=$E/policy
mkdir -p "$C" "$P"
go build -o "$C/warm" ./cmd/warm
W="$C/warm"
SHARED=${SHARED:-../shared/data}

[ -f "$C/tokenizer.json" ] || cp "$E/base/tokenizer.json" "$C/tokenizer.json"
[ -f "$C/base/config.json" ] || $W pretrain -o "$C/base" --d "$D" --layers "$LAYERS" --heads "$HEADS" --ctx 64 \
	--steps "$PRETRAIN_STEPS" --batch 32 --lr 1e-3 --min-lr 1e-4 --init-seed 2 --data-seed 2 --seed 2 --resume \
	--tokenizer "$C/tokenizer.json" "$SHARED/corpus/brown.txt" "$SHARED/corpus/ethics-text.txt" 2>&1 | tee "$C/base.log"
[ -f "$C/sft/config.json" ] || $W sft -o "$C/sft" --init "$C/base" --steps 300 --batch 32 --lr 3e-4 --min-lr 3e-5 \
	--warmup 20 --seed 2 --data-seed 2 "$E/data/train.jsonl" 2>&1 | tee "$C/sft.log"

if [ ! -f "$C/train.jsonl" ]; then
	$W data degenerate -o "$C/degenerate_train.jsonl" --kinds stutter,loop,babble --seed 7 --max "$DEGENERATE" "$E/data/train.jsonl"
	cat "$E/data/train.jsonl" "$C/degenerate_train.jsonl" > "$C/train.jsonl.tmp" && mv "$C/train.jsonl.tmp" "$C/train.jsonl"
fi
[ -f "$C/rm/config.json" ] || $W train -o "$C/rm" --init "$C/sft" --steps "$RM_STEPS" --batch 32 \
	--lr 3e-4 --min-lr 0 --warmup 100 --dropout 0.1 --max-len 64 --seed 7 --data-seed 7 \
	--eval "$E/data/test.jsonl" --eval "$E/data/ood_test.jsonl" --eval "$E/data/test_hard.jsonl" \
	"$C/train.jsonl" 2>&1 | tee "$C/rm.log"

# The old control, as bench/ethics_policy.sh trains it (from the members' SFT).
ethics_old_control "$W" "$E" "$P"

# The fluency test: the SFT policy's samples on the RL evaluation prompts
# (the first 128 prompts, never trained on by RL) against degenerate
# versions of the same samples.
[ -f "$P/prompts.jsonl" ] || /usr/bin/env python3 bench/ethics_prompts.py "$E/data/test.jsonl" "$P/prompts.jsonl"
F=$C/fluency
if [ ! -d "$F" ]; then
	mkdir -p "$F.tmp"
	head -128 "$P/prompts.jsonl" > "$F.tmp/prompts.jsonl"
	$W generate --model "$E/sft" --prompts "$F.tmp/prompts.jsonl" --n 2 --max-tokens 40 --seed 3 --json > "$F.tmp/sft_samples.json"
	/usr/bin/env python3 - "$F.tmp/sft_samples.json" "$F.tmp/sft_samples.jsonl" <<'EOF'
import json, sys
with open(sys.argv[1]) as f, open(sys.argv[2], "w") as g:
    for line in f:
        r = json.loads(line)
        g.write(json.dumps({"prompt": r["prompt"], "completion": r["response"]}) + "\n")
EOF
	for k in stutter loop babble salad; do
		$W data degenerate -o "$F.tmp/$k.jsonl" --kinds "$k" --seed 99 "$F.tmp/sft_samples.jsonl"
	done
	cat "$F.tmp"/{stutter,loop,babble,salad}.jsonl > "$F.tmp/all.jsonl"
	mv "$F.tmp" "$F"
fi
[ -f "$C/eval_fluency.json" ] || $W eval --max-len 64 --model "$C/rm" --model "$P/control" --json "$C/eval_fluency.json.tmp" \
	"$F/stutter.jsonl" "$F/loop.jsonl" "$F/babble.jsonl" "$F/salad.jsonl" "$F/all.jsonl" | tee "$C/eval_fluency.txt"
[ -f "$C/eval_fluency.json.tmp" ] && mv "$C/eval_fluency.json.tmp" "$C/eval_fluency.json"

best=$(ls -d "$E"/sweep/members/* | head -1)
[ -f "$E/report/results.json" ] && best=$($W sweep top "$E/sweep/manifest.json" -m 1 --results "$E/report/results.json")
[ -f "$C/eval_test.json" ] || $W eval --max-len 64 --model "$C/rm" --model "$P/control" --model "$best" --json "$C/eval_test.json.tmp" \
	"$E/data/test.jsonl" "$E/data/ood_test.jsonl" "$E/data/test_hard.jsonl" | tee "$C/eval_test.txt"
[ -f "$C/eval_test.json.tmp" ] && mv "$C/eval_test.json.tmp" "$C/eval_test.json"

/usr/bin/env python3 - "$C/eval_fluency.json" "$C/eval_test.json" "$C/rm" <<'EOF'
import json, sys
fl, te, rm = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
def acc(doc, model_suffix, set_suffix):
    for r in doc["results"]:
        if r["model"].endswith(model_suffix) and r["set"].endswith(set_suffix):
            return r["summary"]["accuracy"]
new = acc(fl, "control/rm", "all.jsonl")
old = acc(fl, "policy/control", "all.jsonl")
test = acc(te, "control/rm", "/test.jsonl")
print(f"control_fluency={new:.4f} old_control_fluency={old:.4f} control_test={test:.4f}")
EOF
