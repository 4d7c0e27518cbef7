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
#      the ETHICS test sets; agreement with the best member;
#   5. tests them apart on theme (a content word or two over and over,
#      joined by function words: what the WARM(6) policies wrote at α 0.03),
#      a kind neither trained on.
#
# RM_KINDS=stutter,loop,babble,theme trains another reward model on the same
# base and SFT with those kinds (in $C/rm-<kinds joined by ->, its tests in
# files tagged the same): a control that has seen theme, to judge the policies
# again with (bench/ethics_rl.sh JUDGE=...). Its fluency on "all" stays a test
# on kinds it trained on, bar salad; theme is then no longer held out.
#
# Usage: bench/ethics_control.sh [E]   (default runs/ethics)
# Environment: D, LAYERS, HEADS, PRETRAIN_STEPS (default 192, 6, 6, 6000),
# RM_STEPS (1500, as a member: 2.8 epochs of labels and degenerate pairs; 3m40s here), DEGENERATE (pairs of degenerate text, default 6000),
# RM_KINDS (the degenerate kinds the reward model trains on, default stutter,loop,babble).
# Every stage is skipped when its output exists; pre-training resumes.
# Prints the last line `control_fluency=X old_control_fluency=Y control_test=Z
# control_theme=T old_control_theme=U` (accuracy of fluent over degenerate on
# the SFT samples, all kinds but theme; then theme alone).
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
RM_KINDS=${RM_KINDS:-stutter,loop,babble}
# The default kinds keep the names the documented figures use.
tag=""
[ "$RM_KINDS" = stutter,loop,babble ] || tag="-${RM_KINDS//,/-}"
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

RM=$C/rm$tag
if [ ! -f "$C/train$tag.jsonl" ]; then
	$W data degenerate -o "$C/degenerate_train$tag.jsonl" --kinds "$RM_KINDS" --seed 7 --max "$DEGENERATE" "$E/data/train.jsonl"
	cat "$E/data/train.jsonl" "$C/degenerate_train$tag.jsonl" > "$C/train$tag.jsonl.tmp" && mv "$C/train$tag.jsonl.tmp" "$C/train$tag.jsonl"
fi
[ -f "$RM/config.json" ] || $W train -o "$RM" --init "$C/sft" --steps "$RM_STEPS" --batch 32 \
	--lr 3e-4 --min-lr 0 --warmup 100 --dropout 0.1 --max-len 64 --seed 7 --data-seed 7 \
	--eval "$E/data/test.jsonl" --eval "$E/data/ood_test.jsonl" --eval "$E/data/test_hard.jsonl" \
	"$C/train$tag.jsonl" 2>&1 | tee "$RM.log"

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
# Theme: made from the same SFT samples, its own stage so that "all" keeps
# the four kinds the documented figures count.
[ -f "$F/theme.jsonl" ] || { $W data degenerate -o "$F/theme.jsonl.tmp" --kinds theme --seed 99 "$F/sft_samples.jsonl" &&
	mv "$F/theme.jsonl.tmp" "$F/theme.jsonl"; }
# evaluate NAME ARGS...: `warm eval --max-len 64 ARGS` into $C/NAME$tag.json
# (written under a temporary name, then renamed) and $C/NAME$tag.txt, unless
# the JSON exists.
evaluate() {
	local out=$C/$1$tag
	shift
	[ -f "$out.json" ] && return
	$W eval --max-len 64 "$@" --json "$out.json.tmp" | tee "$out.txt"
	mv "$out.json.tmp" "$out.json"
}
evaluate eval_fluency --model "$RM" --model "$P/control" \
	"$F/stutter.jsonl" "$F/loop.jsonl" "$F/babble.jsonl" "$F/salad.jsonl" "$F/all.jsonl"
evaluate eval_theme --model "$RM" --model "$P/control" "$F/theme.jsonl"

best=$(ls -d "$E"/sweep/members/* | head -1)
[ -f "$E/report/results.json" ] && best=$($W sweep top "$E/sweep/manifest.json" -m 1 --results "$E/report/results.json")
evaluate eval_test --model "$RM" --model "$P/control" --model "$best" \
	"$E/data/test.jsonl" "$E/data/ood_test.jsonl" "$E/data/test_hard.jsonl"

/usr/bin/env python3 - "$C/eval_fluency$tag.json" "$C/eval_test$tag.json" "$C/eval_theme$tag.json" "control/$(basename "$RM")" <<'EOF'
import json, sys
fl, te, th = (json.load(open(a)) for a in sys.argv[1:4])
rm = sys.argv[4]
def acc(doc, model_suffix, set_suffix):
    for r in doc["results"]:
        if r["model"].endswith(model_suffix) and r["set"].endswith(set_suffix):
            return r["summary"]["accuracy"]
    sys.exit(f"ethics_control.sh: no result for {model_suffix} on {set_suffix}")
new = acc(fl, rm, "all.jsonl")
old = acc(fl, "policy/control", "all.jsonl")
test = acc(te, rm, "/test.jsonl")
theme, old_theme = acc(th, rm, "theme.jsonl"), acc(th, "policy/control", "theme.jsonl")
print(f"control_fluency={new:.4f} old_control_fluency={old:.4f} control_test={test:.4f} control_theme={theme:.4f} old_control_theme={old_theme:.4f}")
EOF
