#!/usr/bin/env bash
# standin_trainer.sh: a stand-in for an external reward-model trainer (TRL's
# RewardTrainer, OpenRLHF) in bench/slurm_e2e.sh's --command sweep. It takes
# TRL-style arguments, trains with `warm train`, and leaves a plain Hugging
# Face checkpoint in --output_dir: the warm.* safetensors metadata (base
# fingerprint, hyper-parameters) is stripped, as a foreign trainer's output
# would carry none, so warm must tie it to the base by the manifest's hash.
set -euo pipefail
args=()
while [ $# -gt 0 ]; do
	case $1 in
	--warm) warm=$2 ;;
	--model_name_or_path) args+=(--init "$2") ;;
	--head) args+=(--head "$2") ;;
	--learning_rate) args+=(--lr "$2") ;;
	--min_learning_rate) args+=(--min-lr "$2") ;;
	--warmup_steps) args+=(--warmup "$2") ;;
	--lr_scheduler_type) args+=(--decay "$2") ;;
	--weight_decay) args+=(--weight-decay "$2") ;;
	--max_grad_norm) args+=(--clip "$2") ;;
	--max_steps) args+=(--steps "$2") ;;
	--per_device_train_batch_size) args+=(--batch "$2") ;;
	--seed) args+=(--seed "$2") ;;
	--data_seed) args+=(--data-seed "$2") ;;
	--dropout) args+=(--dropout "$2") ;;
	--max_length) args+=(--max-len "$2") ;;
	--corrupt) args+=(--corrupt "$2") ;;
	--corrupt_seed) args+=(--corrupt-seed "$2") ;;
	--dataset) data=$2 ;;
	--output_dir) out=$2 ;;
	*) echo "standin_trainer: unknown argument $1" >&2; exit 2 ;;
	esac
	shift 2
done
rm -rf "$out"
"$warm" train -o "$out" "${args[@]}" "$data"
python3 - "$out/model.safetensors" <<'PY'
import json, struct, sys
p = sys.argv[1]
with open(p, "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    header = json.loads(f.read(n))
    data = f.read()
meta = {k: v for k, v in header.get("__metadata__", {}).items() if not k.startswith("warm.")}
header["__metadata__"] = meta
h = json.dumps(header, separators=(",", ":")).encode()
h += b" " * (-len(h) % 8)
with open(p + ".tmp", "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + data)
import os
os.replace(p + ".tmp", p)
PY
