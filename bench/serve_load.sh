#!/usr/bin/env bash
# serve_load.sh: warm serve under load, on loopback, against offline
# `warm score` on the same texts, in one invocation. A benchmark, not a test.
#
# It trains a small synthetic-task sweep (warm experiment --scale 0.03,
# 3 members; about 30 s), merges the members (WARM(3)) and serves the merge
# with a token. bench/serveload sends one text a request to /get_reward (as
# OpenRLHF's trainer posts each rollout) from C concurrent clients
# (C = 1, 4, 16, 64; N requests in all), and reports texts/s, p50/p99
# latency and errors. The same texts scored offline by `warm score --batch
# 64` give the offline texts/s (encoding and forward, the model loaded;
# forward alone is printed too; the median of three runs over the texts
# four times over). Batching's gain is the
# C = 16 throughput over that of a server that runs every request alone
# (--max-batch-tokens 1). Last, a reload under load: member 1's weights are
# copied over the served checkpoint and /admin/reload is posted halfway
# through a C = 16 run; every response must succeed and carry the old or the
# new fingerprint (a request is never split, so never a mix).
#
#   bench/serve_load.sh [WORKDIR]     # THREADS (2), N (8000)
#   WIDE=1 bench/serve_load.sh        # serve a wider model instead: d=512, 8 layers
#                                     # (about 27M parameters, a forward pass that
#                                     # outweighs the request around it), N 2000
#   PIN=1 bench/serve_load.sh         # server and offline score on CPU 0 with
#                                     # one thread, the load generator on CPU 1
#
# By default the load generator shares the cores with the server, which
# costs the server CPU the offline run does not lose; PIN=1 (taskset) gives
# the client its own core so served/offline measures serving alone, on one
# core each.
#
# Last line: served_vs_offline=X p99_ms=Y errors=Z (at 16 clients). The
# issue's target: X >= 0.8 and Z = 0.
set -euo pipefail
cd "$(dirname "$0")/.."
W=${1:-bench/out/serve_load}
THREADS=${THREADS:-2}
N=${N:-8000}
PIN=${PIN:-0}
WIDE=${WIDE:-0}
[ "$WIDE" = 1 ] && N=${N_WIDE:-2000}
srv=() cli=()
if [ "$PIN" = 1 ]; then
	srv=(taskset -c 0) cli=(taskset -c 1) THREADS=1
fi
mkdir -p "$W"
go build -o "$W/warm" ./cmd/warm
go build -o "$W/serveload" ./bench/serveload
warm=$W/warm
if [ ! -d "$W/exp/sweep" ]; then
	echo "serve_load.sh: training the sweep" >&2
	rm -rf "$W/exp"
	"$warm" --threads "$THREADS" experiment --task synthetic --scale 0.03 --members 3 --max-pairs 200 --lmc-pairs 100 -o "$W/exp" >"$W/exp.log" 2>&1
fi
rm -rf "$W/warm3" "$W/served"
if [ "$WIDE" = 1 ]; then
	# A wider GPT-2 reward model on the same tokenizer: pre-trained for a few
	# steps (its accuracy does not matter here, its cost does), a zero head,
	# and a second copy (one more step) for the reload.
	if [ ! -d "$W/wide-rm2" ]; then
		"$warm" --threads "$THREADS" pretrain -o "$W/wide-base" --force --d 512 --layers 8 --heads 8 --ctx 128 --steps 2 --tokenizer "$W/exp/base/tokenizer.json" "$W/exp/data/corpus.txt" >"$W/wide.log" 2>&1
		"$warm" --threads "$THREADS" train -o "$W/wide-rm1" --force --init "$W/wide-base" --probe-steps 0 --steps 1 "$W/exp/data/train.jsonl" >>"$W/wide.log" 2>&1
		"$warm" --threads "$THREADS" train -o "$W/wide-rm2" --force --init "$W/wide-base" --probe-steps 0 --steps 2 "$W/exp/data/train.jsonl" >>"$W/wide.log" 2>&1
	fi
	cp -r "$W/wide-rm1" "$W/served"
	reload_src=$W/wide-rm2
else
	"$warm" merge -q -o "$W/warm3" "$W"/exp/sweep/members/member-[0-9][0-9] >/dev/null
	cp -r "$W/warm3" "$W/served"
	reload_src=$W/exp/sweep/members/member-01
