# ethics_common.sh: steps the ETHICS policy scripts share (sourced by
# bench/ethics_policy.sh and bench/ethics_control.sh).

# ethics_old_control W E P: the control of bench/ethics_policy.sh in
# P/control, unless it exists: an RM trained on ALL train labels clean from
# the members' SFT and shared head, other seeds and data order, 3,000 steps.
ethics_old_control() {
	local W=$1 E=$2 P=$3
	[ -f "$P/control/config.json" ] || "$W" train -o "$P/control" --init "$E/sft" --head "$E/sweep/head" --steps 3000 --batch 32 \
		--lr 3e-4 --min-lr 0 --warmup 100 --dropout 0.1 --max-len 64 --seed 7 --data-seed 7 \
		--eval "$E/data/test.jsonl" --eval "$E/data/ood_test.jsonl" --eval "$E/data/test_hard.jsonl" \
		"$E/data/train.jsonl" | tee "$P/control.txt"
}
