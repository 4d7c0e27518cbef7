#!/usr/bin/env bash
# llama_compare.sh: warm's Llama-family engine against PyTorch running
# Hugging Face transformers' own Qwen2 code, in one invocation, on random
# models of Qwen2-0.5B's shape (hidden 896, 24 layers, 14 heads / 2 KV heads,
# FFN 4864, vocab 151936, 32768 positions, rope_theta 1e6, tied embeddings),
# BF16 weights on disk (about 988 MB a checkpoint). A benchmark, not a test.
#
# What it measures, everything on THREADS threads (default 2):
#   reward forward  Qwen2ForSequenceClassification on 8 x 256 random ids, one
#                   batch. torch: from_pretrained(attn_implementation="eager"),
#                   inference_mode, one warm-up pass then one measured pass
#                   in the same process, in a fresh process per variant:
#                   (a) torch_dtype=bfloat16 (weights and compute in BF16),
#                   (b) torch_dtype=float32 (weights upcast, 2x memory).
#                   warm: `warm score --batch 8` run twice, the second run's
#                   forward_s (warm has no JIT; the first run is shown too).
#                   Peak RSS: warm's VmHWM (--report-peak-rss), torch's
#                   ru_maxrss, both whole-process, loading included.
#   rewards         warm's must match torch f32's within 1e-3 relative
#                   (|w - t| / max(|t|, 1e-2)), else the script fails.
#   generation      Qwen2ForCausalLM, 8 prompts of 32 ASCII letters (one token
#                   a byte through the tokenizer.json made for the model),
#                   batch 8, greedy, MAX_TOKENS (default 32) new tokens each,
#                   KV cache; tokens/s = new tokens / wall time, prefill
#                   included. torch: model.generate(use_cache=True,
#                   do_sample=False, min_new_tokens=max_new_tokens) after a
#                   2-token warm-up, for each of GEN_DTYPES (default
#                   "bf16 f32"). warm: `warm generate --temperature 0`, once.
#
# Where the CPU has AVX512-BF16, `warm score --bf16-dot` (BF16 dot products,
# activations rounded to bfloat16; opt-in) is timed the same way and
# reported beside the default, with forward_ratio_bf16dot=W (and
# generate_ratio_bf16dot=V for generation) before the last two lines, which
# are exactly
#   generate_ratio=Z
#   forward_ratio=X rss_over_weights=Y
# X: warm tokens/s / the faster torch variant's on the reward forward;
# Y: warm's peak RSS / the reward model's model.safetensors bytes;
# Z: warm generation tokens/s / the faster torch variant's.
# The issue's targets are X >= 1.5 and Y <= 1.25.
#
# Run from anywhere:
#   TRANSFORMERS_GIT=/path/to/transformers.git HF_HUB_GIT=/path/to/huggingface_hub.git \
#     bench/llama_compare.sh
# TRANSFORMERS_GIT / HF_HUB_GIT are needed only while .hfref/ is absent (see
# bench/hfref/README.md; without them setup.sh clones from GitHub). It needs
# Go, /usr/bin/python3 with torch (Debian's python3-torch 1.13) and about
# 3 GB of disk. Environment: OUT (work directory, default
# bench/out/llama_compare: the checkpoints are made there once and reused),
# THREADS (2), MAX_TOKENS (32), GEN_DTYPES ("bf16 f32").
# It takes about 5-6 minutes on 2 cores (torch f32's reward forward, about
# 2 minutes, dominates), plus about 30 s the first time to make the models.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
OUT=${OUT:-bench/out/llama_compare}
THREADS=${THREADS:-2}
MAX_TOKENS=${MAX_TOKENS:-32}
GEN_DTYPES=${GEN_DTYPES:-bf16 f32}
export GOMAXPROCS=$THREADS OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS

start=$(date +%s)
say() { echo "llama_compare.sh: $*" >&2; }

if [[ ! -f .hfref/STAMP ]]; then
	say "setting up the transformers harness (.hfref)"
	bench/hfref/setup.sh