fi
jq -c '{text: (.prompt + .chosen)}' "$W/exp/data/ood_test.jsonl" >"$W/texts.jsonl"
texts=$(wc -l <"$W/texts.jsonl")

echo "machine: $(nproc) CPUs ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)), $(date -u +%F), threads $THREADS, N $N, model $([ "$WIDE" = 1 ] && echo "d=512 x 8 layers" || echo "WARM(3) of d=128 x 2 layers"); $([ "$PIN" = 1 ] && echo "server on CPU 0, client on CPU 1" || echo "client and server share the machine")"
# Offline: the texts four times over (so a pass lasts seconds, not a
# fraction of one), three runs, the median.
for _ in 1 2 3 4; do cat "$W/texts.jsonl"; done >"$W/texts4.jsonl"
# Two offline rates: encoding and forward (what warm score spends per text
# once the model is loaded: the headline) and forward alone (stricter).
offline_runs=() forward_runs=()
for _ in 1 2 3; do
	log=$("${srv[@]}" "$warm" --threads "$THREADS" score --batch 64 --model "$W/served" "$W/texts4.jsonl" -o "$W/offline.jsonl" 2>&1)
	e=$(grep -o 'encode_s=[0-9.]*' <<<"$log" | cut -d= -f2)
	f=$(grep -o 'forward_s=[0-9.]*' <<<"$log" | cut -d= -f2)
	offline_runs+=("$(awk -v n="$((4 * texts))" -v s="$e" -v f="$f" 'BEGIN { printf "%.1f", n / (s + f) }')")
	forward_runs+=("$(awk -v n="$((4 * texts))" -v f="$f" 'BEGIN { printf "%.1f", n / f }')")
done
offline_tps=$(printf '%s\n' "${offline_runs[@]}" | sort -n | sed -n 2p)
forward_tps=$(printf '%s\n' "${forward_runs[@]}" | sort -n | sed -n 2p)
echo "offline: $((4 * texts)) texts, three runs: ${offline_runs[*]} texts/s encoded and scored, median $offline_tps; forward only ${forward_runs[*]}, median $forward_tps (warm score --batch 64)"

token=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
serve() { # extra flags...; sets pid and url
	local p
	p=$(port)
	url=http://127.0.0.1:$p
	WARM_SERVE_TOKEN=$token "${srv[@]}" "$warm" --threads "$THREADS" serve --model "$W/served" --addr "127.0.0.1:$p" "$@" 2>>"$W/serve.log" &
	pid=$!
	for _ in $(seq 200); do curl -sf "$url/healthz" >/dev/null && return; sleep 0.05; done
	echo "serve_load.sh: the server did not start (see $W/serve.log)" >&2
	exit 1
}
load() { "${cli[@]}" "$W/serveload" -url "$url" -token "$token" -texts "$W/texts.jsonl" -n "$N" "$@"; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }

serve
declare -A tps p99 errs
for c in 1 4 16 64; do
	line=$(load -c "$c")
	echo "$line"
	tps[$c]=$(field texts_per_s <<<"$line")
	p99[$c]=$(field p99_ms <<<"$line")
	errs[$c]=$(field errors <<<"$line")
done
kill "$pid"
wait "$pid" || true

serve --max-batch-tokens 1
line=$(load -c 16)
echo "unbatched (--max-batch-tokens 1): $line"
solo=$(field texts_per_s <<<"$line")
kill "$pid"
wait "$pid" || true

serve
cp "$reload_src/model.safetensors" "$W/served/model.safetensors.new"
mv "$W/served/model.safetensors.new" "$W/served/model.safetensors"
line=$(load -c 16 -reload-after $((N / 2))) || true
echo "reload under load: $line"
reload_errs=$(field errors <<<"$line")
fps=$(field fingerprints <<<"$line")
kill "$pid"
wait "$pid" || true

echo "batching gain at 16 clients: $(awk -v a="${tps[16]}" -v b="$solo" 'BEGIN { printf "%.2f", a / b }')x over one request a pass"
echo "reload: errors=$reload_errs fingerprints_seen=$fps (want 0 and 2)"
ratio=$(awk -v a="${tps[16]}" -v b="$offline_tps" 'BEGIN { printf "%.3f", a / b }')
echo "served over offline forward only: $(awk -v a="${tps[16]}" -v b="$forward_tps" 'BEGIN { printf "%.3f", a / b }')"
echo "served_vs_offline=$ratio p99_ms=${p99[16]} errors=$((errs[16] + reload_errs))"