fi
# shellcheck source=hfref/env.sh
. bench/hfref/env.sh
py() { "$HFREF_PYTHON" bench/llama_compare.py "$@"; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
say "building warm"
go build -o "$tmp/warm" ./cmd/warm
warm=$tmp/warm

mkdir -p "$OUT"
res=$OUT/results
rm -rf "$res"
mkdir -p "$res"
say "making the checkpoints in $OUT (reused when present)"
py make "$OUT"
py inputs "$OUT/inputs.jsonl"

# The prompts' ids through warm's tokenizer must be the ones torch is given.
py prompts >"$tmp/prompts.txt"
py prompt-ids >"$tmp/prompt_ids.txt"
prompt_args=()
while IFS= read -r p; do
	prompt_args+=(--prompt "$p")
	"$warm" tokenizer encode -t "$OUT/causal/tokenizer.json" "$p"
done <"$tmp/prompts.txt" >"$tmp/warm_ids.txt"
if ! cmp -s "$tmp/warm_ids.txt" "$tmp/prompt_ids.txt"; then
	say "warm's tokenizer encodes the prompts differently from the ids torch is given:"
	diff "$tmp/warm_ids.txt" "$tmp/prompt_ids.txt" >&2 || true
	exit 1
fi

for dt in bf16 f32; do
	say "torch $dt: reward forward"
	py score --model "$OUT/seqcls" --inputs "$OUT/inputs.jsonl" --dtype "$dt" --threads "$THREADS" >"$res/score_torch_$dt.json"
done
for i in 1 2; do
	say "warm: reward forward, run $i of 2"
	"$warm" score --model "$OUT/seqcls" "$OUT/inputs.jsonl" --batch 8 --threads "$THREADS" --report-peak-rss \
		>"$tmp/warm_score_$i.out" 2>"$tmp/warm_score_$i.log" || { cat "$tmp/warm_score_$i.log" >&2; exit 1; }
	cat "$tmp/warm_score_$i.log" >&2
done
py warm-score "$tmp/warm_score_1.log" "$tmp/warm_score_1.out" "$tmp/warm_score_2.log" "$tmp/warm_score_2.out" >"$res/score_warm.json"
# The opt-in BF16 dot products, where the CPU has them (AVX512-BF16).
if grep -qw avx512_bf16 /proc/cpuinfo; then
	for i in 1 2; do
		say "warm --bf16-dot: reward forward, run $i of 2"
		"$warm" score --model "$OUT/seqcls" "$OUT/inputs.jsonl" --batch 8 --threads "$THREADS" --report-peak-rss --bf16-dot \
			>"$tmp/warm_dot_$i.out" 2>"$tmp/warm_dot_$i.log" || { cat "$tmp/warm_dot_$i.log" >&2; exit 1; }
		cat "$tmp/warm_dot_$i.log" >&2
	done
	py warm-score "$tmp/warm_dot_1.log" "$tmp/warm_dot_1.out" "$tmp/warm_dot_2.log" "$tmp/warm_dot_2.out" >"$res/score_warm_bf16dot.json"
fi

say "warm: generation"
timecmd=()
if [[ -x /usr/bin/time ]]; then timecmd=(/usr/bin/time -f "maxrss_kib=%M"); fi
"${timecmd[@]}" "$warm" generate --model "$OUT/causal" "${prompt_args[@]}" --max-tokens "$MAX_TOKENS" \
	--temperature 0 --batch 8 --threads "$THREADS" --json >"$tmp/warm_gen.out" 2>"$tmp/warm_gen.log" ||
	{ cat "$tmp/warm_gen.log" >&2; exit 1; }
cat "$tmp/warm_gen.log" >&2
py warm-generate "$tmp/warm_gen.log" "$tmp/warm_gen.out" >"$res/generate_warm.json"
if grep -qw avx512_bf16 /proc/cpuinfo; then
	say "warm --bf16-dot: generation"
	"${timecmd[@]}" "$warm" generate --model "$OUT/causal" "${prompt_args[@]}" --max-tokens "$MAX_TOKENS" \
		--temperature 0 --batch 8 --threads "$THREADS" --json --bf16-dot >"$tmp/warm_gen_dot.out" 2>"$tmp/warm_gen_dot.log" ||
		{ cat "$tmp/warm_gen_dot.log" >&2; exit 1; }
	cat "$tmp/warm_gen_dot.log" >&2
	py warm-generate "$tmp/warm_gen_dot.log" "$tmp/warm_gen_dot.out" >"$res/generate_warm_bf16dot.json"
fi
for dt in $GEN_DTYPES; do
	say "torch $dt: generation"
	py generate --model "$OUT/causal" --dtype "$dt" --threads "$THREADS" --max-new-tokens "$MAX_TOKENS" >"$res/generate_torch_$dt.json"
done

say "done in $(($(date +%s) - start)) s; results in $res"
echo "machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')), $(date -u +%Y-%m-%d)," \
	"torch $("$HFREF_PYTHON" -c 'import torch; print(torch.__version__)'), $(go version | cut -d' ' -f3)"
py report --dir "$OUT" --results "$res" --threads "$THREADS" --max-tokens "$MAX_TOKENS"
